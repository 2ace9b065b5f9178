"""The logical units, one per opcode (Ganeti's lib/cmdlib).

mcpu finds the LU of an opcode by name in this package's namespace
(OpTestDelay -> LUTestDelay), so every module's LUs are re-exported here.
"""

from ganeti.cmdlib.base import (  # noqa: F401
    LOCKS_APPEND,
    LOCKS_REPLACE,
    LogicalUnit,
    NoHooksLU,
    ResultWithJobs,
    Tasklet,
)
from ganeti.cmdlib.cluster import (  # noqa: F401
    LUClusterConfigQuery,
    LUClusterDestroy,
    LUClusterPostInit,
    LUClusterQuery,
    LUClusterRedistConf,
)
from ganeti.cmdlib.query import LUQuery, LUQueryFields  # noqa: F401
from ganeti.cmdlib.tags import (  # noqa: F401
    LUTagsDel,
    LUTagsGet,
    LUTagsSearch,
    LUTagsSet,
)
from ganeti.cmdlib.test import LUTestDelay, LUTestJqueue  # noqa: F401
