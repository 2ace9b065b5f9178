"""LUInstanceReplaceDisks: refused, as in Ganeti, for instances without DRBD."""

import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2]))

from support.cmdlib import CmdlibKit  # noqa: E402

from ganeti import errors, opcodes  # noqa: E402


@pytest.fixture
def kit(tmp_path):
    kit = CmdlibKit(tmp_path, instances=["inst1"])
    yield kit
    kit.Close()


def testNonDrbdInstanceIsRefusedBeforeAnyChange(kit):
    name = "inst1"
    serial = kit.cfg.GetConfigSerialNo()
    with pytest.raises(errors.OpPrereqError,
                       match="Can only run replace disks for DRBD8-based"):
        kit.Run(opcodes.OpInstanceReplaceDisks(instance_name=name,
                                               mode="replace_auto"))
    assert kit.cfg.GetConfigSerialNo() == serial


def testUnknownInstance(kit):
    with pytest.raises(errors.OpPrereqError, match="nosuch"):
        kit.Run(opcodes.OpInstanceReplaceDisks(instance_name="nosuch",
                                               mode="replace_auto"))
