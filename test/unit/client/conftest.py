"""Fixtures of the gnt-* command tests; helpers are in clitestlib.py."""

from __future__ import annotations

import os
import sys
import time

import pytest

from ganeti import pathutils

# The tests import their helpers as "clitestlib" (this directory is no
# package); conftest is loaded before pytest puts the directory on sys.path.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clitestlib import LuxiReplay  # noqa: E402


@pytest.fixture(autouse=True)
def commands_log(tmp_path, monkeypatch):
    """Keep the commands' log file in the test's directory."""
    path = tmp_path / "commands.log"
    monkeypatch.setattr(pathutils, "LOG_COMMANDS", str(path))
    return path


@pytest.fixture
def utc():
    """Run with local time = UTC (the samples were captured in UTC)."""
    old = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    yield
    if old is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = old
    time.tzset()


@pytest.fixture
def luxi_replay(tmp_path, monkeypatch):
    """Factory: start a replay server on the socket the CLI connects to."""
    servers = []

    def _Start(replies: list[bytes]) -> LuxiReplay:
        path = str(tmp_path / f"luxi-{len(servers)}.sock")
        monkeypatch.setattr(pathutils, "QUERY_SOCKET", path)
        monkeypatch.setattr(pathutils, "MASTER_SOCKET", path)
        server = LuxiReplay(path, replies)
        servers.append(server)
        return server

    yield _Start
    for server in servers:
        server.Close()
