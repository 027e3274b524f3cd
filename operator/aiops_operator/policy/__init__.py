"""RemediationPolicies: validating them (`validation`), choosing the one and the rule that govern an incident
(`matching`), the per-namespace cache the reconciles read (`cache`), and their own controller that writes their
status (`controller`)."""
