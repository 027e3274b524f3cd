"""Code the tests share: builders, fakes, stubs and test-only entry points (never shipped)."""
