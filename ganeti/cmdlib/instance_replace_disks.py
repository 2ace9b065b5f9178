"""LUInstanceReplaceDisks: replacing the disks of a mirrored instance.

Replacing disks re-creates the DRBD mirror of an instance on its primary,
its secondary or a new secondary node. Only DRBD instances have something to
replace, and this project has no DRBD node side yet (the host kernel has no
DRBD module), so no instance here can be one: the LU checks the instance and
refuses as Ganeti does for any other disk template, before taking any
action.
"""

from __future__ import annotations

from typing import Any

from ganeti import constants, errors, locking
from ganeti.cmdlib.base import LogicalUnit


class LUInstanceReplaceDisks(LogicalUnit):
    """Replace the disks of a DRBD instance (refused for other templates)."""

    HPATH = "mirrors-replace"
    HTYPE = constants.HTYPE_INSTANCE
    REQ_BGL = False

    def ExpandNames(self) -> None:
        self._ExpandAndLockInstance()
        self.needed_locks[locking.LEVEL_NODE] = []

    def CheckPrereq(self) -> None:
        """Raises OpPrereqError unless the instance is DRBD-based."""
        instance = self.cfg.GetInstanceInfoByName(self.op.instance_name)
        if instance is None:
            raise errors.OpPrereqError(
                f"Instance '{self.op.instance_name}' not known", errors.ECODE_NOENT)
        template = self.cfg.GetInstanceDiskTemplate(instance.uuid)
        if template != constants.DT_DRBD8:
            raise errors.OpPrereqError(
                "Can only run replace disks for DRBD8-based instances",
                errors.ECODE_INVAL)
        raise errors.OpPrereqError(
            "DRBD disks cannot be replaced on this cluster: its nodes have no"
            " DRBD support", errors.ECODE_ENVIRON)

    def BuildHooksEnv(self) -> dict[str, Any]:
        return {"MODE": self.op.mode, "NEW_SECONDARY": self.op.remote_node,
                "OLD_SECONDARY": None}

    def BuildHooksNodes(self) -> tuple[list[str], list[str]]:
        master = self.cfg.GetMasterNode()
        return [master], [master]

    def Exec(self, feedback_fn: Any) -> None:
        # CheckPrereq refuses every instance this cluster can hold.
        raise errors.ProgrammerError("LUInstanceReplaceDisks reached Exec")
