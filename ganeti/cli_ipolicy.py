"""Building an instance policy from the command-line options.

Two ways to give specs, which cannot be mixed (as in Ganeti 3.0's cli.py):

* split: --specs-mem-size min=128,max=4G,std=512 (one option per spec);
* full: --ipolicy-bounds-specs min:memory-size=128,.../max:... (and
  --ipolicy-std-specs memory-size=512,...), where "//" separates several
  min/max pairs.

Sizes accept units; the result has Ganeti's ipolicy shape ({"minmax": [{"min":
{...}, "max": {...}}], "std": {...}, "disk-templates": [...], ...}).
"""

from __future__ import annotations

from typing import Any

from ganeti import defaults, errors, objects
from ganeti.utils.text import CommaJoin, ParseUnit

_SPECS_TYPES_GROUP = {
    defaults.ISPECS_MIN: defaults.VTYPE_INT,
    defaults.ISPECS_MAX: defaults.VTYPE_INT,
}
_SPECS_TYPES_CLUSTER = {**_SPECS_TYPES_GROUP, defaults.ISPECS_STD: defaults.VTYPE_INT}
_ISPEC_PARAMETER_TYPES = dict.fromkeys(defaults.ISPECS_PARAMETERS,
                                       defaults.VTYPE_INT)
_ISPECS_MINMAX_KEYS = (defaults.ISPECS_MIN, defaults.ISPECS_MAX)
_SIZE_SPECS = (defaults.ISPEC_DISK_SIZE, defaults.ISPEC_MEM_SIZE)


def _MaybeParseUnit(elements: dict[str, Any]) -> dict[str, Any]:
    return {key: value if value == defaults.VALUE_DEFAULT else ParseUnit(value)
            for key, value in elements.items()}


def _InitISpecsFromSplitOpts(ipolicy: dict[str, Any], split: dict[str, Any],
                             group_ipolicy: bool, fill_all: bool) -> None:
    """Fill ipolicy from the --specs-* options ({spec name: {min/max/std: v}}).

    Raises:
      errors.OpPrereqError: a size cannot be parsed.
      errors.TypeEnforcementError: an unknown key or a non-integer value.
    """
    try:
        for name in _SIZE_SPECS:
            if split.get(name):
                split[name] = _MaybeParseUnit(split[name])
    except errors.UnitParseError as err:
        raise errors.OpPrereqError(
            f"Invalid disk ({split.get(defaults.ISPEC_DISK_SIZE)}) or memory"
            f" ({split.get(defaults.ISPEC_MEM_SIZE)}) size in policy: {err}",
            errors.ECODE_INVAL) from err
    forced = _SPECS_TYPES_GROUP if group_ipolicy else _SPECS_TYPES_CLUSTER
    ispecs: dict[str, dict[str, Any]] = {defaults.ISPECS_MIN: {},
                                         defaults.ISPECS_MAX: {},
                                         defaults.ISPECS_STD: {}}
    for name, specs in split.items():
        specs = dict(specs or {})
        defaults.ForceDictType(specs, forced)
        for key, value in specs.items():
            ispecs[key][name] = value
    minmax = {}
    for key in _ISPECS_MINMAX_KEYS:
        minmax[key] = (objects.FillDict(defaults.IPOLICY_DEFAULTS[
            defaults.ISPECS_MINMAX][0][key], ispecs[key]) if fill_all
            else ispecs[key])
    ipolicy[defaults.ISPECS_MINMAX] = [minmax]
    std = ispecs[defaults.ISPECS_STD]
    ipolicy[defaults.ISPECS_STD] = (
        objects.FillDict(defaults.IPOLICY_DEFAULTS[defaults.ISPECS_STD], std)
        if fill_all else std)


def _ParseISpec(spec: dict[str, Any], keyname: str, required: bool) -> dict[str, Any]:
    """Convert one spec dict (sizes with units, integers).

    Raises:
      errors.OpPrereqError: a bad size, or (required) missing parameters.
      errors.TypeEnforcementError: an unknown parameter or a non-integer.
    """
    ret = dict(spec)
    for key in _SIZE_SPECS:
        if key in ret:
            try:
                ret[key] = ParseUnit(ret[key])
            except errors.UnitParseError as err:
                raise errors.OpPrereqError(
                    f"Invalid parameter {key} ({ret[key]}) in {keyname} instance"
                    f" specs: {err}", errors.ECODE_INVAL) from err
    defaults.ForceDictType(ret, _ISPEC_PARAMETER_TYPES)
    missing = [name for name in defaults.ISPECS_PARAMETERS if name not in ret]
    if required and missing:
        raise errors.OpPrereqError(
            f"Missing parameters in ipolicy spec {keyname}:"
            f" {CommaJoin(sorted(missing))}", errors.ECODE_INVAL)
    return ret


def _InitISpecsFromFullOpts(ipolicy: dict[str, Any], minmax_ispecs: Any,
                            std_ispecs: Any, allowed_values: Any) -> None:
    """Fill ipolicy from --ipolicy-bounds-specs and --ipolicy-std-specs."""
    if (minmax_ispecs and allowed_values and len(minmax_ispecs) == 1
            and len(minmax_ispecs[0]) == 1):
        ((key, spec),) = minmax_ispecs[0].items()
        if key in allowed_values and not spec:
            ipolicy[defaults.ISPECS_MINMAX] = key
            minmax_ispecs = None
    if minmax_ispecs is not None:
        minmax_out = []
        for pair in minmax_ispecs:
            pair_out = {}
            for key, spec in pair.items():
                if key not in _ISPECS_MINMAX_KEYS:
                    raise errors.OpPrereqError(
                        f"Invalid key in bounds instance specifications: {key}",
                        errors.ECODE_INVAL)
                pair_out[key] = _ParseISpec(spec, key, True)
            minmax_out.append(pair_out)
        ipolicy[defaults.ISPECS_MINMAX] = minmax_out
    if std_ispecs is not None:
        ipolicy[defaults.ISPECS_STD] = _ParseISpec(std_ispecs, "std", False)


def CreateIPolicyFromOpts(ispecs_mem_size: dict[str, Any] | None = None,
                          ispecs_cpu_count: dict[str, Any] | None = None,
                          ispecs_disk_count: dict[str, Any] | None = None,
                          ispecs_disk_size: dict[str, Any] | None = None,
                          ispecs_nic_count: dict[str, Any] | None = None,
                          minmax_ispecs: list[dict[str, Any]] | None = None,
                          std_ispecs: dict[str, Any] | None = None,
                          ipolicy_disk_templates: list[str] | None = None,
                          ipolicy_vcpu_ratio: Any = None,
                          ipolicy_spindle_ratio: Any = None,
                          group_ipolicy: bool = False,
                          allowed_values: list[str] | None = None,
                          fill_all: bool = False) -> dict[str, Any]:
    """Build an instance policy from the ipolicy/specs options.

    Args:
      group_ipolicy: the policy is a node group's (no "std" specs).
      allowed_values: special values accepted as-is (e.g. "default").
      fill_all: fill every missing value from the defaults (cluster init).

    Raises:
      errors.OpPrereqError: --specs-* mixed with --ipolicy-*-specs, or an
        invalid spec.
      errors.TypeEnforcementError: a spec value is not an integer.
    """
    split = {
        defaults.ISPEC_MEM_SIZE: ispecs_mem_size,
        defaults.ISPEC_CPU_COUNT: ispecs_cpu_count,
        defaults.ISPEC_DISK_COUNT: ispecs_disk_count,
        defaults.ISPEC_DISK_SIZE: ispecs_disk_size,
        defaults.ISPEC_NIC_COUNT: ispecs_nic_count,
    }
    has_split = any(split.values())
    if has_split and (minmax_ispecs is not None or std_ispecs is not None):
        raise errors.OpPrereqError(
            "A --specs-xxx option cannot be specified together with any"
            " --ipolicy-xxx-specs option", errors.ECODE_INVAL)
    ipolicy: dict[str, Any] = {}
    if has_split:
        _InitISpecsFromSplitOpts(ipolicy, split, group_ipolicy, fill_all)
    elif minmax_ispecs is not None or std_ispecs is not None:
        _InitISpecsFromFullOpts(ipolicy, minmax_ispecs, std_ispecs,
                                allowed_values)
    if ipolicy_disk_templates is not None:
        if allowed_values and ipolicy_disk_templates in allowed_values:
            ipolicy[defaults.IPOLICY_DTS] = ipolicy_disk_templates
        else:
            ipolicy[defaults.IPOLICY_DTS] = list(ipolicy_disk_templates)
    if ipolicy_vcpu_ratio is not None:
        ipolicy[defaults.IPOLICY_VCPU_RATIO] = ipolicy_vcpu_ratio
    if ipolicy_spindle_ratio is not None:
        ipolicy[defaults.IPOLICY_SPINDLE_RATIO] = ipolicy_spindle_ratio
    if not group_ipolicy and fill_all:
        ipolicy = objects.FillIPolicy(defaults.IPOLICY_DEFAULTS, ipolicy)
    return ipolicy
