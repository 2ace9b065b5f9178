"""RAPI v2 cluster-level resources: /, /version, /2/info, /2/features, /2/os,
/2/redistribute-config, /2/modify, /2/query/*, /2/filters.

Class names are Ganeti's (lib/rapi/rlib2.py): they appear in the reason
trail of submitted opcodes ("gnt:library:rlib2:<name without R_2_>").
"""

from __future__ import annotations

import logging
from typing import Any

from ganeti import http, opcodes, rapi
from ganeti.rapi import baserlib

logger = logging.getLogger(__name__)

# Feature strings of GET /2/features (Ganeti's rlib2 ALL_FEATURES).
_INST_CREATE_REQV1 = "instance-create-reqv1"
_INST_REINSTALL_REQV1 = "instance-reinstall-reqv1"
_NODE_MIGRATE_REQV1 = "node-migrate-reqv1"
_NODE_EVAC_RES1 = "node-evac-res1"
# In the order a Ganeti 3.0.2 master lists them (samples/rapi-2-features.json).
ALL_FEATURES = (_NODE_MIGRATE_REQV1, _NODE_EVAC_RES1, _INST_CREATE_REQV1,
                _INST_REINSTALL_REQV1)

FILTER_RULE_FIELDS = ["watermark", "priority", "predicates", "action",
                      "reason_trail", "uuid"]

# Fields of the OS diagnose opcode behind GET /2/os?bulk=1.
OS_FIELDS_BULK = ["name", "valid", "variants", "parameters", "api_versions",
                  "blacklisted", "hidden", "trusted"]

_FILTER_PARAMS = frozenset(["priority", "predicates", "action", "reason"])


class R_root(baserlib.ResourceBase):
    """/ resource: answers null, for legacy clients."""

    @staticmethod
    def GET() -> None:
        return None


class R_2(R_root):
    """/2 resource: answers null."""


class R_version(baserlib.ResourceBase):
    """/version resource: the remote API version (2)."""

    @staticmethod
    def GET() -> int:
        return rapi.RAPI_VERSION


class R_2_info(baserlib.OpcodeResource):
    """/2/info resource: cluster information (LUXI QueryClusterInfo)."""

    GET_OPCODE = opcodes.OpClusterQuery
    GET_ALIASES = {
        "volume_group_name": "vg_name",
        "drbd_usermode_helper": "drbd_helper",
    }

    def GET(self) -> Any:
        return self.GetClient().QueryClusterInfo()


class R_2_features(baserlib.ResourceBase):
    """/2/features resource: optional RAPI features implemented."""

    @staticmethod
    def GET() -> list[str]:
        return list(ALL_FEATURES)


def _CalculateOSNames(name: str, variants: list[str] | None) -> list[str]:
    """"os+variant" for each variant, or just "os" (as cli.CalculateOSNames)."""
    if variants:
        return [f"{name}+{variant}" for variant in variants]
    return [name]


def _BulkOs(row: list[Any]) -> dict[str, Any]:
    data = baserlib.MapFields(OS_FIELDS_BULK, row)
    params = data.get("parameters") or []
    data["parameters"] = [{"name": pname, "description": pdesc}
                          for (pname, pdesc) in params]
    return data


class R_2_os(baserlib.OpcodeResource):
    """/2/os resource: the OS definitions, from an OS diagnose job.

    The job is waited for; a failed job answers with its error (500).
    """

    GET_OPCODE = opcodes.OpOsDiagnose

    def GET(self) -> list[Any]:
        from ganeti import cli  # heavy; only this resource needs it

        bulk = self.useBulk()
        fields = OS_FIELDS_BULK if bulk else ["name", "variants"]
        cl = self.GetClient()
        op = baserlib.FillOpcode(opcodes.OpOsDiagnose, {},
                                 dict(self._GetCommonStatic(),
                                      output_fields=fields, names=[]))
        job_id = self.SubmitJob([op], cl=cl)
        result = cli.PollJob(job_id, cl, feedback_fn=_FeedbackFn)
        diagnose_data = result[0] if result else None
        if not isinstance(diagnose_data, list):
            raise baserlib.HttpBadGateway("Can't get OS list")
        if bulk:
            return [_BulkOs(row) for row in diagnose_data]
        names: list[str] = []
        for (name, variants) in diagnose_data:
            names.extend(_CalculateOSNames(name, variants))
        return names


def _FeedbackFn(msg: Any) -> None:
    """Log the messages of jobs the daemon waits for (it has no terminal)."""
    try:
        (_, log_type, log_msg) = msg
    except (TypeError, ValueError):
        log_type, log_msg = "message", msg
    logger.info("%s: %s", log_type, log_msg)


class R_2_redist_config(baserlib.OpcodeResource):
    """/2/redistribute-config resource."""

    PUT_OPCODE = opcodes.OpClusterRedistConf


class R_2_cluster_modify(baserlib.OpcodeResource):
    """/2/modify resource: change cluster parameters."""

    PUT_OPCODE = opcodes.OpClusterSetParams
    PUT_FORBIDDEN = ["compression_tools"]


def _GetQueryFields(args: dict[str, list[str]]) -> list[str]:
    """The fields= query argument, split.

    Raises:
      http.HttpBadRequest: the argument is missing.
    """
    try:
        fields = args["fields"]
    except KeyError:
        raise http.HttpBadRequest("Missing 'fields' query argument") from None
    return _SplitQueryFields(fields[0])


def _SplitQueryFields(fields: str) -> list[str]:
    return [name.strip() for name in fields.split(",")]


class R_2_query(baserlib.ResourceBase):
    """/2/query/[resource] resource: query2 (LUXI Query)."""

    # Results may contain sensitive information.
    GET_ACCESS = [rapi.RAPI_ACCESS_WRITE, rapi.RAPI_ACCESS_READ]
    PUT_ACCESS = GET_ACCESS
    GET_OPCODE = opcodes.OpQuery
    PUT_OPCODE = opcodes.OpQuery

    def _Query(self, fields: Any, qfilter: Any) -> Any:
        baserlib.CheckType(fields, list, "'fields' parameter")
        return self.GetClient().Query(self.items[0], fields, qfilter)

    def GET(self) -> Any:
        return self._Query(_GetQueryFields(self.queryargs), None)

    def PUT(self) -> Any:
        body = baserlib.CheckType(self.request_body, dict, "Body contents")
        if "fields" in body:
            fields = body["fields"]
        else:
            fields = _GetQueryFields(self.queryargs)
        qfilter = body.get("qfilter")
        if qfilter is None:
            # Legacy name (Ganeti 2.6 and earlier clients).
            qfilter = body.get("filter")
        return self._Query(fields, qfilter)


class R_2_query_fields(baserlib.ResourceBase):
    """/2/query/[resource]/fields resource: field definitions."""

    GET_OPCODE = opcodes.OpQueryFields

    def GET(self) -> Any:
        raw = self.queryargs.get("fields")
        fields = _SplitQueryFields(raw[0]) if raw else None
        return self.GetClient().QueryFields(self.items[0], fields)


def CheckFilterParameters(data: Any) -> tuple[int, list[Any], Any, list[Any]]:
    """Check the body of a filter rule request.

    Returns:
      (priority, predicates, action, reason).

    Raises:
      http.HttpBadRequest: not an object, an unknown key or a wrong type.
    """
    if not isinstance(data, dict):
        raise http.HttpBadRequest("Invalid body contents, not a dictionary")
    for param in data:
        if param not in _FILTER_PARAMS:
            raise http.HttpBadRequest("Invalid body parameters: filter rule"
                                      f" doesn't support the parameter '{param}'")
    priority = baserlib.CheckParameter(data, "priority", exptype=int, default=0)
    predicates = baserlib.CheckParameter(data, "predicates", exptype=list,
                                         default=[])
    action = baserlib.CheckParameter(data, "action", default="CONTINUE")
    reason = baserlib.CheckParameter(data, "reason", exptype=list, default=[])
    return (priority, predicates, action, reason)


class R_2_filters(baserlib.ResourceBase):
    """/2/filters resource: job filter rules."""

    def GET(self) -> list[Any]:
        client = self.GetClient()
        if self.useBulk():
            rows = client.QueryFilters(None, FILTER_RULE_FIELDS)
            return baserlib.MapBulkFields(rows, FILTER_RULE_FIELDS)
        uuids = [row[0] for row in client.QueryFilters(None, ["uuid"])]
        return baserlib.BuildUriList(uuids, "/2/filters/%s",
                                     uri_fields=("uuid", "uri"))

    def POST(self) -> Any:
        (priority, predicates, action, reason) = \
            CheckFilterParameters(self.request_body)
        return self.GetClient().ReplaceFilter(None, priority, predicates, action,
                                              reason)


class R_2_filters_uuid(baserlib.ResourceBase):
    """/2/filters/[filter_uuid] resource."""

    def GET(self) -> dict[str, Any]:
        result = baserlib.HandleItemQueryErrors(
            self.GetClient().QueryFilters, [self.items[0]], FILTER_RULE_FIELDS)
        if result[0] is None:
            raise http.HttpNotFound(f"Filter rule {self.items[0]} not found")
        return baserlib.MapFields(FILTER_RULE_FIELDS, result[0])

    def PUT(self) -> Any:
        (priority, predicates, action, reason) = \
            CheckFilterParameters(self.request_body)
        return self.GetClient().ReplaceFilter(self.items[0], priority, predicates,
                                              action, reason)

    def DELETE(self) -> Any:
        return self.GetClient().DeleteFilter(self.items[0])
