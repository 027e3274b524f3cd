"""The Incident lifecycle: conditions, the derived phase, pure decisions and the reconcile that applies them."""
