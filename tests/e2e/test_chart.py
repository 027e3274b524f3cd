"""The Helm chart: lints, renders for default and full values, installs into the real API server,
and grants each component exactly the permissions it needs (checked with `kubectl auth can-i`)."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from devtools.localcluster.build import ensure_binaries
from tests.e2e.conftest import Kubectl

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "charts" / "aiops-rca"
FULL_VALUES = REPO / "tests" / "data" / "chart" / "values-full.yaml"


def helm_binary() -> str:
    return os.environ.get("HELM") or str(ensure_binaries(print).helm)


def helm(*args: str, kubeconfig: Path | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HELM_CACHE_HOME": "/tmp/aiops-rca-helm/cache",
           "HELM_CONFIG_HOME": "/tmp/aiops-rca-helm/config", "HELM_DATA_HOME": "/tmp/aiops-rca-helm/data"}
    if kubeconfig is not None:
        env["KUBECONFIG"] = str(kubeconfig)
    result = subprocess.run([helm_binary(), *args], capture_output=True, text=True, env=env, timeout=120,
                            check=False)
    if check and result.returncode != 0:
        raise AssertionError(f"helm {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


def render(*args: str) -> list[dict[str, Any]]:
    out = helm("template", "rel", str(CHART), "--namespace", "aiops-system", *args).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


def by_kind(docs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [d for d in docs if d["kind"] == kind]


def containers(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [c for d in by_kind(docs, "Deployment") for c in d["spec"]["template"]["spec"]["containers"]]


def test_helm_lint_passes() -> None:
    out = helm("lint", str(CHART)).stdout
    assert "0 chart(s) failed" in out
    # helm 3.9 lints as Kubernetes 1.20, where only policy/v1beta1 exists; newer clusters get
    # policy/v1 through the capability check (next test). Nothing else may warn.
    warnings = [line for line in out.splitlines() if "[WARNING]" in line or "[ERROR]" in line]
    assert all("PodDisruptionBudget" in line for line in warnings), warnings


def test_pdb_api_follows_the_cluster() -> None:
    old = by_kind(render(), "PodDisruptionBudget")[0]
    new = by_kind(render("--api-versions", "policy/v1/PodDisruptionBudget"), "PodDisruptionBudget")[0]
    assert (old["apiVersion"], new["apiVersion"]) == ("policy/v1beta1", "policy/v1")


def test_default_values_render_secure_workloads() -> None:
    docs = render()
    deployments = {d["metadata"]["name"]: d for d in by_kind(docs, "Deployment")}
    assert set(deployments) == {"rel-aiops-rca-operator", "rel-aiops-rca-receiver", "rel-aiops-rca-dashboard"}
    operator = deployments["rel-aiops-rca-operator"]["spec"]
    assert operator["replicas"] == 2
    assert operator["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}
    for deployment in deployments.values():
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert pod["serviceAccountName"] == deployment["metadata"]["name"]
    for container in containers(docs):
        sc = container["securityContext"]
        assert sc["readOnlyRootFilesystem"] is True
        assert sc["allowPrivilegeEscalation"] is False
        assert sc["capabilities"] == {"drop": ["ALL"]}
        assert container["livenessProbe"]
        assert container["readinessProbe"]
        assert container["resources"]["limits"]
        assert container["resources"]["requests"]
        assert container["args"][0] in {"operator", "receiver", "dashboard"}
    assert by_kind(docs, "PodDisruptionBudget")
    assert not by_kind(docs, "Ingress")
    assert not by_kind(docs, "Secret"), "the chart references Secrets, it never templates them"


def operator_env(*args: str) -> dict[str, Any]:
    container = next(c for c in containers(render(*args)) if c["name"] == "operator")
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env", [])}


def test_operator_replicas_elect_a_leader_on_their_own_lease() -> None:
    docs = render()
    env = operator_env()
    assert env["POD_NAME"] == {"fieldRef": {"fieldPath": "metadata.name"}}
    assert env["POD_NAMESPACE"] == {"fieldRef": {"fieldPath": "metadata.namespace"}}
    assert env["LEADER_ELECTION"] == "true"
    assert env["LEADER_ELECTION_LEASE_NAME"] == "rel-aiops-rca-operator"
    assert (env["LEADER_ELECTION_LEASE_DURATION_SECONDS"], env["LEADER_ELECTION_RENEW_DEADLINE_SECONDS"],
            env["LEADER_ELECTION_RETRY_PERIOD_SECONDS"]) == ("15", "10", "2")
    pdbs = {p["metadata"]["name"]: p["spec"] for p in by_kind(docs, "PodDisruptionBudget")}
    assert pdbs["rel-aiops-rca-operator"]["minAvailable"] == 1
    pod = next(d for d in by_kind(docs, "Deployment") if d["metadata"]["name"] == "rel-aiops-rca-operator")
    preferred = pod["spec"]["template"]["spec"]["affinity"]["podAntiAffinity"][
        "preferredDuringSchedulingIgnoredDuringExecution"]
    assert preferred[0]["podAffinityTerm"]["topologyKey"] == "kubernetes.io/hostname"
    assert preferred[0]["podAffinityTerm"]["labelSelector"]["matchLabels"]["app.kubernetes.io/component"] == "operator"
    leases = next(r for r in by_kind(docs, "Role") if r["metadata"]["name"] == "rel-aiops-rca-operator-leases")
    assert leases["metadata"]["namespace"] == "aiops-system"
    assert leases["rules"] == [{"apiGroups": ["coordination.k8s.io"], "resources": ["leases"],
                                "verbs": ["get", "list", "watch", "create", "update", "patch"]}]


def test_one_operator_replica_without_election_is_recreated_and_has_no_pdb() -> None:
    docs = render("--set", "operator.replicas=1", "--set", "operator.leaderElection.enabled=false")
    pod = next(d for d in by_kind(docs, "Deployment") if d["metadata"]["name"] == "rel-aiops-rca-operator")
    assert pod["spec"]["strategy"] == {"type": "Recreate"}
    assert "rel-aiops-rca-operator" not in {p["metadata"]["name"] for p in by_kind(docs, "PodDisruptionBudget")}
    assert "rel-aiops-rca-operator-leases" not in {r["metadata"]["name"] for r in by_kind(docs, "Role")}
    assert operator_env("--set", "operator.leaderElection.enabled=false", "--set",
                        "operator.replicas=1")["LEADER_ELECTION"] == "false"


def operator_rules(*args: str) -> list[dict[str, Any]]:
    docs = render(*args)
    role = next(r for r in by_kind(docs, "ClusterRole") + by_kind(docs, "Role")
                if r["metadata"]["name"] == "rel-aiops-rca-operator")
    return list(role["rules"])


def test_the_running_cap_and_retention_reach_the_operator() -> None:
    env = operator_env()
    assert (env["REMEDIATION_MAX_RUNNING"], env["INCIDENT_RETENTION_SECONDS"], env["RETENTION_SWEEP_SECONDS"]) == (
        "20", "1209600", "300")
    assert {"apiGroups": ["aiops-rca.io"], "resources": ["incidents"], "verbs": ["delete"]} in operator_rules()
    assert {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "create", "update"]} in operator_rules()
    full = operator_env("-f", str(FULL_VALUES))
    assert (full["REMEDIATION_MAX_RUNNING"], full["INCIDENT_RETENTION_SECONDS"]) == ("50", "0")
    # Retention off: the operator cannot delete Incidents at all.
    kept = operator_rules("-f", str(FULL_VALUES))
    assert not [r for r in kept if "delete" in r["verbs"]], kept


def test_full_values_render_every_optional_object() -> None:
    docs = render("-f", str(FULL_VALUES))
    kinds = {d["kind"] for d in docs}
    assert {"Ingress", "ServiceMonitor", "NetworkPolicy", "PersistentVolumeClaim"} <= kinds
    assert not by_kind(docs, "Secret")
    # Namespaced RBAC in each watched namespace, no cluster-wide access to our kinds.
    roles = {(r["metadata"]["namespace"], r["metadata"]["name"]) for r in by_kind(docs, "Role")}
    assert ("data-prod", "rel-aiops-rca-operator") in roles
    assert ("data-dev", "rel-aiops-rca-dashboard") in roles
    assert ("aiops", "rel-aiops-rca-receiver") in roles
    cluster_rules = [rule for r in by_kind(docs, "ClusterRole") for rule in r["rules"]]
    assert all(rule["apiGroups"] == ["apiextensions.k8s.io"]
               or (rule["resources"], rule["verbs"]) == (["namespaces"], ["list", "watch"])  # Kopf's observer
               for rule in cluster_rules)
    operator = next(c for c in containers(docs) if c["name"] == "operator")
    assert "--namespace=data-prod" in operator["args"]
    assert {"secretRef": {"name": "aiops-operator-credentials"}} in operator["envFrom"]
    sa = next(s for s in by_kind(docs, "ServiceAccount") if s["metadata"]["name"] == "rel-aiops-rca-operator")
    assert "azure.workload.identity/client-id" in sa["metadata"]["annotations"]
    # A shard: its own Lease name and timing; a given affinity replaces the default anti-affinity.
    env = operator_env("-f", str(FULL_VALUES))
    assert env["LEADER_ELECTION_LEASE_NAME"] == "aiops-shard-prod"
    assert env["LEADER_ELECTION_RENEW_DEADLINE_SECONDS"] == "20"
    assert env["EXTRA"] == "1"
    deployment = next(d for d in by_kind(docs, "Deployment") if d["metadata"]["name"] == "rel-aiops-rca-operator")
    assert deployment["spec"]["replicas"] == 3
    assert set(deployment["spec"]["template"]["spec"]["affinity"]) == {"nodeAffinity"}
    pdb = next(p for p in by_kind(docs, "PodDisruptionBudget") if p["metadata"]["name"] == "rel-aiops-rca-operator")
    assert pdb["spec"]["minAvailable"] == 2


def test_no_wildcards_and_no_secrets_access() -> None:
    for args in ([], ["-f", str(FULL_VALUES)]):
        docs = render(*args)
        for role in by_kind(docs, "Role") + by_kind(docs, "ClusterRole"):
            name = role["metadata"]["name"]
            for rule in role["rules"]:
                assert "*" not in rule["verbs"], name
                assert "*" not in rule["resources"], name
                assert "secrets" not in rule["resources"], name


@pytest.mark.parametrize("component", ["receiver", "dashboard"])
def test_chart_sets_only_settings_the_component_knows(component: str) -> None:
    """Every AIOPS_RCA_* variable the chart sets is one the component documents in its --help."""
    docs = render("-f", str(FULL_VALUES))
    container = next(c for c in containers(docs) if c["name"] == component)
    names = [e["name"] for e in container.get("env", []) if e["name"].startswith("AIOPS_RCA_")]
    assert names
    help_text = subprocess.run(
        [sys.executable, "-m", "aiops_operator.cli", component, "--help"],
        capture_output=True, text=True, check=True, env={**os.environ, "COLUMNS": "200"},
    ).stdout
    assert [n for n in names if n not in help_text] == []


def receiver_env(*args: str) -> dict[str, str]:
    container = next(c for c in containers(render(*args)) if c["name"] == "receiver")
    return {e["name"]: e.get("value", "") for e in container.get("env", [])}


def test_slack_approvers_render_as_one_comma_separated_setting() -> None:
    full = receiver_env("-f", str(FULL_VALUES))
    assert full["AIOPS_RCA_RECEIVER_SLACK_APPROVERS"] == "U012AB3CD,W045EF6GH"
    assert full["AIOPS_RCA_RECEIVER_SLACK_SIGNING_SECRET_FILE"] == "/etc/aiops-rca/receiver/slack-signing-secret"
    # No list, no variable: the receiver's default (anyone in the channel), which NOTES.txt warns about.
    assert "AIOPS_RCA_RECEIVER_SLACK_APPROVERS" not in receiver_env()


def test_custom_payload_fields_render_as_one_json_setting() -> None:
    full = receiver_env("-f", str(FULL_VALUES))
    assert json.loads(full["AIOPS_RCA_RECEIVER_CUSTOM_PAYLOAD_FIELDS"]) == {
        "pipeline": "/pipeline/name", "runId": "pipeline.runId", "factoryResourceId": "/factory"}
    assert "AIOPS_RCA_RECEIVER_CUSTOM_PAYLOAD_FIELDS" not in receiver_env()


@pytest.mark.parametrize(
    ("values", "message"),
    [
        pytest.param(["--set", "receiver.customPayloadFields.pipelineName=/x"], "customPayloadFields",
                     id="unknown-custom-payload-field"),
        pytest.param(["--set", "receiver.replica=3"], "Additional property replica", id="typo"),
        pytest.param(["--set", "receiver.auth.slackApprovers[0]=ana.silva"], "receiver.auth.slackApprovers",
                     id="approver-name-not-id"),
        pytest.param(["--set", "dashboard.auth.mode=open"], "dashboard.auth.mode", id="bad-enum"),
        pytest.param(["--set", "receiver.replicas=0"], "receiver.replicas", id="zero-replicas"),
        pytest.param(["--set", "watchNamespaces[0]=Not_A_Namespace"], "watchNamespaces", id="bad-namespace"),
        pytest.param(["--set", "operator.leaderElection.enabled=false"], "needs operator.leaderElection.enabled",
                     id="replicas-without-election"),
        pytest.param(["--set", "operator.podAntiAffinity=hard"], "operator.podAntiAffinity", id="bad-anti-affinity"),
        pytest.param(["--set", "operator.remediation.maxRunning=0"], "operator.remediation.maxRunning",
                     id="zero-running-cap"),
        pytest.param(["--set", "operator.retention.incidentSeconds=60"], "operator.retention.incidentSeconds",
                     id="retention-under-an-hour"),
    ],
)
def test_bad_values_fail_with_a_clear_message(values: list[str], message: str) -> None:
    result = helm("template", "rel", str(CHART), *values, check=False)
    assert result.returncode != 0
    assert message in result.stderr


@pytest.fixture
def installed(kubeconfig: Path, namespace: str) -> Iterator[tuple[str, str]]:
    """The chart installed in `namespace`, watching only that namespace; uninstalled afterwards."""
    release = f"t{secrets.token_hex(3)}"
    helm("install", release, str(CHART), "--namespace", namespace, "--set", f"watchNamespaces[0]={namespace}",
         "--wait=false", kubeconfig=kubeconfig)
    yield release, namespace
    helm("uninstall", release, "--namespace", namespace, kubeconfig=kubeconfig, check=False)


def test_install_creates_every_object(installed: tuple[str, str], kubectl: Kubectl) -> None:
    release, namespace = installed
    out = kubectl("get", "deploy,svc,sa,cm,pdb,role,rolebinding", "-n", namespace, "-o", "name").stdout.split()
    for component in ("operator", "receiver", "dashboard"):
        assert f"deployment.apps/{release}-aiops-rca-{component}" in out
        assert f"serviceaccount/{release}-aiops-rca-{component}" in out
    assert f"configmap/{release}-aiops-rca-config" in out
    assert f"poddisruptionbudget.policy/{release}-aiops-rca-receiver" in out
    assert f"poddisruptionbudget.policy/{release}-aiops-rca-operator" in out
    assert f"role.rbac.authorization.k8s.io/{release}-aiops-rca-operator-leases" in out


@pytest.mark.parametrize(
    ("component", "verb", "resource", "allowed"),
    [
        pytest.param("dashboard", "list", "incidents.aiops-rca.io", True, id="dashboard-list"),
        pytest.param("dashboard", "watch", "remediationattempts.aiops-rca.io", True, id="dashboard-watch"),
        pytest.param("dashboard", "patch", "incidents.aiops-rca.io", False, id="dashboard-no-patch"),
        pytest.param("dashboard", "delete", "incidents.aiops-rca.io", False, id="dashboard-no-delete"),
        pytest.param("dashboard", "patch", "incidents.aiops-rca.io/status", False, id="dashboard-no-status"),
        pytest.param("receiver", "create", "incidents.aiops-rca.io", True, id="receiver-create"),
        pytest.param("receiver", "patch", "incidents.aiops-rca.io/status", True, id="receiver-signals"),
        pytest.param("receiver", "patch", "remediationattempts.aiops-rca.io/status", True, id="receiver-callback"),
        pytest.param("receiver", "delete", "incidents.aiops-rca.io", False, id="receiver-no-delete"),
        pytest.param("receiver", "update", "incidents.aiops-rca.io", False, id="receiver-no-update-spec"),
        pytest.param("receiver", "create", "remediationattempts.aiops-rca.io", False, id="receiver-no-attempts"),
        pytest.param("receiver", "get", "secrets", False, id="receiver-no-secrets"),
        pytest.param("operator", "create", "remediationattempts.aiops-rca.io", True, id="operator-attempts"),
        pytest.param("operator", "patch", "incidents.aiops-rca.io/status", True, id="operator-status"),
        pytest.param("operator", "create", "events", True, id="operator-events"),
        pytest.param("operator", "list", "customresourcedefinitions.apiextensions.k8s.io", True, id="operator-crds"),
        pytest.param("operator", "watch", "namespaces", True, id="operator-kopf-namespaces"),
        pytest.param("operator", "delete", "namespaces", False, id="operator-no-namespace-delete"),
        pytest.param("operator", "get", "secrets", False, id="operator-no-secrets"),
        pytest.param("operator", "delete", "incidents.aiops-rca.io", True, id="operator-retention-deletes"),
        pytest.param("operator", "delete", "remediationattempts.aiops-rca.io", False, id="operator-no-attempt-delete"),
        pytest.param("operator", "update", "configmaps", True, id="operator-recurrence-record"),
        pytest.param("operator", "delete", "configmaps", False, id="operator-no-configmap-delete"),
        pytest.param("operator", "update", "remediationpolicies.aiops-rca.io", False, id="operator-no-policy-edit"),
        pytest.param("operator", "update", "leases.coordination.k8s.io", True, id="operator-lease"),
        pytest.param("operator", "create", "leases.coordination.k8s.io", True, id="operator-lease-create"),
        pytest.param("operator", "delete", "leases.coordination.k8s.io", False, id="operator-no-lease-delete"),
        pytest.param("receiver", "update", "leases.coordination.k8s.io", False, id="receiver-no-lease"),
    ],
)
def test_least_privilege(
    installed: tuple[str, str], kubectl: Kubectl, component: str, verb: str, resource: str, allowed: bool
) -> None:
    release, namespace = installed
    resource_name, _, subresource = resource.partition("/")
    args = ["auth", "can-i", verb, resource_name, "-n", namespace,
            f"--as=system:serviceaccount:{namespace}:{release}-aiops-rca-{component}"]
    if subresource:
        args.append(f"--subresource={subresource}")
    answer = kubectl(*args, check=False).stdout.strip()
    assert answer == ("yes" if allowed else "no")


def test_namespaced_install_grants_nothing_elsewhere(installed: tuple[str, str], kubectl: Kubectl) -> None:
    release, namespace = installed
    for component in ("operator", "dashboard", "receiver"):
        answer = kubectl("auth", "can-i", "list", "incidents.aiops-rca.io", "-n", "default",
                         f"--as=system:serviceaccount:{namespace}:{release}-aiops-rca-{component}",
                         check=False).stdout.strip()
        assert answer == "no", component
