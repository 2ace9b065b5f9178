"""RPC procedures for testing the cluster itself (gnt-debug delay)."""

from __future__ import annotations

import time
from typing import Any

from ganeti.backend import args


@args.RpcProcedure("test_delay")
def TestDelay(duration: Any) -> None:
    """Sleep for duration seconds, then return (Ganeti's utils.TestDelay).

    Raises:
      RPCFail: duration is not a finite number or is negative.
    """
    seconds = args.CheckNumber(duration, "sleep duration", minimum=0)
    time.sleep(seconds)
