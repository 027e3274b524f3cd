"""Policy-driven remediation: the pure decisions, the stage that applies them, the executors.

Pure (no I/O, no Kopf, no SDKs; the import contract keeps them so):

- `decision.decide(incident, policy, rule, attempts, settings, now, observed_approval=None) -> RemediationPlan`
  and the plan kinds (`decision.PlanKind`) with how to apply each;
- `attempts.attempt_body(incident, plan.attempt_spec)`: the RemediationAttempt to create;
- `attempt_status.launched / after_progress / pending`: the attempt's status after an executor call;
- `approval.observe_approval(raw_attempt_body, now)`: a human's kubectl decision;
- `eligibility.ineligible(...)`: whether remediation may act at all (the hand-off and every attempt);
- `incident_status.apply_plan / human_resolution`: how remediation shows on the Incident;
- `settings.RemediationSettings`: environment variables.

I/O:

- `stage.Remediator.step(incident, now)`: the remediation stage the reconcile calls;
- `executors/`: the actions on ADF, Databricks and playbooks, through the real SDKs.

Policies (validation, matching, guardrails, cache, controller) live in `aiops_operator.policy`;
the action catalog (what each action applies to and needs) in `aiops_operator.api.actions`.
"""
