"""Dashboard settings: command-line flags, each with an environment variable and a default."""

from __future__ import annotations

import argparse
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

ENV_PREFIX = "AIOPS_RCA_DASHBOARD_"
DEFAULT_PROXY_HEADERS = ("X-Forwarded-User", "X-Auth-Request-User")


class AuthMode(StrEnum):
    NONE = "none"
    BASIC = "basic"
    TOKEN = "token"  # noqa: S105  (a mode name, not a secret)
    PROXY = "proxy"


class SettingsError(ValueError):
    """The settings do not make a safe or working dashboard; the message says what to change."""


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8080
    namespaces: tuple[str, ...] = ()
    """Empty: every namespace the dashboard may list."""
    kubeconfig: str | None = None
    auth: AuthMode = AuthMode.NONE
    basic_users: tuple[tuple[str, str], ...] = ()
    token: str | None = None
    proxy_headers: tuple[str, ...] = DEFAULT_PROXY_HEADERS
    allow_remote_without_auth: bool = False
    watch_timeout_seconds: int = 300
    stream_max_seconds: int = 0
    """End each browser stream after this long (0: never); browsers reconnect and catch up."""
    replay_mebibytes: int = 32
    log_level: str = "info"


# (flag, attribute, env suffix, default, help)
_FLAGS: list[tuple[str, str, str, str, str]] = [
    ("--host", "host", "HOST", "127.0.0.1", "address to listen on"),
    ("--port", "port", "PORT", "8080", "port to listen on"),
    (
        "--namespaces",
        "namespaces",
        "NAMESPACES",
        "",
        "comma-separated namespaces to watch; empty watches all namespaces (needs cluster-wide list/watch)",
    ),
    ("--kubeconfig", "kubeconfig", "KUBECONFIG", "", "kubeconfig path; empty: $KUBECONFIG, in-cluster, ~/.kube/config"),
    ("--auth", "auth", "AUTH", "none", "none | basic | token | proxy (see README: Dashboard)"),
    (
        "--basic-auth-file",
        "basic_auth_file",
        "BASIC_AUTH_FILE",
        "",
        "file of user:password lines (mount a Secret); or set AIOPS_RCA_DASHBOARD_BASIC_AUTH=user:password",
    ),
    (
        "--token-file",
        "token_file",
        "TOKEN_FILE",
        "",
        "file holding the bearer token (mount a Secret); or set AIOPS_RCA_DASHBOARD_TOKEN",
    ),
    (
        "--proxy-user-headers",
        "proxy_user_headers",
        "PROXY_USER_HEADERS",
        ",".join(DEFAULT_PROXY_HEADERS),
        "with --auth proxy: request headers naming the user, set by the auth proxy (oauth2-proxy)",
    ),
    (
        "--watch-timeout",
        "watch_timeout",
        "WATCH_TIMEOUT",
        "300",
        "seconds one watch request lasts before it is resumed from its resourceVersion",
    ),
    (
        "--stream-max-seconds",
        "stream_max_seconds",
        "STREAM_MAX_SECONDS",
        "0",
        "end each browser stream after this many seconds (0: never); the browser reconnects and catches up",
    ),
    (
        "--replay-mib",
        "replay_mib",
        "REPLAY_MIB",
        "32",
        "MiB of recent changes kept so reconnecting browsers catch up without a full snapshot",
    ),
    ("--log-level", "log_level", "LOG_LEVEL", "info", "debug | info | warning | error"),
]


def add_arguments(parser: argparse.ArgumentParser, environ: Mapping[str, str]) -> None:
    for flag, dest, env, default, help_text in _FLAGS:
        env_name = "KUBECONFIG" if env == "KUBECONFIG" else ENV_PREFIX + env
        parser.add_argument(
            flag,
            dest=dest,
            default=environ.get(env_name, default),
            help=f"{help_text} (env {env_name}; default: {default or 'empty'})",
        )
    parser.add_argument(
        "--allow-remote-without-auth",
        action="store_true",
        default=environ.get(ENV_PREFIX + "ALLOW_REMOTE_WITHOUT_AUTH", "") in ("1", "true", "yes"),
        help=(
            "serve a non-loopback address with --auth none (only behind something that authenticates);"
            f" env {ENV_PREFIX}ALLOW_REMOTE_WITHOUT_AUTH=1"
        ),
    )


def _split(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def _read_secret(path: str) -> str:
    try:
        return Path(path).read_text().strip()
    except OSError as exc:
        raise SettingsError(f"cannot read {path}: {exc}") from exc


def _users(text: str) -> tuple[tuple[str, str], ...]:
    users = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            user, sep, password = line.partition(":")
            if not sep or not user or not password:
                raise SettingsError("basic auth entries must be user:password")
            users.append((user, password))
    return tuple(users)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def from_args(args: argparse.Namespace, environ: Mapping[str, str]) -> Settings:
    """Settings from parsed flags; secrets from files or the environment; refuses unsafe combinations."""
    try:
        auth = AuthMode(str(args.auth).lower())
    except ValueError as exc:
        raise SettingsError(f"--auth must be one of {', '.join(m.value for m in AuthMode)}") from exc
    users: tuple[tuple[str, str], ...] = ()
    token: str | None = None
    if auth is AuthMode.BASIC:
        if args.basic_auth_file:
            users = _users(_read_secret(args.basic_auth_file))
        else:
            users = _users(environ.get(ENV_PREFIX + "BASIC_AUTH", ""))
        if not users:
            raise SettingsError("--auth basic needs --basic-auth-file or AIOPS_RCA_DASHBOARD_BASIC_AUTH")
    if auth is AuthMode.TOKEN:
        token = _read_secret(args.token_file) if args.token_file else environ.get(ENV_PREFIX + "TOKEN") or None
        if not token:
            raise SettingsError("--auth token needs --token-file or AIOPS_RCA_DASHBOARD_TOKEN")
    headers = _split(args.proxy_user_headers)
    if auth is AuthMode.PROXY and not headers:
        raise SettingsError("--auth proxy needs at least one --proxy-user-headers name")
    if auth is AuthMode.NONE and not is_loopback(args.host) and not args.allow_remote_without_auth:
        raise SettingsError(
            f"refusing to serve {args.host} without authentication: choose --auth basic|token|proxy,"
            " or pass --allow-remote-without-auth when something in front authenticates"
        )
    try:
        return Settings(
            host=args.host,
            port=int(args.port),
            namespaces=_split(args.namespaces),
            kubeconfig=args.kubeconfig or None,
            auth=auth,
            basic_users=users,
            token=token,
            proxy_headers=headers,
            allow_remote_without_auth=bool(args.allow_remote_without_auth),
            watch_timeout_seconds=int(args.watch_timeout),
            stream_max_seconds=int(args.stream_max_seconds),
            replay_mebibytes=int(args.replay_mib),
            log_level=str(args.log_level).lower(),
        )
    except ValueError as exc:
        raise SettingsError(f"a numeric setting is not a number: {exc}") from exc
