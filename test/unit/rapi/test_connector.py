"""Tests of ganeti.rapi.connector: the URL map of spec/rapi.md section 3."""

import pytest

from ganeti import http
from ganeti.rapi import baserlib, connector, rlib2

# Every resource of spec/rapi.md section 3 with its methods.
_SPEC = [
    ("/", rlib2.R_root, {"GET"}),
    ("/2", rlib2.R_2, {"GET"}),
    ("/version", rlib2.R_version, {"GET"}),
    ("/2/info", rlib2.R_2_info, {"GET"}),
    ("/2/features", rlib2.R_2_features, {"GET"}),
    ("/2/redistribute-config", rlib2.R_2_redist_config, {"PUT"}),
    ("/2/modify", rlib2.R_2_cluster_modify, {"PUT"}),
    ("/2/os", rlib2.R_2_os, {"GET"}),
    ("/2/tags", rlib2.R_2_tags, {"GET", "PUT", "DELETE"}),
    ("/2/query/node", rlib2.R_2_query, {"GET", "PUT"}),
    ("/2/query/instance/fields", rlib2.R_2_query_fields, {"GET"}),
    ("/2/jobs", rlib2.R_2_jobs, {"GET"}),
    ("/2/jobs/17", rlib2.R_2_jobs_id, {"GET", "DELETE"}),
    ("/2/jobs/17/wait", rlib2.R_2_jobs_id_wait, {"GET"}),
    ("/2/filters", rlib2.R_2_filters, {"GET", "POST"}),
    ("/2/filters/4a8e-1", rlib2.R_2_filters_uuid, {"GET", "PUT", "DELETE"}),
    ("/2/groups", rlib2.R_2_groups, {"GET", "POST"}),
    ("/2/groups/g1", rlib2.R_2_groups_name, {"GET", "DELETE"}),
    ("/2/groups/g1/modify", rlib2.R_2_groups_name_modify, {"PUT"}),
    ("/2/groups/g1/rename", rlib2.R_2_groups_name_rename, {"PUT"}),
    ("/2/groups/g1/assign-nodes", rlib2.R_2_groups_name_assign_nodes, {"PUT"}),
    ("/2/groups/g1/tags", rlib2.R_2_groups_name_tags, {"GET", "PUT", "DELETE"}),
    ("/2/networks", rlib2.R_2_networks, {"GET", "POST"}),
    ("/2/networks/n1", rlib2.R_2_networks_name, {"GET", "DELETE"}),
    ("/2/networks/n1/modify", rlib2.R_2_networks_name_modify, {"PUT"}),
    ("/2/networks/n1/connect", rlib2.R_2_networks_name_connect, {"PUT"}),
    ("/2/networks/n1/disconnect", rlib2.R_2_networks_name_disconnect, {"PUT"}),
    ("/2/networks/n1/rename", rlib2.R_2_networks_name_rename, {"PUT"}),
    ("/2/networks/n1/tags", rlib2.R_2_networks_name_tags,
     {"GET", "PUT", "DELETE"}),
    ("/2/nodes", rlib2.R_2_nodes, {"GET"}),
    ("/2/nodes/node1.example.com", rlib2.R_2_nodes_name, {"GET"}),
    ("/2/nodes/n1/role", rlib2.R_2_nodes_name_role, {"GET", "PUT"}),
    ("/2/nodes/n1/modify", rlib2.R_2_nodes_name_modify, {"POST"}),
    ("/2/nodes/n1/powercycle", rlib2.R_2_nodes_name_powercycle, {"POST"}),
    ("/2/nodes/n1/evacuate", rlib2.R_2_nodes_name_evacuate, {"POST"}),
    ("/2/nodes/n1/migrate", rlib2.R_2_nodes_name_migrate, {"POST"}),
    ("/2/nodes/n1/storage", rlib2.R_2_nodes_name_storage, {"GET"}),
    ("/2/nodes/n1/storage/modify", rlib2.R_2_nodes_name_storage_modify, {"PUT"}),
    ("/2/nodes/n1/storage/repair", rlib2.R_2_nodes_name_storage_repair, {"PUT"}),
    ("/2/nodes/n1/tags", rlib2.R_2_nodes_name_tags, {"GET", "PUT", "DELETE"}),
    ("/2/instances", rlib2.R_2_instances, {"GET", "POST"}),
    ("/2/instances-multi-alloc", rlib2.R_2_instances_multi_alloc, {"POST"}),
    ("/2/instances/i1", rlib2.R_2_instances_name, {"GET", "DELETE"}),
    ("/2/instances/i1/info", rlib2.R_2_instances_name_info, {"GET"}),
    ("/2/instances/i1/reboot", rlib2.R_2_instances_name_reboot, {"POST"}),
    ("/2/instances/i1/startup", rlib2.R_2_instances_name_startup, {"PUT"}),
    ("/2/instances/i1/shutdown", rlib2.R_2_instances_name_shutdown, {"PUT"}),
    ("/2/instances/i1/reinstall", rlib2.R_2_instances_name_reinstall, {"POST"}),
    ("/2/instances/i1/replace-disks", rlib2.R_2_instances_name_replace_disks,
     {"POST"}),
    ("/2/instances/i1/activate-disks", rlib2.R_2_instances_name_activate_disks,
     {"PUT"}),
    ("/2/instances/i1/deactivate-disks",
     rlib2.R_2_instances_name_deactivate_disks, {"PUT"}),
    ("/2/instances/i1/recreate-disks", rlib2.R_2_instances_name_recreate_disks,
     {"POST"}),
    ("/2/instances/i1/disk/2/grow", rlib2.R_2_instances_name_disk_grow,
     {"POST"}),
    ("/2/instances/i1/prepare-export", rlib2.R_2_instances_name_prepare_export,
     {"PUT"}),
    ("/2/instances/i1/export", rlib2.R_2_instances_name_export,
     {"PUT", "DELETE"}),
    ("/2/instances/i1/migrate", rlib2.R_2_instances_name_migrate, {"PUT"}),
    ("/2/instances/i1/failover", rlib2.R_2_instances_name_failover, {"PUT"}),
    ("/2/instances/i1/rename", rlib2.R_2_instances_name_rename, {"PUT"}),
    ("/2/instances/i1/modify", rlib2.R_2_instances_name_modify, {"PUT"}),
    ("/2/instances/i1/console", rlib2.R_2_instances_name_console, {"GET"}),
    ("/2/instances/i1/tags", rlib2.R_2_instances_name_tags,
     {"GET", "PUT", "DELETE"}),
]


@pytest.mark.parametrize("path,handler,methods", _SPEC)
def test_every_spec_resource_maps_with_its_methods(path, handler, methods):
    (found, _, _) = connector.Mapper().getController(path)
    assert found is handler
    supported = {m for m in baserlib.HTTP_METHODS if baserlib.HasMethod(found, m)}
    assert supported == methods


def test_path_items_and_query_arguments():
    mapper = connector.Mapper()
    assert mapper.getController("/2/instances/web-1.example.com/disk/3/grow") == (
        rlib2.R_2_instances_name_disk_grow, ["web-1.example.com", "3"], {})
    (_, items, args) = mapper.getController(
        "/2/tags?tag=a&tag=b%20c&dry-run=1&reason=")
    assert items == []
    assert args == {"tag": ["a", "b c"], "dry-run": ["1"]}
    assert mapper.getController("/2/query/node/fields?fields=name,pip")[1:] == (
        ["node"], {"fields": ["name,pip"]})


@pytest.mark.parametrize("path", [
    "/2/nosuch", "/3/info", "/2/info/", "/2/jobs/abc", "/2/jobs/1/2",
    "/2/instances/a/b", "/2/instances/i1/disk/x/grow", "/2/nodes/a/b/c",
    "//2/info", "/2/nodes/name with space", "/2/query/",
])
def test_unknown_paths_are_404(path):
    with pytest.raises(http.HttpNotFound):
        connector.Mapper().getController(path)


def test_write_access_defaults_and_exceptions():
    access = baserlib.GetHandlerAccess
    assert access(rlib2.R_2_info, "GET") == []
    assert access(rlib2.R_2_tags, "PUT") == ["write"]
    assert access(rlib2.R_2_instances, "POST") == ["write"]
    assert access(rlib2.R_2_jobs_id, "DELETE") == ["write"]
    assert access(rlib2.R_2_jobs_id_wait, "GET") == ["write"]
    assert access(rlib2.R_2_nodes_name_storage, "GET") == ["write"]
    assert sorted(access(rlib2.R_2_instances_name_console, "GET")) == [
        "read", "write"]
    assert sorted(access(rlib2.R_2_query, "GET")) == ["read", "write"]
    assert sorted(access(rlib2.R_2_query, "PUT")) == ["read", "write"]
    assert access(rlib2.R_2_query_fields, "GET") == []
