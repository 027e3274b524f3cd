"""`aiops-rca controlplane`: build, start, stop and inspect the local control plane."""

from __future__ import annotations

import argparse
import sys

from devtools.localcluster import controlplane, node
from devtools.localcluster.build import BuildError, ensure_binaries


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "A local etcd + kube-apiserver + kube-controller-manager (Kubernetes v1.20.2, built once"
        " from Debian's source and cached in $AIOPS_RCA_CACHE, default ~/.cache/aiops-rca),"
        " listening on loopback only. State lives in $AIOPS_RCA_STATE (default"
        " <cache>/controlplane); the API server port is $AIOPS_RCA_APISERVER_PORT (16443), etcd's"
        " $AIOPS_RCA_ETCD_PORT (23790, peers on +10). The optional node (node-start) adds containerd, a"
        " kubelet named 127.0.0.1, kube-scheduler and a helper controller manager; its loopback ports are"
        " $AIOPS_RCA_KUBELET_PORT (10250), $AIOPS_RCA_KUBELET_HEALTHZ_PORT (10248) and"
        " $AIOPS_RCA_CONTAINERD_STREAM_PORT (10010)."
    )
    parser.add_argument(
        "action",
        choices=["build", "start", "stop", "status", "reset", "kubeconfig", "env", "node-start", "node-stop",
                 "image"],
        help=(
            "build: provision the binaries only; start: start (idempotent) and print the"
            " kubeconfig path; stop: stop the processes, keep data; status: show what runs"
            " (exit 1 if not ready); reset: stop and delete all state; kubeconfig: print the"
            " kubeconfig path; env: print shell exports for KUBECONFIG and PATH (kubectl 1.20);"
            " node-start: start the control plane and a node (needs root); node-stop: stop the node and"
            " remove everything it made on the host; image: build the image from the Dockerfile with podman"
            " and import it into the node"
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
            node.stop(node.NodeLayout.default(layout), _log)
            controlplane.stop(layout, _log)
        elif args.action == "reset":
            node.stop(node.NodeLayout.default(layout), _log)
            controlplane.reset(layout, _log)
        elif args.action == "node-start":
            node.start(node.NodeLayout.default(layout), _log)
        elif args.action == "node-stop":
            node.stop(node.NodeLayout.default(layout), _log)
        elif args.action == "image":
            from devtools.demo.incluster import prepare_node

            prepare_node(_log)
        elif args.action == "kubeconfig":
            print(layout.kubeconfig)
        elif args.action == "env":
            binaries = ensure_binaries(_log)
            print(f"export KUBECONFIG={layout.kubeconfig}")
            print(f"export PATH={binaries.bin_dir}:$PATH")
        else:
            pids = controlplane.status(layout)
            for component, pid in pids.items():
                print(f"{component:<30} {'running (pid ' + str(pid) + ')' if pid else 'stopped'}")
            ready = controlplane.apiserver_ready(layout)
            print(f"{'api server':<30} {'ready at ' + layout.server if ready else 'not ready'}")
            node_layout = node.NodeLayout.default(layout)
            node_pids = node.status(node_layout)
            for component, pid in node_pids.items():
                print(f"{'node: ' + component:<30} {'running (pid ' + str(pid) + ')' if pid else 'stopped'}")
            if any(node_pids.values()):
                node_ready = ready and node.node_ready(node_layout)
                print(f"{'node ' + node.NODE_NAME:<30} {'Ready' if node_ready else 'not ready'}")
            print(f"{'kubeconfig':<30} {layout.kubeconfig}")
            return 0 if ready else 1
    except (BuildError, controlplane.ControlPlaneError, node.NodeError) as exc:
        _log(f"error: {exc}")
        return 1
    return 0
