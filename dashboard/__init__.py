"""Read-only live dashboard: watches Incidents, RemediationAttempts and RemediationPolicies, pushes changes
to browsers over Server-Sent Events. It never writes to the cluster."""
