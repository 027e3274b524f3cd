"""Executors: remediation actions carried out through the real SDKs (the only SDK imports of remediation).

Entry point: `factory.build_executors(operator_settings, remediation_settings)` →
`Executors.launch(incident, attempt) -> ExternalRun` and
`Executors.poll(incident, attempt) -> Progress`; errors in `base`.
"""
