"""The RPC procedure table (ganeti/rpc/defs.py) against spec/rpc.md and noded."""

import pytest

from ganeti import backend, constants
from ganeti.rpc import defs

M, S = defs.MULTI, defs.SINGLE

# Every procedure of spec/rpc.md section 2 with its mode.
SPEC_MODES = {
    "version": M, "node_info": M, "node_verify": M, "node_verify_light": M,
    "node_has_ip_address": S, "node_volumes": M, "node_demote_from_mc": S,
    "node_powercycle": S, "node_configure_ovs": S, "node_crypto_tokens": S,
    "node_ensure_daemon": M, "node_ssh_key_add": M, "node_ssh_key_remove": M,
    "node_ssh_keys_renew": M, "master_node_name": M,
    "node_start_master_daemons": S, "node_stop_master": S,
    "node_activate_master_ip": S, "node_deactivate_master_ip": S,
    "node_change_master_netmask": S, "node_leave_cluster": S,
    "etc_hosts_modify": S, "get_file_info": S, "get_watcher_pause": S,
    "set_watcher_pause": M, "hypervisor_validate_params": M, "drbd_helper": M,
    "lv_list": M, "vg_list": M, "bridges_exist": S, "bdev_sizes": M,
    "restricted_command": M, "run_oob": S, "test_delay": M,
    "instance_start": S, "instance_shutdown": S, "instance_reboot": S,
    "instance_info": S, "all_instances_info": M, "instance_list": M,
    "instance_console_info": M, "instance_balloon_memory": S,
    "instance_os_add": S, "instance_run_rename": S, "instance_migratable": S,
    "migration_info": S, "accept_instance": S, "instance_migrate": S,
    "instance_finalize_migration_dst": S, "instance_finalize_migration_src": S,
    "instance_get_migration_status": S, "hotplug_device": S,
    "hotplug_supported": S, "resize_disk": S, "instance_metadata_modify": S,
    "blockdev_create": S, "blockdev_remove": S, "blockdev_assemble": S,
    "blockdev_shutdown": S, "blockdev_find": S, "blockdev_getmirrorstatus": S,
    "blockdev_getmirrorstatus_multi": M, "blockdev_grow": S,
    "blockdev_snapshot": S, "blockdev_rename": S, "blockdev_addchildren": S,
    "blockdev_removechildren": S, "blockdev_close": S, "blockdev_open": S,
    "blockdev_getdimensions": S, "blockdev_setinfo": S, "blockdev_wipe": S,
    "blockdev_image": S, "blockdev_convert": S, "blockdev_pause_resume_sync": S,
    "drbd_disconnect_net": M, "drbd_attach_net": M, "drbd_wait_sync": M,
    "drbd_needs_activation": S, "storage_list": M, "storage_modify": S,
    "storage_execute": S, "file_storage_dir_create": S,
    "file_storage_dir_remove": S, "file_storage_dir_rename": S,
    "upload_file": M, "upload_file_single": M, "write_ssconf_files": M,
    "export_list": M, "export_info": S, "export_remove": S,
    "finalize_export": S, "import_start": S, "export_start": S,
    "impexp_status": S, "impexp_abort": S, "impexp_cleanup": S,
    "x509_cert_create": S, "x509_cert_remove": S, "os_diagnose": M,
    "os_validate": M, "os_export": S, "extstorage_diagnose": M,
    "hooks_runner": M, "iallocator_runner": S, "jobqueue_update": M,
    "jobqueue_rename": M, "jobqueue_purge": S, "jobqueue_set_drain_flag": M,
}

# Timeout classes spec/rpc.md states explicitly.
SPEC_TIMEOUTS = {
    "version": constants.RPC_TMO_URGENT, "node_info": constants.RPC_TMO_URGENT,
    "node_verify": constants.RPC_TMO_NORMAL,
    "node_has_ip_address": constants.RPC_TMO_FAST,
    "node_crypto_tokens": constants.RPC_TMO_SLOW,
    "master_node_name": constants.RPC_TMO_URGENT,
    "node_leave_cluster": constants.RPC_TMO_NORMAL,
    "set_watcher_pause": constants.RPC_TMO_URGENT,
    "get_watcher_pause": constants.RPC_TMO_URGENT,
    "lv_list": constants.RPC_TMO_URGENT,
    "restricted_command": constants.RPC_TMO_SLOW,
    "instance_start": constants.RPC_TMO_NORMAL,
    "instance_info": constants.RPC_TMO_URGENT,
    "instance_os_add": constants.RPC_TMO_1DAY,
    "instance_migrate": constants.RPC_TMO_SLOW,
    "blockdev_wipe": constants.RPC_TMO_SLOW,
    "drbd_wait_sync": constants.RPC_TMO_SLOW,
    "file_storage_dir_create": constants.RPC_TMO_FAST,
    "export_list": constants.RPC_TMO_FAST, "impexp_status": constants.RPC_TMO_FAST,
    "os_diagnose": constants.RPC_TMO_FAST,
    "hooks_runner": constants.RPC_TMO_NORMAL,
    "jobqueue_update": constants.RPC_TMO_URGENT,
    "jobqueue_rename": constants.RPC_TMO_URGENT,
    "jobqueue_set_drain_flag": constants.RPC_TMO_URGENT,
}

ISSUE2_PROCEDURES = [
    "version", "node_info", "upload_file", "upload_file_single",
    "write_ssconf_files", "jobqueue_update", "jobqueue_rename", "jobqueue_purge",
    "jobqueue_set_drain_flag", "master_node_name", "hooks_runner", "test_delay",
    "node_has_ip_address", "get_file_info", "get_watcher_pause",
    "set_watcher_pause",
]


def _ArgNames(name):
    return [arg.name for arg in defs.CALLS[name].args]


def test_every_spec_procedure_has_a_row_with_the_spec_mode():
    missing = sorted(set(SPEC_MODES) - set(defs.CALLS))
    assert missing == []
    wrong = {name: defs.CALLS[name].mode for name, mode in SPEC_MODES.items()
             if defs.CALLS[name].mode != mode}
    assert wrong == {}


def test_timeout_classes_follow_the_spec():
    wrong = {name: defs.CALLS[name].timeout for name, tmo in SPEC_TIMEOUTS.items()
             if defs.CALLS[name].timeout != tmo}
    assert wrong == {}


@pytest.mark.parametrize("name, args", [
    ("node_info", ["storage_units", "hv_specs"]),
    ("instance_reboot", ["inst", "reboot_type", "shutdown_timeout", "reason"]),
    ("instance_migrate", ["cluster_name", "instance", "target", "live"]),
    ("blockdev_assemble", ["disk", "instance", "on_primary", "idx"]),
    ("upload_file", ["file_name"]),
    ("upload_file_single",
     ["file_name", "content", "mode", "uid", "gid", "atime", "mtime"]),
    ("jobqueue_update", ["file_name", "content"]),
    ("jobqueue_rename", ["rename"]),
    ("hooks_runner", ["hpath", "phase", "env"]),
    ("run_oob", ["oob_program", "command", "remote_node", "timeout"]),
    ("os_validate", ["required", "name", "checks", "params", "force_variant"]),
    ("version", []),
])
def test_argument_names_and_order_match_the_wire(name, args):
    assert _ArgNames(name) == args


def test_encoders_of_file_and_queue_arguments():
    assert defs.CALLS["upload_file"].args[0].encoder == defs.ED_FILE_DETAILS
    assert defs.CALLS["upload_file_single"].args[1].encoder == defs.ED_COMPRESS
    assert [a.encoder for a in defs.CALLS["jobqueue_update"].args] == \
        [defs.ED_VIRTUAL_PATH, defs.ED_COMPRESS]
    assert defs.CALLS["instance_shutdown"].args[0].encoder == defs.ED_INST_DICT


def test_only_version_and_powercycle_reach_offline_nodes():
    accepting = sorted(n for n, c in defs.CALLS.items() if c.accept_offline)
    assert accepting == ["node_powercycle", "version"]


def test_test_delay_timeout_is_duration_plus_margin():
    call = defs.CALLS["test_delay"]
    assert defs.GetTimeout(call, [1.0]) == 6
    assert defs.GetTimeout(call, [100]) == 105
    assert defs.GetTimeout(defs.CALLS["version"], []) == constants.RPC_TMO_URGENT


def test_this_issues_procedures_have_node_handlers():
    handlers = backend.LoadAll()
    assert [name for name in ISSUE2_PROCEDURES if name not in handlers] == []


def test_every_node_handler_has_a_row():
    handlers = backend.LoadAll()
    assert sorted(set(handlers) - set(defs.CALLS)) == []


def test_rows_are_named_not_long_positional_tuples():
    for call in defs.CALLS.values():
        assert isinstance(call, defs.RpcCall) and call.name
        assert all(isinstance(arg, defs.Arg) for arg in call.args)
    assert len(defs.Arg._fields) <= 3


def test_table_builder_rejects_bad_rows():
    row = defs.RpcCall("x", defs.SINGLE, 1, [])
    with pytest.raises(ValueError, match="defined twice"):
        defs._BuildTable([row], [row])
    with pytest.raises(ValueError, match="bad mode"):
        defs._BuildTable([row._replace(mode="many")])
    with pytest.raises(ValueError, match="unknown encoder"):
        defs._BuildTable([row._replace(args=[defs.Arg("a", "zip-it")])])


def test_per_node_first_arg_preproc_picks_the_nodes_value():
    preproc = defs.CALLS["node_info"].preproc
    assert preproc("n1", [{"n1": ["a"], "n2": ["b"]}, ["hv"]]) == [["a"], ["hv"]]
    assert preproc("n1", [["same"], ["hv"]]) == [["same"], ["hv"]]
