"""helm upgrade with a changed value rolls every component and stays Ready; helm uninstall leaves nothing of
the release behind except the CRDs (Helm's crds/ convention: they hold the users' data)."""

from __future__ import annotations

import json
import time

from devtools.demo import incluster
from devtools.localcluster import controlplane
from tests.e2e.cluster.conftest import pods

COMPONENTS = ("operator", "receiver", "dashboard")
NAMESPACED = "deployments,replicasets,pods,services,serviceaccounts,configmaps,secrets,roles,rolebindings," \
             "poddisruptionbudgets,persistentvolumeclaims"


def test_helm_upgrade_with_a_changed_value_rolls_every_component(release: incluster.Installation) -> None:
    before = {c: pods(release, c)[0]["metadata"]["name"] for c in COMPONENTS}
    values = incluster.values(release, controlplane.Layout.default(), fast=True)
    values["config"] = {"AUTO_REMEDIATION_ENABLED": "true", "LOG_LEVEL": "DEBUG"}
    incluster.upgrade(release, values)
    for component in COMPONENTS:
        (pod,) = pods(release, component)
        assert pod["metadata"]["name"] != before[component], f"{component} kept its pod"
        assert {c["type"]: c["status"] for c in pod["status"]["conditions"]}["Ready"] == "True"
    config = json.loads(incluster.kubectl(release.kubeconfig, "-n", release.namespace, "get", "configmap", "-o",
                                          "json", "-l", f"app.kubernetes.io/instance={release.release}").stdout)
    assert [c["data"]["LOG_LEVEL"] for c in config["items"]] == ["DEBUG"]


def test_helm_uninstall_leaves_no_orphans_and_keeps_the_crds(release: incluster.Installation) -> None:
    incluster.helm(release.kubeconfig, "uninstall", release.release, "-n", release.namespace, "--wait")
    selector = f"app.kubernetes.io/instance={release.release}"
    # helm --wait waits for the objects it deletes; their dependents (ReplicaSets, Pods) go through the
    # garbage collector's cascade afterwards, which takes seconds on a busy machine.
    deadline = time.monotonic() + 90
    while left := incluster.kubectl(release.kubeconfig, "-n", release.namespace, "get", NAMESPACED, "-l",
                                    selector, "-o", "name").stdout.split():
        if time.monotonic() > deadline:
            break
        time.sleep(2)
    assert left == [], "the garbage collector left these 90 s after helm uninstall"
    helm_records = incluster.kubectl(release.kubeconfig, "-n", release.namespace, "get", "secrets", "-l",
                                     f"owner=helm,name={release.release}", "-o", "name").stdout.split()
    assert helm_records == []
    cluster_wide = incluster.kubectl(release.kubeconfig, "get", "clusterroles,clusterrolebindings", "-l", selector,
                                     "-o", "name").stdout.split()
    assert cluster_wide == []
    crds = incluster.kubectl(release.kubeconfig, "get", "crd", "-o", "name").stdout.split()
    assert {f"customresourcedefinition.apiextensions.k8s.io/{n}.aiops-rca.io"
            for n in ("incidents", "remediationattempts", "remediationpolicies")} <= set(crds)
    incidents = incluster.kubectl(release.kubeconfig, "-n", release.namespace, "get", "incidents", "-o",
                                  "name").stdout.split()
    assert incidents, "the users' Incidents went with the release"
