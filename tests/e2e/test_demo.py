"""`make demo`'s flow, unattended: every showcase scenario reaches its outcome on a real API server."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from aiops_operator.api import GROUP, VERSION, Incident
from kubernetes import client

from devtools.demo.scenarios import scenarios
from tests.support.kube_objects import as_object


def test_demo_runs_every_scenario_to_its_outcome(
    kubeconfig: Path, custom_api: client.CustomObjectsApi, tmp_path: Path
) -> None:
    namespace = f"e2e-demo-{os.getpid()}"
    env = {**os.environ, "KUBECONFIG": str(kubeconfig)}
    try:
        result = subprocess.run(
            [sys.executable, "-m", "aiops_operator.cli", "demo", "--check", "--fast", "--timeout", "240",
             "--namespace", namespace, "--state-dir", str(tmp_path), "--dashboard-port", "0"],
            capture_output=True, text=True, env=env, timeout=420, check=False,
        )
        output = result.stdout + result.stderr
        assert result.returncode == 0, output[-6000:]
        assert "every scenario ended as expected" in output
        assert "kubectl annotate remediationattempt" in output  # the approval command is shown to the user
        incidents = {
            i["metadata"]["name"]: Incident.from_object(i)
            for i in as_object(custom_api.list_namespaced_custom_object(GROUP, VERSION, namespace,
                                                                        "incidents"))["items"]
        }
        for scenario in scenarios():
            inc = incidents[scenario.incident]
            assert inc.status.analysis is not None
            assert inc.status.analysis.error_type == scenario.expected.error_type, scenario.key
            expected_phase = "Resolved" if scenario.expected.awaiting_approval else scenario.expected.phase
            assert inc.status.phase == expected_phase, scenario.key
            assert inc.status.notifications is not None
            assert inc.status.notifications.slack is not None, scenario.key
            assert inc.status.notifications.jira is not None, scenario.key
        throttled = incidents[next(s.incident for s in scenarios() if s.key == "adf-throttling")]
        assert throttled.status.remediation is not None
        assert throttled.status.remediation.attempts_made == 3
    finally:
        client.CoreV1Api(custom_api.api_client).delete_namespace(namespace)
