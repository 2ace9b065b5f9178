"""RAPI version 2 resources (Ganeti's lib/rapi/rlib2.py), by area.

The resources live in rlib2_cluster, rlib2_jobs, rlib2_nodes,
rlib2_instances, rlib2_groups (groups and networks) and rlib2_tags; this
module gathers them under Ganeti's names for the URL map (connector.py).

PUT or POST? As in Ganeti: PUT acts on the entity the URI names (startup,
modify, rename...), POST asks the resource to do something new, such as
creating an instance under /2/instances or evacuating a node.
"""

from __future__ import annotations

from ganeti.rapi.rlib2_cluster import (  # noqa: F401
    ALL_FEATURES,
    FILTER_RULE_FIELDS,
    R_2,
    R_2_cluster_modify,
    R_2_features,
    R_2_filters,
    R_2_filters_uuid,
    R_2_info,
    R_2_os,
    R_2_query,
    R_2_query_fields,
    R_2_redist_config,
    R_root,
    R_version,
)
from ganeti.rapi.rlib2_groups import (  # noqa: F401
    G_FIELDS,
    NET_FIELDS,
    R_2_groups,
    R_2_groups_name,
    R_2_groups_name_assign_nodes,
    R_2_groups_name_modify,
    R_2_groups_name_rename,
    R_2_networks,
    R_2_networks_name,
    R_2_networks_name_connect,
    R_2_networks_name_disconnect,
    R_2_networks_name_modify,
    R_2_networks_name_rename,
)
from ganeti.rapi.rlib2_instances import (  # noqa: F401
    I_FIELDS,
    R_2_instances,
    R_2_instances_multi_alloc,
    R_2_instances_name,
    R_2_instances_name_activate_disks,
    R_2_instances_name_console,
    R_2_instances_name_deactivate_disks,
    R_2_instances_name_disk_grow,
    R_2_instances_name_export,
    R_2_instances_name_failover,
    R_2_instances_name_info,
    R_2_instances_name_migrate,
    R_2_instances_name_modify,
    R_2_instances_name_prepare_export,
    R_2_instances_name_reboot,
    R_2_instances_name_recreate_disks,
    R_2_instances_name_reinstall,
    R_2_instances_name_rename,
    R_2_instances_name_replace_disks,
    R_2_instances_name_shutdown,
    R_2_instances_name_startup,
)
from ganeti.rapi.rlib2_jobs import (  # noqa: F401
    J_FIELDS,
    J_FIELDS_BULK,
    R_2_jobs,
    R_2_jobs_id,
    R_2_jobs_id_wait,
)
from ganeti.rapi.rlib2_nodes import (  # noqa: F401
    N_FIELDS,
    R_2_nodes,
    R_2_nodes_name,
    R_2_nodes_name_evacuate,
    R_2_nodes_name_migrate,
    R_2_nodes_name_modify,
    R_2_nodes_name_powercycle,
    R_2_nodes_name_role,
    R_2_nodes_name_storage,
    R_2_nodes_name_storage_modify,
    R_2_nodes_name_storage_repair,
)
from ganeti.rapi.rlib2_tags import (  # noqa: F401
    R_2_groups_name_tags,
    R_2_instances_name_tags,
    R_2_networks_name_tags,
    R_2_nodes_name_tags,
    R_2_tags,
)
