"""Development tooling beside the product: the local cluster, the demo and dashboard sample data.

Never installed in the wheel or the image (pyproject's package list leaves it out); the product
never imports it. `aiops-rca controlplane|demo` load it from a source checkout.
"""
