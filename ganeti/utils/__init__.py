"""Utility functions, split by area; the common ones are re-exported here."""

from ganeti.utils.filelock import FileLock  # noqa: F401
from ganeti.utils.io import (  # noqa: F401
    EnsureDirs,
    IsBelowDir,
    ReadBinaryFile,
    ReadFile,
    ReadOneLineFile,
    RemoveFile,
    WriteFile,
)
from ganeti.utils.process import (  # noqa: F401
    CloseFDs,
    Daemonize,
    IsProcessAlive,
    KillProcess,
    ReadPidFile,
    RemovePidFile,
    RunCmd,
    RunParts,
    RunResult,
    StartDaemon,
    WriteErrorToFD,
    WritePidFile,
)
from ganeti.utils.retry import (  # noqa: F401
    Retry,
    RetryAgain,
    RetryTimeout,
    SimpleRetry,
)
from ganeti.utils.text import (  # noqa: F401
    CommaJoin,
    FormatSeconds,
    FormatTime,
    FormatUnit,
    MatchNameComponent,
    NiceSort,
    NormalizeAndValidateMac,
    ParseUnit,
    SafeEncode,
    ShellQuote,
    ShellQuoteArgs,
)
