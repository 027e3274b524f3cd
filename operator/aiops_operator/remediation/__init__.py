"""Policy-driven remediation, the pure part: no I/O, no Kopf, no SDKs.

Entry points for the reconcile loop:

- `decision.decide(incident, policy, rule, attempts, settings, now, observed_approval=None) -> RemediationPlan`
  and the plan kinds (`decision.PlanKind`) with how to apply each;
- `attempts.attempt_body(incident, plan.attempt_spec)`: the RemediationAttempt to create;
- `attempt_status.launched / after_progress / pending`: the attempt's status after an executor call;
- `approval.observe_approval(raw_attempt_body, now)`: a human's kubectl decision;
- `eligibility.ineligible(...)`: whether remediation may act at all (the hand-off and every attempt);
- `incident_status.apply_plan / human_resolution`: how remediation shows on the Incident;
- `settings.RemediationSettings`: environment variables.

The executors that act on ADF, Databricks and playbooks live in `aiops_operator.executors`;
policies (validation, matching, cache, controller) in `aiops_operator.policy`.
"""
