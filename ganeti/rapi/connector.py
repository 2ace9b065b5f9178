"""The RAPI URL map: request path -> resource class (Ganeti's connector.py).

Paths without variable parts are looked up in a dict; the others are
anchored regular expressions whose groups become the resource's `items`
(names, job ids, disk indices). Names match [\\w._-]+ as in Ganeti, so a
name never contains "/" and the patterns cannot overlap. The path is
matched as sent, without percent-decoding, as Ganeti does; the query
string is decoded with urllib.parse.parse_qs (blank values dropped).
"""

from __future__ import annotations

import re
import urllib.parse
from typing import Any

from ganeti import http
from ganeti.rapi import rlib2

_NAME_PATTERN = r"[\w\._-]+"
_DISK_PATTERN = r"\d+"
_JOB_ID_PATTERN = r"\d+"

Handlers = tuple[dict[str, type], list[tuple[re.Pattern[str], type]]]


class UriPattern:
    """A variable part of a path; becomes a regular expression group."""

    __slots__ = ["content"]

    def __init__(self, content: str) -> None:
        self.content = content


def _CompileHandlerPath(*parts: str | UriPattern) -> re.Pattern[str]:
    regex = "".join(f"({part.content})" if isinstance(part, UriPattern)
                    else re.escape(part) for part in parts)
    return re.compile(f"^{regex}$")


def _Items(name: UriPattern, prefix: str,
           suffixes: list[tuple[str, type]]) -> list[tuple[re.Pattern[str], type]]:
    """Patterns "<prefix><name><suffix>" for each (suffix, handler)."""
    return [(_CompileHandlerPath(prefix, name, suffix), handler)
            for (suffix, handler) in suffixes]


def GetHandlers(node_name_pattern: str = _NAME_PATTERN,
                instance_name_pattern: str = _NAME_PATTERN,
                group_name_pattern: str = _NAME_PATTERN,
                network_name_pattern: str = _NAME_PATTERN,
                job_id_pattern: str = _JOB_ID_PATTERN,
                disk_pattern: str = _DISK_PATTERN,
                filter_pattern: str = _NAME_PATTERN,
                query_res_pattern: str = _NAME_PATTERN) -> Handlers:
    """Every RAPI resource and its handler class.

    Returns:
      (fixed path -> handler, [(compiled pattern, handler)]).
    """
    node = UriPattern(node_name_pattern)
    inst = UriPattern(instance_name_pattern)
    group = UriPattern(group_name_pattern)
    net = UriPattern(network_name_pattern)
    job = UriPattern(job_id_pattern)
    disk = UriPattern(disk_pattern)
    fuuid = UriPattern(filter_pattern)
    qres = UriPattern(query_res_pattern)
    fixed: dict[str, type] = {
        "/": rlib2.R_root,
        "/2": rlib2.R_2,
        "/version": rlib2.R_version,
        "/2/nodes": rlib2.R_2_nodes,
        "/2/instances": rlib2.R_2_instances,
        "/2/instances-multi-alloc": rlib2.R_2_instances_multi_alloc,
        "/2/networks": rlib2.R_2_networks,
        "/2/groups": rlib2.R_2_groups,
        "/2/jobs": rlib2.R_2_jobs,
        "/2/tags": rlib2.R_2_tags,
        "/2/info": rlib2.R_2_info,
        "/2/os": rlib2.R_2_os,
        "/2/redistribute-config": rlib2.R_2_redist_config,
        "/2/features": rlib2.R_2_features,
        "/2/modify": rlib2.R_2_cluster_modify,
        "/2/filters": rlib2.R_2_filters,
    }
    patterns = _Items(node, "/2/nodes/", [
        ("", rlib2.R_2_nodes_name),
        ("/powercycle", rlib2.R_2_nodes_name_powercycle),
        ("/tags", rlib2.R_2_nodes_name_tags),
        ("/role", rlib2.R_2_nodes_name_role),
        ("/evacuate", rlib2.R_2_nodes_name_evacuate),
        ("/migrate", rlib2.R_2_nodes_name_migrate),
        ("/modify", rlib2.R_2_nodes_name_modify),
        ("/storage", rlib2.R_2_nodes_name_storage),
        ("/storage/modify", rlib2.R_2_nodes_name_storage_modify),
        ("/storage/repair", rlib2.R_2_nodes_name_storage_repair),
    ])
    patterns += _Items(inst, "/2/instances/", [
        ("", rlib2.R_2_instances_name),
        ("/info", rlib2.R_2_instances_name_info),
        ("/tags", rlib2.R_2_instances_name_tags),
        ("/reboot", rlib2.R_2_instances_name_reboot),
        ("/reinstall", rlib2.R_2_instances_name_reinstall),
        ("/replace-disks", rlib2.R_2_instances_name_replace_disks),
        ("/shutdown", rlib2.R_2_instances_name_shutdown),
        ("/startup", rlib2.R_2_instances_name_startup),
        ("/activate-disks", rlib2.R_2_instances_name_activate_disks),
        ("/deactivate-disks", rlib2.R_2_instances_name_deactivate_disks),
        ("/recreate-disks", rlib2.R_2_instances_name_recreate_disks),
        ("/prepare-export", rlib2.R_2_instances_name_prepare_export),
        ("/export", rlib2.R_2_instances_name_export),
        ("/migrate", rlib2.R_2_instances_name_migrate),
        ("/failover", rlib2.R_2_instances_name_failover),
        ("/rename", rlib2.R_2_instances_name_rename),
        ("/modify", rlib2.R_2_instances_name_modify),
        ("/console", rlib2.R_2_instances_name_console),
    ])
    patterns.append((_CompileHandlerPath("/2/instances/", inst, "/disk/", disk,
                                         "/grow"),
                     rlib2.R_2_instances_name_disk_grow))
    patterns += _Items(net, "/2/networks/", [
        ("", rlib2.R_2_networks_name),
        ("/connect", rlib2.R_2_networks_name_connect),
        ("/disconnect", rlib2.R_2_networks_name_disconnect),
        ("/modify", rlib2.R_2_networks_name_modify),
        ("/rename", rlib2.R_2_networks_name_rename),
        ("/tags", rlib2.R_2_networks_name_tags),
    ])
    patterns += _Items(group, "/2/groups/", [
        ("", rlib2.R_2_groups_name),
        ("/modify", rlib2.R_2_groups_name_modify),
        ("/rename", rlib2.R_2_groups_name_rename),
        ("/assign-nodes", rlib2.R_2_groups_name_assign_nodes),
        ("/tags", rlib2.R_2_groups_name_tags),
    ])
    patterns += _Items(job, "/2/jobs/", [
        ("", rlib2.R_2_jobs_id),
        ("/wait", rlib2.R_2_jobs_id_wait),
    ])
    patterns += _Items(qres, "/2/query/", [
        ("", rlib2.R_2_query),
        ("/fields", rlib2.R_2_query_fields),
    ])
    patterns += _Items(fuuid, "/2/filters/", [("", rlib2.R_2_filters_uuid)])
    return fixed, patterns


class Mapper:
    """Maps a request URI to (handler class, path items, query arguments)."""

    def __init__(self, connector: Handlers | None = None) -> None:
        """Initialise the mapper (with the standard handlers by default)."""
        (self._fixed, self._patterns) = connector or GetHandlers()

    def getController(self, uri: str) -> tuple[type, list[str],
                                               dict[str, list[str]]]:
        """Find the handler of a request URI.

        Returns:
          (handler class, the path's variable parts, query arguments as
          name -> list of values).

        Raises:
          http.HttpNotFound: no resource has that path.
        """
        (path, _, query) = uri.partition("?")
        args: dict[str, Any] = urllib.parse.parse_qs(query) if query else {}
        handler = self._fixed.get(path)
        if handler is not None:
            return (handler, [], args)
        for (pattern, handler) in self._patterns:
            match = pattern.fullmatch(path)
            if match:
                return (handler, list(match.groups()), args)
        raise http.HttpNotFound()
