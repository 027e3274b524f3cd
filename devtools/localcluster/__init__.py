"""A real local Kubernetes control plane built from Debian's packages (for tests and the demo)."""
