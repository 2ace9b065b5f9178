"""OS definitions: the OS object and how a definition directory is read.

An OS definition is a directory <search dir>/<os name> holding the scripts
and text files described in ganeti-os-interface(7) (spec/hooks-and-os.md
section 2). This module is shared by both sides:

* the master side only splits "name+variant" (GetName, GetVariant) and
  builds OS objects from os_diagnose answers;
* the node side (ganeti.backend.os) reads definitions with LoadOS, which
  never raises for a broken definition: it returns an OS whose status is
  False and whose diagnose says what is wrong, so that `gnt-os diagnose`
  can show every candidate directory with its reason.

Mirrors Ganeti's objects.OS and backend._OSOndiskAPIVersion /
_TryOSFromDisk; the checks and their order follow Ganeti (api file first,
then the required files by API version, then the list files).
"""

from __future__ import annotations

import dataclasses
import errno
import os
import stat
from typing import Any

from ganeti import constants
from ganeti.utils.text import FilterEmptyLinesAndComments

OS_API_FILE = "ganeti_api_version"
OS_VARIANTS_FILE = "variants.list"
OS_PARAMETERS_FILE = "parameters.list"
# Ganeti 2.16+: a create script meant to run in a helper VM; an OS that has
# one is "untrusted".
OS_SCRIPT_CREATE_UNTRUSTED = "create_untrusted"
OS_SCRIPTS = (constants.OS_SCRIPT_CREATE, constants.OS_SCRIPT_IMPORT,
              constants.OS_SCRIPT_EXPORT, constants.OS_SCRIPT_RENAME,
              constants.OS_SCRIPT_VERIFY)
# The checks "verify" accepts as arguments (API 20 knows only one).
OS_VALIDATE_PARAMETERS = "parameters"
OS_VALIDATE_CALLS = frozenset([OS_VALIDATE_PARAMETERS])
# "debootstrap+default": OS name, delimiter, variant.
VARIANT_DELIM = "+"


def SplitNameVariant(name: str) -> tuple[str, str]:
    """Split "os+variant" into ("os", "variant"); the variant may be ""."""
    base, _, variant = name.partition(VARIANT_DELIM)
    return base, variant


def GetName(name: str) -> str:
    """The OS name without its variant ("debootstrap+default" -> "debootstrap")."""
    return SplitNameVariant(name)[0]


def GetVariant(name: str) -> str:
    """The variant part of an OS name, or "" when there is none."""
    return SplitNameVariant(name)[1]


@dataclasses.dataclass(frozen=True)
class OS:
    """One OS definition as found on a node.

    Attributes:
      name: the OS name (the directory's name, without variant).
      path: the directory.
      status: whether the definition is usable; if False only name, path
        and diagnose are meaningful.
      diagnose: why the definition is unusable ("" when status is True).
      api_versions: the versions of ganeti_api_version, in file order.
      supported_variants: the lines of variants.list (API >= 15).
      supported_parameters: (name, description) pairs of parameters.list
        (API >= 20).
      create_script, create_script_untrusted, export_script, import_script,
        rename_script, verify_script: absolute paths, None when absent
        (verify before API 20, create_untrusted usually).
      trusted: False when the OS has a create_untrusted script.
    """

    name: str
    path: str
    status: bool = True
    diagnose: str = ""
    api_versions: tuple[int, ...] = ()
    supported_variants: tuple[str, ...] = ()
    supported_parameters: tuple[tuple[str, str], ...] = ()
    create_script: str | None = None
    create_script_untrusted: str | None = None
    export_script: str | None = None
    import_script: str | None = None
    rename_script: str | None = None
    verify_script: str | None = None
    trusted: bool = True

    @property
    def api_version(self) -> int:
        """The highest API version both this OS and Ganeti speak (0 if none)."""
        common = constants.OS_API_VERSIONS.intersection(self.api_versions)
        return max(common) if common else 0

    def DiagnoseEntry(self) -> list[Any]:
        """This OS as one item of the os_diagnose RPC answer (spec/rpc.md).

        Returns:
          [name, path, status, diagnose, variants, [[param, doc], ...],
          api_versions, trusted].
        """
        return [self.name, self.path, self.status, self.diagnose,
                list(self.supported_variants),
                [list(param) for param in self.supported_parameters],
                list(self.api_versions), self.trusted]


def _Invalid(name: str, path: str, reason: str) -> OS:
    return OS(name=name, path=path, status=False, diagnose=reason)


def _ReadApiVersions(os_dir: str) -> tuple[list[int] | None, str]:
    """Read ganeti_api_version: (versions, "") or (None, reason)."""
    api_file = os.path.join(os_dir, OS_API_FILE)
    try:
        st = os.stat(api_file)
    except OSError as err:
        return None, (f"Required file '{OS_API_FILE}' not found under path"
                      f" {os_dir}: {err.strerror}")
    if not stat.S_ISREG(st.st_mode):
        return None, f"File '{OS_API_FILE}' in {os_dir} is not a regular file"
    try:
        with open(api_file, encoding="utf-8") as handle:
            lines = [line.strip() for line in handle.read().splitlines()]
    except (OSError, UnicodeDecodeError) as err:
        return None, f"Error while reading the API version file at {api_file}: {err}"
    versions = []
    for line in lines:
        if not line:
            continue
        try:
            versions.append(int(line))
        except ValueError:
            return None, (f"API version(s) can't be converted to integer: invalid"
                          f" line '{line}' in {api_file}")
    if not versions:
        return None, f"The API version file {api_file} lists no version"
    return versions, ""


def _RequiredFiles(api_versions: list[int]) -> dict[str, bool]:
    """The files an OS of these versions has: name -> required."""
    newest = max(api_versions)
    files = dict.fromkeys(OS_SCRIPTS, True)
    # Either create script will do; both missing is checked afterwards.
    files[constants.OS_SCRIPT_CREATE] = False
    files[OS_SCRIPT_CREATE_UNTRUSTED] = False
    if newest >= constants.OS_API_V15:
        files[OS_VARIANTS_FILE] = False
    if newest >= constants.OS_API_V20:
        files[OS_PARAMETERS_FILE] = True
    else:
        del files[constants.OS_SCRIPT_VERIFY]
    return files


def _CheckFiles(os_dir: str, files: dict[str, bool]) -> tuple[dict[str, str], str]:
    """Stat every file: ({name: path} of those present, "") or ({}, reason)."""
    found = {}
    for filename, required in files.items():
        path = os.path.join(os_dir, filename)
        try:
            st = os.stat(path)
        except OSError as err:
            if err.errno == errno.ENOENT and not required:
                continue
            return {}, (f"File '{filename}' under path '{os_dir}' is missing"
                        f" ({err.strerror})")
        if not stat.S_ISREG(st.st_mode):
            return {}, f"File '{filename}' under path '{os_dir}' is not a regular file"
        if filename in OS_SCRIPTS or filename == OS_SCRIPT_CREATE_UNTRUSTED:
            if not st.st_mode & stat.S_IXUSR:
                return {}, (f"File '{filename}' under path '{os_dir}' is not"
                            " executable")
        found[filename] = path
    if (constants.OS_SCRIPT_CREATE not in found
            and OS_SCRIPT_CREATE_UNTRUSTED not in found):
        return {}, (f"File '{constants.OS_SCRIPT_CREATE}' under path '{os_dir}' is"
                    f" missing (neither '{constants.OS_SCRIPT_CREATE}' nor"
                    f" '{OS_SCRIPT_CREATE_UNTRUSTED}' exists)")
    return found, ""


def _ReadLists(found: dict[str, str]) -> tuple[list[str], list[tuple[str, str]], str]:
    """Read variants.list and parameters.list: (variants, params, reason)."""
    variants: list[str] = []
    params: list[tuple[str, str]] = []
    path = found.get(OS_VARIANTS_FILE)
    if path is not None:
        try:
            with open(path, encoding="utf-8") as handle:
                variants = FilterEmptyLinesAndComments(handle.read())
        except (OSError, UnicodeDecodeError) as err:
            return [], [], f"Error while reading the OS variants file at {path}: {err}"
    path = found.get(OS_PARAMETERS_FILE)
    if path is not None:
        try:
            with open(path, encoding="utf-8") as handle:
                lines = FilterEmptyLinesAndComments(handle.read())
        except (OSError, UnicodeDecodeError) as err:
            return [], [], (f"Error while reading the OS parameters file at {path}:"
                            f" {err}")
        for line in lines:
            fields = line.split(None, 1)
            params.append((fields[0], fields[1].strip() if len(fields) > 1 else ""))
    return variants, params, ""


def FindOSDir(name: str, search_path: list[str]) -> str | None:
    """The first <dir>/<name> of search_path that is a directory, or None."""
    if not name or name in (".", "..") or "/" in name:
        return None
    for top in search_path:
        candidate = os.path.join(top, name)
        if os.path.isdir(candidate):
            return candidate
    return None


def LoadOS(name: str, search_path: list[str]) -> OS:
    """Read the OS definition `name` from the first directory that has it.

    Args:
      name: the OS name (a variant suffix is ignored).
      search_path: the directories to look in, in order.

    Returns:
      the OS; for a missing or broken definition an OS with status False
      and the reason in diagnose (never an exception).
    """
    name = GetName(name)
    os_dir = FindOSDir(name, search_path)
    if os_dir is None:
        return _Invalid(name, "", f"Directory for OS {name} not found in search"
                        " path")
    versions, reason = _ReadApiVersions(os_dir)
    if versions is None:
        return _Invalid(name, os_dir, reason)
    if not constants.OS_API_VERSIONS.intersection(versions):
        wanted = ", ".join(str(v) for v in sorted(constants.OS_API_VERSIONS))
        return _Invalid(name, os_dir, f"API version mismatch for path '{os_dir}':"
                        f" found {', '.join(map(str, versions))}, want {wanted}")
    found, reason = _CheckFiles(os_dir, _RequiredFiles(versions))
    if reason:
        return _Invalid(name, os_dir, reason)
    variants, params, reason = _ReadLists(found)
    if reason:
        return _Invalid(name, os_dir, reason)
    return OS(
        name=name, path=os_dir, api_versions=tuple(versions),
        supported_variants=tuple(variants), supported_parameters=tuple(params),
        create_script=found.get(constants.OS_SCRIPT_CREATE),
        create_script_untrusted=found.get(OS_SCRIPT_CREATE_UNTRUSTED),
        export_script=found.get(constants.OS_SCRIPT_EXPORT),
        import_script=found.get(constants.OS_SCRIPT_IMPORT),
        rename_script=found.get(constants.OS_SCRIPT_RENAME),
        verify_script=found.get(constants.OS_SCRIPT_VERIFY),
        trusted=OS_SCRIPT_CREATE_UNTRUSTED not in found)


def CheckVariant(os_obj: OS, name: str) -> str | None:
    """Check the variant part of name against the OS's declared variants.

    As Ganeti: an OS without variants.list accepts no variant; one with
    variants needs one, and it must be declared.

    Returns:
      None if name is acceptable, else the reason.
    """
    variant = GetVariant(name)
    if not os_obj.supported_variants:
        if variant:
            return f"OS '{os_obj.name}' does not support variants ('{variant}' passed)"
        return None
    if not variant:
        return (f"OS name '{name}' must include a variant (one of"
                f" {', '.join(os_obj.supported_variants)})")
    if variant not in os_obj.supported_variants:
        return (f"OS '{os_obj.name}' does not support variant '{variant}'"
                f" (supported: {', '.join(os_obj.supported_variants)})")
    return None
