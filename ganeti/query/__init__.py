"""Query2: field tables, filters and the generic query engine.

The package mirrors Ganeti's lib/query.py, split by concern:

* common: field kinds (QFT_*), result statuses (RS_*), data kinds, flags,
  QueryFieldDefinition, FieldDef rows, _PrepareFieldList and shared getters;
* filter: the compiler turning a JSON filter into a predicate;
* engine: Query, GetQueryResponse, QueryFields;
* group, instance, job, locks, node: the field tables of those item types.

Other item types plug in by building a table with _PrepareFieldList (a
FieldDict, optionally with a resolver for parameterised names such as
"disk.size/3") and running Query over their own data container.
"""

from ganeti.query.common import (  # noqa: F401
    CQ_CONFIG,
    CQ_QUEUE_DRAINED,
    CQ_WATCHER_PAUSE,
    DOC_RE,
    FIELD_NAME_RE,
    GQ_CONFIG,
    GQ_DISKPARAMS,
    GQ_INST,
    GQ_NODE,
    IQ_CONFIG,
    IQ_CONSOLE,
    IQ_DISKUSAGE,
    IQ_LIVE,
    IQ_NETWORKS,
    IQ_NODES,
    JQ_ARCHIVED,
    LQ_MODE,
    LQ_OWNER,
    LQ_PENDING,
    NETQ_CONFIG,
    NETQ_GROUP,
    NETQ_INST,
    NETQ_STATS,
    NQ_CONFIG,
    NQ_GROUP,
    NQ_INST,
    NQ_LIVE,
    NQ_OOB,
    QFF_ALL,
    QFF_HOSTNAME,
    QFF_IP_ADDRESS,
    QFF_JOB_ID,
    QFF_SPLIT_TIMESTAMP,
    QFT_ALL,
    QFT_BOOL,
    QFT_NUMBER,
    QFT_NUMBER_FLOAT,
    QFT_OTHER,
    QFT_TEXT,
    QFT_TIMESTAMP,
    QFT_UNIT,
    QFT_UNKNOWN,
    QR_CLUSTER,
    QR_EXPORT,
    QR_EXTSTORAGE,
    QR_FILTER,
    QR_GROUP,
    QR_INSTANCE,
    QR_JOB,
    QR_LOCK,
    QR_NETWORK,
    QR_NODE,
    QR_OS,
    QR_VIA_LUXI,
    QR_VIA_OP,
    RS_ALL,
    RS_NODATA,
    RS_NORMAL,
    RS_OFFLINE,
    RS_UNAVAIL,
    RS_UNKNOWN,
    RSS_DESCRIPTION,
    TITLE_RE,
    CheckFieldDefinition,
    FieldDef,
    FieldDict,
    Getter,
    GetAllFields,
    LookupField,
    QueryFieldDefinition,
    _FS_ALL,
    _FS_NODATA,
    _FS_OFFLINE,
    _FS_UNAVAIL,
    _FS_UNKNOWN,
    _GetItemAttr,
    _GetItemCommonFields,
    _GetItemMaybeAttr,
    _GetItemTimestampFields,
    _MakeField,
    _PrepareFieldList,
    _ProcessResult,
    _VerifyResultRow,
)
from ganeti.query.engine import GetQueryResponse, Query, QueryFields  # noqa: F401
from ganeti.query.filter import _CompileFilter, _RequestedNames  # noqa: F401
from ganeti.query.group import (  # noqa: F401
    GROUP_FIELDS,
    GroupQueryData,
    MakeGroupQueryData,
)
from ganeti.query.instance import (  # noqa: F401
    INSTANCE_FIELDS,
    InstanceQueryData,
    MakeInstanceQueryData,
)
from ganeti.query.job import JOB_FIELDS  # noqa: F401
from ganeti.query.locks import LOCK_FIELDS  # noqa: F401
from ganeti.query.node import NODE_FIELDS, NodeQueryData  # noqa: F401

#: The field tables this package provides, by query resource.
ALL_FIELDS = {
    QR_GROUP: GROUP_FIELDS,
    QR_INSTANCE: INSTANCE_FIELDS,
    QR_JOB: JOB_FIELDS,
    QR_LOCK: LOCK_FIELDS,
    QR_NODE: NODE_FIELDS,
}
