"""Talking to the Kubernetes API server: configuration and a small async client."""

from aiops_operator.kube.client import (
    ATTEMPTS,
    EVENTS,
    INCIDENTS,
    NAMESPACES,
    POLICIES,
    Conflict,
    Gone,
    Invalid,
    KubeApiError,
    KubeClient,
    KubeUnavailable,
    NotFound,
    ResourceType,
    WatchEvent,
)
from aiops_operator.kube.config import KubeConfig, KubeConfigError, load_config

__all__ = [
    "ATTEMPTS",
    "EVENTS",
    "INCIDENTS",
    "NAMESPACES",
    "POLICIES",
    "Conflict",
    "Gone",
    "Invalid",
    "KubeApiError",
    "KubeClient",
    "KubeConfig",
    "KubeConfigError",
    "KubeUnavailable",
    "NotFound",
    "ResourceType",
    "WatchEvent",
    "load_config",
]
