"""`aiops-rca controlplane`: build, start, stop and inspect the local control plane."""

from __future__ import annotations

import argparse
import sys

from devtools.localcluster import controlplane
from devtools.localcluster.build import BuildError, ensure_binaries


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "A local etcd + kube-apiserver + kube-controller-manager (Kubernetes v1.20.2, built once"
        " from Debian's source and cached in $AIOPS_RCA_CACHE, default ~/.cache/aiops-rca),"
        " listening on loopback only. State lives in $AIOPS_RCA_STATE (default"
        " <cache>/controlplane); the API server port is $AIOPS_RCA_APISERVER_PORT (16443)."
    )
    parser.add_argument(
        "action",
        choices=["build", "start", "stop", "status", "reset", "kubeconfig", "env"],
        help=(
            "build: provision the binaries only; start: start (idempotent) and print the"
            " kubeconfig path; stop: stop the processes, keep data; status: show what runs"
            " (exit 1 if not ready); reset: stop and delete all state; kubeconfig: print the"
            " kubeconfig path; env: print shell exports for KUBECONFIG and PATH (kubectl 1.20)"
        ),
    )


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    layout = controlplane.Layout.default()
    try:
        if args.action == "build":
            binaries = ensure_binaries(_log)
            print(binaries.bin_dir)
        elif args.action == "start":
            print(controlplane.start(layout, _log))
        elif args.action == "stop":
            controlplane.stop(layout, _log)
        elif args.action == "reset":
            controlplane.reset(layout, _log)
        elif args.action == "kubeconfig":
            print(layout.kubeconfig)
        elif args.action == "env":
            binaries = ensure_binaries(_log)
            print(f"export KUBECONFIG={layout.kubeconfig}")
            print(f"export PATH={binaries.bin_dir}:$PATH")
        else:
            pids = controlplane.status(layout)
            for component, pid in pids.items():
                print(f"{component:<26} {'running (pid ' + str(pid) + ')' if pid else 'stopped'}")
            ready = controlplane.apiserver_ready(layout)
            print(f"{'api server':<26} {'ready at ' + layout.server if ready else 'not ready'}")
            print(f"{'kubeconfig':<26} {layout.kubeconfig}")
            return 0 if ready else 1
    except (BuildError, controlplane.ControlPlaneError) as exc:
        _log(f"error: {exc}")
        return 1
    return 0
