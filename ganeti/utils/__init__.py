"""Utility functions, split by area; the common ones are re-exported here."""

from ganeti.utils.io import (  # noqa: F401
    EnsureDirs,
    IsBelowDir,
    ReadBinaryFile,
    ReadFile,
    ReadOneLineFile,
    RemoveFile,
    WriteFile,
)
