"""The local end-to-end demo: every component, six realistic failures, one command."""
