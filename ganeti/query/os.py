"""Field table of the "os" query (OP_QUERY what=os, OP_OS_DIAGNOSE).

Names, titles, kinds and docs are Ganeti's (lib/query.py _BuildOsFields,
spec/query2.md section 6). The items are OsInfo records computed by the
master from every node's os_diagnose answer (ganeti.cmdlib.os); the query
only reads them, so no field needs extra data.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from ganeti.query.common import (
    QFT_BOOL,
    QFT_OTHER,
    QFT_TEXT,
    FieldDef,
    FieldDict,
    Getter,
    _GetItemAttr,
    _MakeField,
    _PrepareFieldList,
)
from ganeti.utils.text import NiceSort

#: One node's view of one OS: [path, status, diagnose, variants,
#: [[param, doc], ...], api_versions, trusted], first the one in use.
NodeOsEntry = list[Any]


@dataclasses.dataclass
class OsInfo:
    """What the cluster knows of one OS name (Ganeti's query.OsInfo).

    Attributes:
      name: the OS name (without variant).
      valid: whether the OS is valid on every queried node.
      hidden, blacklisted: whether the cluster lists it so.
      variants, parameters, api_versions: what all nodes agree on.
      node_status: node UUID -> that node's entries for the name (empty
        list: the node does not have it).
      os_hvp, osparams: the cluster's per "os+variant" hypervisor and OS
        parameters for the common variants.
      trusted: False if any node's definition is untrusted.
    """

    name: str
    valid: bool = True
    hidden: bool = False
    blacklisted: bool = False
    variants: list[str] = dataclasses.field(default_factory=list)
    parameters: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    api_versions: list[int] = dataclasses.field(default_factory=list)
    node_status: dict[str, list[NodeOsEntry]] = dataclasses.field(
        default_factory=dict)
    os_hvp: dict[str, Any] = dataclasses.field(default_factory=dict)
    osparams: dict[str, Any] = dataclasses.field(default_factory=dict)
    trusted: bool = True


def _Converted(convert: Callable[[Any], Any], attr: str) -> Getter:
    """A getter applying convert to an attribute of the item."""
    return lambda _ctx, item: convert(getattr(item, attr))


def _SortedParameters(params: list[Any]) -> list[list[str]]:
    return [list(param) for param in NiceSort(params, key=lambda p: p[0])]


def _BuildOsFields() -> FieldDict:
    """Build the os field table."""
    fields = [
        FieldDef(_MakeField("name", "Name", QFT_TEXT, "Operating system name"),
                 None, 0, _GetItemAttr("name")),
        FieldDef(_MakeField("valid", "Valid", QFT_BOOL,
                            "Whether operating system definition is valid"),
                 None, 0, _GetItemAttr("valid")),
        FieldDef(_MakeField("hidden", "Hidden", QFT_BOOL,
                            "Whether operating system is hidden"),
                 None, 0, _GetItemAttr("hidden")),
        FieldDef(_MakeField("blacklisted", "Blacklisted", QFT_BOOL,
                            "Whether operating system is blacklisted"),
                 None, 0, _GetItemAttr("blacklisted")),
        FieldDef(_MakeField("variants", "Variants", QFT_OTHER,
                            "Operating system variants"),
                 None, 0, _Converted(NiceSort, "variants")),
        FieldDef(_MakeField("api_versions", "ApiVersions", QFT_OTHER,
                            "Operating system API versions"),
                 None, 0, _Converted(sorted, "api_versions")),
        FieldDef(_MakeField("parameters", "Parameters", QFT_OTHER,
                            "Operating system parameters"),
                 None, 0, _Converted(_SortedParameters, "parameters")),
        FieldDef(_MakeField("node_status", "NodeStatus", QFT_OTHER,
                            "Status from node"),
                 None, 0, _GetItemAttr("node_status")),
        FieldDef(_MakeField("os_hvp", "OsHypervisorParams", QFT_OTHER,
                            "Operating system specific hypervisor parameters"),
                 None, 0, _GetItemAttr("os_hvp")),
        FieldDef(_MakeField("osparams", "OsParameters", QFT_OTHER,
                            "Operating system specific parameters"),
                 None, 0, _GetItemAttr("osparams")),
        FieldDef(_MakeField("trusted", "Trusted", QFT_BOOL,
                            "Whether this OS is trusted"),
                 None, 0, _GetItemAttr("trusted")),
    ]
    return _PrepareFieldList(fields, [])


#: Fields of the "os" query; the items are OsInfo records.
OS_FIELDS = _BuildOsFields()
