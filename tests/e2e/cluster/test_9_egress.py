"""Last: no process of the node (kubelet, containerd, scheduler, shims, every pod) held a non-loopback peer."""

from __future__ import annotations

from tests.e2e.cluster.conftest import LocalNode


def test_no_process_of_the_node_had_a_non_loopback_peer(local_node: LocalNode) -> None:
    local_node.egress.sample()
    assert local_node.egress.samples >= 2, "the sampler did not run during the suite"
    assert local_node.egress.offenders == set()
