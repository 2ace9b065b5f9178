"""A tiny real guest for kvm tests: a thin layer over ganeti.tools.guest_kit.

The guest (the host's Debian kernel + a busybox initramfs, see that module)
is built once into a cache directory shared by test sessions
($GANETI_TEST_CACHE, default /tmp/ganeti-test-cache). GetGuestKit skips the
calling test with a clear reason when the kernel, its modules or busybox are
missing; SerialConsole fails a test with AssertionError (carrying the
console output) instead of errors.HypervisorError.
"""

from __future__ import annotations

import os

import pytest

from ganeti import errors
from ganeti.tools import guest_kit
from ganeti.tools.guest_kit import (  # noqa: F401  (re-exported for tests)
    ACPI_MARKER,
    BUSYBOX_CANDIDATES,
    MARKER,
    BuildInitrd,
    FindBusybox,
    FindKernel,
    GuestHvparams,
)

CACHE_DIR = os.environ.get("GANETI_TEST_CACHE", "/tmp/ganeti-test-cache")


def GetGuestKit() -> tuple[str, str]:
    """(kernel path, initrd path) of the test guest; skips if impossible."""
    try:
        return guest_kit.BuildGuestKit(CACHE_DIR)
    except errors.HypervisorError as err:
        pytest.skip(str(err))


class SerialConsole(guest_kit.SerialConsole):
    """guest_kit.SerialConsole whose failures are test failures."""

    FAILURE = AssertionError
