"""Hypervisor drivers behind one map (Ganeti's lib/hypervisor/__init__.py).

_HYPERVISOR_MAP names, for each hypervisor this installation provides, the
module and class of its driver. Drivers are imported on first use: noded
starts without loading qemu-specific code, and a driver that cannot be
imported on this node makes only that hypervisor unavailable.

Unlike Ganeti, GetHypervisor returns one driver object per process and
hypervisor (drivers keep no per-call state, and the fake driver's directory
set-up then runs once).
"""

from __future__ import annotations

import importlib
import logging
import threading

from ganeti import constants, errors
from ganeti.hypervisor import hv_base

logger = logging.getLogger(__name__)

# Hypervisor name -> (module, class). Xen, chroot and LXC are not provided.
_HYPERVISOR_MAP: dict[str, tuple[str, str]] = {
    constants.HT_FAKE: ("ganeti.hypervisor.hv_fake", "FakeHypervisor"),
    constants.HT_KVM: ("ganeti.hypervisor.hv_kvm", "KVMHypervisor"),
}

_CLASS_CACHE: dict[str, type[hv_base.BaseHypervisor]] = {}
# Drivers that failed to load: not retried (and not logged again) until
# ResetCache, so that listing instances does not re-import a broken module
# on every call.
_LOAD_ERRORS: dict[str, errors.HypervisorError] = {}
_INSTANCE_CACHE: dict[str, hv_base.BaseHypervisor] = {}
# Guards both caches: noded serves requests from several threads.
_CACHE_LOCK = threading.Lock()


def _Unavailable(ht_kind: str, detail: str = "") -> errors.HypervisorError:
    suffix = f": {detail}" if detail else ""
    return errors.HypervisorError(
        f"Hypervisor {ht_kind} is not available on this node{suffix}")


def _LoadClass(ht_kind: str) -> type[hv_base.BaseHypervisor]:
    if not isinstance(ht_kind, str) or ht_kind not in constants.HYPER_TYPES:
        raise errors.HypervisorError(f"Unknown hypervisor type '{ht_kind}'")
    entry = _HYPERVISOR_MAP.get(ht_kind)
    if entry is None:
        raise _Unavailable(ht_kind)
    module_name, class_name = entry
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        logger.warning("Can't load the %s hypervisor driver: %s", ht_kind, err)
        raise _Unavailable(ht_kind, str(err)) from err
    cls = getattr(module, class_name, None)
    if not (isinstance(cls, type) and issubclass(cls, hv_base.BaseHypervisor)):
        raise _Unavailable(ht_kind, f"{module_name} has no driver {class_name}")
    return cls


def GetHypervisorClass(ht_kind: str) -> type[hv_base.BaseHypervisor]:
    """Return the driver class of a hypervisor.

    Raises:
      errors.HypervisorError: the name is no hypervisor, or its driver is not
        available on this node.
    """
    with _CACHE_LOCK:
        cls = _CLASS_CACHE.get(ht_kind) if isinstance(ht_kind, str) else None
        if cls is not None:
            return cls
        load_error = _LOAD_ERRORS.get(ht_kind) if isinstance(ht_kind, str) else None
        if load_error is not None:
            raise errors.HypervisorError(*load_error.args)
        try:
            cls = _LoadClass(ht_kind)
        except errors.HypervisorError as err:
            if ht_kind in _HYPERVISOR_MAP:
                _LOAD_ERRORS[ht_kind] = err
            raise
        _CLASS_CACHE[ht_kind] = cls
        return cls


def GetHypervisor(ht_kind: str) -> hv_base.BaseHypervisor:
    """Return this process's driver object of a hypervisor.

    Raises:
      errors.HypervisorError: see GetHypervisorClass; also a driver that
        cannot set itself up on this node.
    """
    cls = GetHypervisorClass(ht_kind)
    with _CACHE_LOCK:
        hv = _INSTANCE_CACHE.get(ht_kind)
        if hv is None:
            try:
                hv = cls()
            except OSError as err:
                raise _Unavailable(ht_kind, str(err)) from err
            _INSTANCE_CACHE[ht_kind] = hv
        return hv


def GetAvailableHypervisors() -> list[str]:
    """Names of the hypervisors this installation has a driver for."""
    return sorted(_HYPERVISOR_MAP)


def ResetCache() -> None:
    """Forget the loaded drivers and load failures (tests; new code)."""
    with _CACHE_LOCK:
        _CLASS_CACHE.clear()
        _INSTANCE_CACHE.clear()
        _LOAD_ERRORS.clear()
