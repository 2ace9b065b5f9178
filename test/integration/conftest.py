"""Fixtures for integration tests: virtual clusters of real noded processes.

The test/ directory goes on sys.path so that `support.*` imports work (the
stdlib owns the name `test`). Clusters are module-scoped: starting 20 nodes
costs a few seconds, so a module shares them and restores any node it stops.
"""

import os
import sys

import pytest

_TEST_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _TEST_DIR not in sys.path:
    sys.path.insert(0, _TEST_DIR)

from support import vnodes  # noqa: E402


@pytest.fixture(scope="module")
def cluster3(tmp_path_factory):
    """Three virtual nodes; node1 is the master."""
    with vnodes.VirtualCluster(str(tmp_path_factory.mktemp("vc3")), 3) as cluster:
        yield cluster


@pytest.fixture(scope="module")
def cluster20(tmp_path_factory):
    """Twenty virtual nodes, started in parallel."""
    with vnodes.VirtualCluster(str(tmp_path_factory.mktemp("vc20")), 20) as cluster:
        yield cluster
