"""Conformance battery every hypervisor driver must pass (STYLE.md T4).

    from support.hv_contract import CheckHypervisorContract
    CheckHypervisorContract(hv, make_instance)

`make_instance(name)` returns an objects.Instance for this driver as the node
receives it: hypervisor set, hvparams and beparams FILLED (all of the
driver's PARAMETERS; maxmem, minmem, vcpus), NICs with filled nicparams.
The battery starts, queries, reboots, balloons, migrates (when a target
driver is given) and stops instances, asserting the conventions written in
ganeti/hypervisor/hv_base.py. Whatever it started is force-stopped at the
end, also when an assertion fails.

Drivers whose instances change state asynchronously are polled for up to
`wait_timeout` seconds.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from ganeti import constants, defaults, errors, objects
from ganeti.hypervisor import hv_base

MakeInstanceFn = Callable[[str], Any]

_NODE_INFO_KEYS = ("memory_total", "memory_free", "cpu_total", "cpu_nodes",
                   "cpu_sockets")


def _WaitFor(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    delay = 0.01
    while not predicate():
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(delay)
        delay = min(delay * 2, 0.5)


def _Running(hv: hv_base.BaseHypervisor, instance: Any) -> bool:
    return instance.name in hv.ListInstances(hvparams=instance.hvparams)


def _ForceStop(hv: hv_base.BaseHypervisor, instance: Any) -> None:
    """Best-effort cleanup (never raises)."""
    try:
        if _Running(hv, instance):
            hv.StopInstance(instance, force=True)
        hv.CleanupInstance(instance.name)
    except errors.GenericError:
        pass


def CheckClassContract(hv: hv_base.BaseHypervisor) -> None:
    """Class-level declarations: name, parameters and their checks."""
    cls = type(hv)
    assert cls.NAME in constants.HYPER_TYPES, f"bad NAME {cls.NAME!r}"
    hv_defaults = defaults.HVC_DEFAULTS[cls.NAME]
    assert set(cls.PARAMETERS) == set(hv_defaults), (
        "PARAMETERS must declare exactly the hypervisor's defaults: extra"
        f" {sorted(set(cls.PARAMETERS) - set(hv_defaults))}, missing"
        f" {sorted(set(hv_defaults) - set(cls.PARAMETERS))}")
    for name, param in cls.PARAMETERS.items():
        assert isinstance(param, hv_base.HvParam), f"{name}: not an HvParam"
    cls.CheckParameterSyntax(dict(hv_defaults))
    _ExpectHvError(lambda: cls.CheckParameterSyntax(
        dict(hv_defaults, no_such_parameter=1)), "not supported")
    if hv_defaults:
        missing = dict(hv_defaults)
        missing.pop(sorted(missing)[0])
        _ExpectHvError(lambda: cls.CheckParameterSyntax(missing), "is missing")
    required, optional = cls.GetAncillaryFiles()
    assert set(optional) <= set(required)
    assert all(path.startswith("/") for path in required)


def _ExpectHvError(fn: Callable[[], Any], match: str) -> None:
    try:
        fn()
    except errors.HypervisorError as err:
        assert match in str(err), f"{match!r} not in error {err!r}"
        return
    raise AssertionError(f"no HypervisorError ({match!r})")


def CheckNodeInfo(hv: hv_base.BaseHypervisor, hvparams: dict[str, Any]) -> None:
    """GetNodeInfo reports integer memory/CPU figures, free <= total."""
    info = hv.GetNodeInfo(hvparams=hvparams)
    for key in _NODE_INFO_KEYS:
        assert isinstance(info.get(key), int), f"GetNodeInfo()[{key!r}]: {info}"
    assert 0 <= info["memory_free"] <= info["memory_total"], info
    assert info["cpu_total"] >= 1, info
    problem = hv.Verify(hvparams=hvparams)
    assert problem is None or isinstance(problem, str), problem


def _CheckNotRunning(hv: hv_base.BaseHypervisor, instance: Any) -> None:
    assert not _Running(hv, instance), f"{instance.name} listed as running"
    assert hv.GetInstanceInfo(instance.name, hvparams=instance.hvparams) is None
    names = [row[0] for row in hv.GetAllInstancesInfo(hvparams=instance.hvparams)]
    assert instance.name not in names


def _CheckInfoRow(row: Any, instance: Any) -> None:
    assert row is not None, f"no info for running {instance.name}"
    name, _, memory, vcpus, state, cpu_time = row
    beparams = instance.beparams
    assert name == instance.name
    assert isinstance(memory, int) and isinstance(vcpus, int), row
    assert beparams["minmem"] <= memory <= beparams["maxmem"], row
    assert vcpus == beparams["vcpus"], row
    assert hv_base.HvInstanceState.IsRunning(state), row
    assert isinstance(cpu_time, (int, float)), row


def _CheckRunning(hv: hv_base.BaseHypervisor, instance: Any) -> None:
    assert _Running(hv, instance), f"{instance.name} not listed as running"
    _CheckInfoRow(hv.GetInstanceInfo(instance.name, hvparams=instance.hvparams),
                  instance)
    rows = {row[0]: row for row in hv.GetAllInstancesInfo(hvparams=instance.hvparams)}
    _CheckInfoRow(rows.get(instance.name), instance)


def _StopNotRunning(hv: hv_base.BaseHypervisor, instance: Any) -> None:
    """Stopping a stopped instance raises HypervisorError or does nothing."""
    try:
        hv.StopInstance(instance)
    except errors.HypervisorError:
        pass
    _CheckNotRunning(hv, instance)


def _CheckConsole(hv: hv_base.BaseHypervisor, instance: Any) -> None:
    node = objects.Node(name="node1.example.com", uuid="node1-uuid",
                        primary_ip="127.0.0.1", group="group-uuid",
                        ndparams={})
    group = objects.NodeGroup(name="default", uuid="group-uuid",
                              ndparams=dict(defaults.NDC_DEFAULTS))
    console = hv.GetInstanceConsole(instance, node, group, instance.hvparams,
                                    instance.beparams)
    if isinstance(console, dict):
        console = hv_base.InstanceConsole.FromDict(console)
    assert console.instance == instance.name
    assert console.kind in hv_base.CONS_ALL, console
    console.Validate()


def _CheckBalloon(hv: hv_base.BaseHypervisor, instance: Any,
                  wait_timeout: float) -> None:
    target = instance.beparams["minmem"]
    hv.BalloonInstanceMemory(instance, target)

    def _Ballooned() -> bool:
        row = hv.GetInstanceInfo(instance.name, hvparams=instance.hvparams)
        return row is not None and row[2] == target

    _WaitFor(_Ballooned, wait_timeout, f"{instance.name} ballooned to {target}")


def _CheckMigration(src: hv_base.BaseHypervisor, dst: hv_base.BaseHypervisor,
                    instance: Any, target: str, wait_timeout: float) -> None:
    """The five-step migration of Ganeti's TLMigrateInstance, src -> dst."""
    info = src.MigrationInfo(instance)
    dst.AcceptInstance(instance, info, target)
    src.MigrateInstance("cluster.example.com", instance, target, True)

    def _Done() -> bool:
        status = src.GetMigrationStatus(instance)
        if isinstance(status, dict):
            status = hv_base.MigrationStatus.FromDict(status)
        assert status.status in hv_base.HV_MIGRATION_VALID_STATUSES, status
        assert status.status not in hv_base.HV_MIGRATION_FAILED_STATUSES, status
        return status.status == hv_base.HV_MIGRATION_COMPLETED

    _WaitFor(_Done, wait_timeout, "migration to complete")
    dst.FinalizeMigrationDst(instance, info, True)
    src.FinalizeMigrationSource(instance, True, True)
    _WaitFor(lambda: not _Running(src, instance), wait_timeout,
             "the source to drop the instance")
    _CheckRunning(dst, instance)


def _CheckNoMigration(hv: hv_base.BaseHypervisor, instance: Any) -> None:
    _ExpectHvError(lambda: hv.MigrateInstance("c", instance, "192.0.2.1", True),
                   "Migration not supported")
    _ExpectHvError(lambda: hv.AcceptInstance(instance, "", "192.0.2.1"),
                   "Migration not supported")


def CheckHypervisorContract(hv: hv_base.BaseHypervisor,
                            make_instance: MakeInstanceFn, *,
                            block_devices: list[tuple[Any, str, Any]] | None = None,
                            migration_target: hv_base.BaseHypervisor | None = None,
                            target_address: str = "127.0.0.1",
                            check_balloon: bool = True,
                            wait_timeout: float = 30.0) -> None:
    """Run the whole battery against hv.

    Args:
      hv: the driver under test.
      make_instance: name -> filled objects.Instance (see module doc).
      block_devices: what StartInstance receives ([] for diskless).
      migration_target: a second driver object standing for another node;
        with CAN_MIGRATE, the battery migrates an instance to it.
      target_address: the address MigrateInstance receives.
      check_balloon: also balloon the instance down to its minmem.
      wait_timeout: seconds to wait for asynchronous state changes.

    Raises:
      AssertionError: the driver breaks the contract (the message says how).
    """
    CheckClassContract(hv)
    first = make_instance("contract-one.example.com")
    second = make_instance("contract-two.example.com")
    started: list[tuple[hv_base.BaseHypervisor, Any]] = [
        (hv, first), (hv, second)]
    if migration_target is not None:
        started.append((migration_target, first))
    try:
        CheckNodeInfo(hv, first.hvparams)
        _CheckNotRunning(hv, first)
        _StopNotRunning(hv, first)
        hv.StartInstance(first, list(block_devices or []), False)
        _WaitFor(lambda: _Running(hv, first), wait_timeout, "the instance to start")
        _CheckRunning(hv, first)
        _ExpectHvError(lambda: hv.StartInstance(first, list(block_devices or []),
                                                False), "")
        _CheckRunning(hv, first)
        _CheckConsole(hv, first)
        hv.RebootInstance(first)
        _WaitFor(lambda: _Running(hv, first), wait_timeout, "a reboot")
        if check_balloon:
            _CheckBalloon(hv, first, wait_timeout)
        CheckNodeInfo(hv, first.hvparams)
        if not hv.CAN_MIGRATE:
            _CheckNoMigration(hv, first)
        elif migration_target is not None:
            _CheckMigration(hv, migration_target, first, target_address,
                            wait_timeout)
            migration_target.StopInstance(first, force=True)
            _WaitFor(lambda: not _Running(migration_target, first), wait_timeout,
                     "the migrated instance to stop")
        if _Running(hv, first):
            hv.StopInstance(first, force=True)
        _WaitFor(lambda: not _Running(hv, first), wait_timeout, "a forced stop")
        hv.CleanupInstance(first.name)
        _CheckNotRunning(hv, first)
        _StopNotRunning(hv, first)
        # Stopping by name only (the instance object is not used).
        hv.StartInstance(second, list(block_devices or []), False)
        _WaitFor(lambda: _Running(hv, second), wait_timeout, "a second start")
        hv.StopInstance(None, force=True, name=second.name)
        _WaitFor(lambda: not _Running(hv, second), wait_timeout, "a stop by name")
        hv.CleanupInstance(second.name)
        _CheckNotRunning(hv, second)
    finally:
        for driver, instance in started:
            _ForceStop(driver, instance)
