"""Tests for ganeti.defaults: default parameters and ForceDictType."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ganeti import constants, defaults, errors

SAMPLE = json.loads(
    (Path(__file__).resolve().parents[1] / "data" / "config.data.json").read_text())


def test_defaults_match_a_fresh_ganeti_cluster():
    cluster = SAMPLE["cluster"]
    assert defaults.HVC_DEFAULTS == cluster["hvparams"]
    assert set(defaults.HVC_DEFAULTS) == constants.HYPER_TYPES
    assert defaults.DISK_DT_DEFAULTS == cluster["diskparams"]
    assert defaults.NDC_DEFAULTS == cluster["ndparams"]
    assert set(defaults.BEC_DEFAULTS) == set(cluster["beparams"]["default"])
    assert defaults.BEC_DEFAULTS["maxmem"] == 128
    assert defaults.NICC_DEFAULTS == {"mode": "bridged", "link": "xen-br0",
                                      "vlan": ""}
    assert set(defaults.IPOLICY_DEFAULTS) == set(cluster["ipolicy"])
    assert set(defaults.IPOLICY_DEFAULTS["std"]) == set(cluster["ipolicy"]["std"])


def test_parameter_types_cover_defaults():
    assert set(defaults.BES_PARAMETER_TYPES) == set(defaults.BEC_DEFAULTS)
    assert set(defaults.NDS_PARAMETER_TYPES) == set(defaults.NDC_DEFAULTS)
    assert set(defaults.NICS_PARAMETER_TYPES) == set(defaults.NICC_DEFAULTS)
    assert defaults.HVS_PARAMETER_TYPES["kvm"]["acpi"] == defaults.VTYPE_BOOL
    assert defaults.HVS_PARAMETER_TYPES["kvm"]["migration_port"] == defaults.VTYPE_INT
    for hv, params in defaults.HVC_DEFAULTS.items():
        checked = dict(params)
        defaults.ForceDictType(checked, defaults.HVS_PARAMETER_TYPES[hv])
        assert checked == params


def test_force_dict_type_converts():
    target = {"maxmem": "1G", "minmem": 512, "vcpus": "2", "auto_balance": "no",
              "always_failover": "TRUE", "spindle_use": 1.0}
    defaults.ForceDictType(target, defaults.BES_PARAMETER_TYPES)
    assert target == {"maxmem": 1024, "minmem": 512, "vcpus": 2,
                      "auto_balance": False, "always_failover": True,
                      "spindle_use": 1}
    nd = {"cpu_speed": "1.5", "ovs_name": None, "oob_program": False}
    defaults.ForceDictType(nd, defaults.NDS_PARAMETER_TYPES)
    assert nd == {"cpu_speed": 1.5, "ovs_name": None, "oob_program": ""}


def test_force_dict_type_allowed_values():
    target = {"vcpus": "default"}
    defaults.ForceDictType(target, defaults.BES_PARAMETER_TYPES,
                           allowed_values=[defaults.VALUE_DEFAULT])
    assert target == {"vcpus": "default"}


@pytest.mark.parametrize(("target", "message"), [
    ({"nonsense": 1}, "Unknown parameter 'nonsense'"),
    ({"vcpus": "two"}, "not a valid integer"),
    ({"vcpus": True}, "not a valid integer"),
    ({"auto_balance": "maybe"}, "not a valid boolean"),
    ({"maxmem": "12X"}, "not a valid size"),
    ({"maxmem": "lots"}, "not a valid size"),
])
def test_force_dict_type_rejects(target, message):
    before = dict(target)
    with pytest.raises(errors.TypeEnforcementError, match=message):
        defaults.ForceDictType(target, defaults.BES_PARAMETER_TYPES)
    assert target == before


def test_force_dict_type_leaves_target_unchanged_on_error():
    target = {"vcpus": "2", "auto_balance": "maybe"}
    with pytest.raises(errors.TypeEnforcementError):
        defaults.ForceDictType(target, defaults.BES_PARAMETER_TYPES)
    assert target == {"vcpus": "2", "auto_balance": "maybe"}
    with pytest.raises(errors.TypeEnforcementError, match="Expected dictionary"):
        defaults.ForceDictType(["vcpus"], defaults.BES_PARAMETER_TYPES)
