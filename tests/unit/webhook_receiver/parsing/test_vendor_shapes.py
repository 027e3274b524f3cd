"""Every documented alert shape (tests/data/webhooks/vendor) yields the Incidents its expected file names.

Each `<shape>.json` was written from the vendor page its sibling
`<shape>.expected.json` cites (`doc`); the expected file says which endpoint it
is posted to, optional receiver settings, and what a user expects: the Incidents
(source, pipeline/job/cluster name, run id, error code, a message substring,
factory / resource group / subscription or workspace), the resolved signals, that
it was acknowledged and ignored, or the 4xx and what its message names.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aiops_operator.api import IncidentSpec

from tests.unit.webhook_receiver.goldens import NOW, WEBHOOKS
from webhook_receiver.parsing import ParseOptions, Unrecognized, azure_alerts, databricks
from webhook_receiver.settings import parse_custom_payload_fields

VENDOR = WEBHOOKS / "vendor"
SHAPES = sorted(VENDOR.rglob("*.expected.json"))
PARSERS = {"/azure-monitor": azure_alerts.parse, "/azure-monitor-alert": azure_alerts.parse,
           "/databricks-monitor": databricks.parse}
FIELDS = {
    "source": lambda s: s.source.value, "name": lambda s: s.resource.name, "runId": lambda s: s.run_id,
    "runIdOrigin": lambda s: s.run_id_origin.value, "errorCode": lambda s: s.error.code,
    "activity": lambda s: s.error.activity, "failureType": lambda s: s.error.failure_type,
    "factory": lambda s: s.resource.factory, "resourceGroup": lambda s: s.resource.resource_group,
    "subscriptionId": lambda s: s.resource.subscription_id, "workspaceId": lambda s: s.resource.workspace_id,
}


def load(expected_path: Path) -> tuple[Any, dict[str, Any]]:
    payload = json.loads(expected_path.with_name(expected_path.name.replace(".expected", "")).read_text())
    return payload, json.loads(expected_path.read_text())


def options_for(expected: dict[str, Any]) -> ParseOptions:
    fields = expected.get("settings", {}).get("custom_payload_fields")
    return ParseOptions(custom_payload_fields=parse_custom_payload_fields(json.dumps(fields)) if fields else {})


def check(spec: IncidentSpec, want: dict[str, Any]) -> None:
    for key, wanted in want.items():
        if key == "message":
            assert wanted.lower() in spec.error.message.lower(), spec.error.message
        else:
            assert FIELDS[key](spec) == wanted, key


def test_every_shape_cites_its_documentation() -> None:
    assert len(SHAPES) >= 30
    for path in SHAPES:
        _, expected = load(path)
        assert expected["doc"].startswith("https://"), path.name
        assert expected["endpoint"] in PARSERS, path.name


@pytest.mark.parametrize("path", SHAPES, ids=[f"{p.parent.name}/{p.name.split('.')[0]}" for p in SHAPES])
def test_shape_yields_what_a_user_expects(path: Path) -> None:
    payload, expected = load(path)
    parse = PARSERS[expected["endpoint"]]
    if expected.get("status") == 422:
        with pytest.raises(Unrecognized) as refused:
            parse(payload, NOW, options_for(expected))
        assert expected["error"] in str(refused.value)
        return
    parsed = parse(payload, NOW, options_for(expected))
    assert len(parsed.incidents) == len(expected["incidents"])
    for spec, want in zip(parsed.incidents, expected["incidents"], strict=True):
        check(spec, want)
    assert len(parsed.resolved) == len(expected.get("resolved", []))
    for spec, want in zip(parsed.resolved, expected.get("resolved", []), strict=True):
        check(spec, want)
    assert bool(parsed.ignored) == expected.get("ignored", False), parsed.ignored
