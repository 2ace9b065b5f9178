"""Text helpers: sorting, units, quoting, MAC addresses, time formatting.

Behaviour follows Ganeti's lib/utils/text.py: sizes are MiB integers,
ParseUnit rounds up to a multiple of 4 MiB (LVM's extent granularity), and
FormatUnit's "h" mode prints "500M", "1.0G", "2.5T".
"""

from __future__ import annotations

import numbers
import os
import re
import time
from typing import TypeVar
from collections.abc import Callable, Iterable

from ganeti import errors

T = TypeVar("T")

_SORTER_RE = re.compile(r"(\d+|\D+)")

# A number (with an optional fraction), optional blanks, an optional unit.
_PARSEUNIT_RE = re.compile(r"^(\d+(?:\.\d*)?|\.\d+)\s*([a-zA-Z]+)?$")

# Multipliers to MiB for ParseUnit (lower-case unit names).
_UNIT_FACTORS: dict[str, int] = {
    "m": 1, "mb": 1, "mib": 1,
    "g": 1024, "gb": 1024, "gib": 1024,
    "t": 1024 * 1024, "tb": 1024 * 1024, "tib": 1024 * 1024,
}

# Arguments made of these characters need no shell quoting.
_SHELL_UNQUOTED_RE = re.compile(r"^[-.,=:/_+@A-Za-z0-9]+$")

# Words that are safe to put into a shell command unquoted (BuildShellCmd).
_SHELLPARAM_RE = re.compile(r"^[-a-zA-Z0-9._+/:%@]+$")

_MAC_RE = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$", re.IGNORECASE)
_MAC_PREFIX_RE = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){2}$", re.IGNORECASE)

_ELLIPSIS = "..."


def _NiceSortKey(value: str) -> tuple[tuple[int, int | str], ...]:
    parts = _SORTER_RE.findall(value)
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in parts)


def NiceSort(values: Iterable[T], key: Callable[[T], str] | None = None) -> list[T]:
    """Sort so that embedded numbers compare numerically (node2 < node10)."""
    if key is None:
        return sorted(values, key=lambda v: _NiceSortKey(str(v)))
    return sorted(values, key=lambda v: _NiceSortKey(key(v)))


def FormatUnit(value: float, units: str) -> str:
    """Format a size given in MiB.

    Args:
      value: the size in MiB.
      units: "m", "g" or "t" for a plain number in that unit (MiB without
        decimals, GiB/TiB with one), or "h" to pick the unit and append its
        suffix ("500M", "1.0G", "2.5T"). Upper-case letters mean the same.

    Raises:
      errors.ProgrammerError: unknown unit or a non-numeric value.
    """
    unit = units.lower() if isinstance(units, str) else units
    if unit not in ("h", "m", "g", "t"):
        raise errors.ProgrammerError(f"Invalid unit specified '{units}'")
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise errors.ProgrammerError(
            f"Invalid value specified '{value}' ({type(value).__name__})")
    if unit == "m" or (unit == "h" and value < 1024):
        return f"{value:.0f}" + ("M" if unit == "h" else "")
    if unit == "g" or (unit == "h" and value < 1024 * 1024):
        return f"{value / 1024:.1f}" + ("G" if unit == "h" else "")
    return f"{value / (1024 * 1024):.1f}" + ("T" if unit == "h" else "")


def ParseUnit(input_string: str | int | float) -> int:
    """Parse a size such as "512", "10G", "1.5 TiB" into MiB.

    No unit means MiB. The result is rounded up to a whole MiB and then up to
    a multiple of 4 MiB, as Ganeti does.

    Raises:
      errors.UnitParseError: the text is not a non-negative number followed by
        an optional unit m/mb/mib, g/gb/gib or t/tb/tib (any case).
    """
    text = str(input_string).strip()
    match = _PARSEUNIT_RE.match(text)
    if not match:
        raise errors.UnitParseError(
            f"Invalid size '{input_string}': expected a number with an optional"
            " unit (M, G or T)")
    number, unit = match.groups()
    factor = _UNIT_FACTORS.get((unit or "m").lower())
    if factor is None:
        raise errors.UnitParseError(
            f"Unknown unit '{unit}' in size '{input_string}' (use M, G or T)")
    value = float(number) * factor
    mib = int(value)
    if mib < value:
        mib += 1
    if mib % 4:
        mib += 4 - mib % 4
    return mib


def ShellQuote(value: str) -> str:
    """Quote one argument for a POSIX shell (unchanged if it needs none)."""
    if _SHELL_UNQUOTED_RE.match(value):
        return value
    return "'" + value.replace("'", "'\\''") + "'"


def ShellQuoteArgs(args: Iterable[str]) -> str:
    """Quote every argument and join them with spaces."""
    return " ".join(ShellQuote(arg) for arg in args)


def ShellCombineCommands(cmdlist: Iterable[list[str]]) -> list[str]:
    """Build one /bin/sh command running the commands joined with &&."""
    return ["/bin/sh", "-c", " && ".join(ShellQuoteArgs(cmd) for cmd in cmdlist)]


def IsValidShellParam(word: str) -> bool:
    """Whether word can be passed to a shell unquoted without changing meaning."""
    return bool(_SHELLPARAM_RE.match(word))


def BuildShellCmd(template: str, *args: str) -> str:
    """Return template % args after checking every arg is shell-safe.

    Raises:
      errors.ProgrammerError: an argument contains shell metacharacters.
    """
    for word in args:
        if not IsValidShellParam(word):
            raise errors.ProgrammerError(
                f"Shell argument '{word}' contains invalid characters")
    return template % args


def _CheckMac(check_re: re.Pattern[str], mac: str, what: str) -> str:
    if isinstance(mac, str) and check_re.match(mac):
        return mac.lower()
    raise errors.OpPrereqError(f"Invalid {what} '{mac}'", errors.ECODE_INVAL)


def NormalizeAndValidateMac(mac: str) -> str:
    """Check a colon-separated six-octet MAC address and lower-case it.

    Raises:
      errors.OpPrereqError: (ECODE_INVAL) the MAC address is malformed.
    """
    return _CheckMac(_MAC_RE, mac, "MAC address")


def NormalizeAndValidateThreeOctetMacPrefix(mac: str) -> str:
    """Check a three-octet MAC prefix ("aa:00:00") and lower-case it.

    Raises:
      errors.OpPrereqError: (ECODE_INVAL) the prefix is malformed.
    """
    return _CheckMac(_MAC_PREFIX_RE, mac, "MAC address prefix")


def SafeEncode(text: str) -> str:
    """Return text with non-printable and non-ASCII characters escaped.

    Tab, newline and carriage return become \\t, \\n, \\r; other control
    characters \\xNN; non-ASCII characters their backslash escapes. Printable
    ASCII (including quotes and backslashes) is kept, so the result is safe to
    log or print and stays stable when encoded again.
    """
    if not isinstance(text, str):
        raise errors.ProgrammerError("Only str can be SafeEncoded")
    ascii_text = text.encode("ascii", "backslashreplace").decode("ascii")
    out = []
    for char in ascii_text:
        code = ord(char)
        if char == "\t":
            out.append("\\t")
        elif char == "\n":
            out.append("\\n")
        elif char == "\r":
            out.append("\\r")
        elif code < 32 or code >= 127:
            out.append(f"\\x{code:02x}")
        else:
            out.append(char)
    return "".join(out)


def MatchNameComponent(key: str, name_list: Iterable[str],
                       case_sensitive: bool = True) -> str | None:
    """Find the one name in name_list that key abbreviates.

    "node1" and "node1.example" match "node1.example.com", but "node1.ex"
    does not (matching is by whole dot-separated components). An exact
    match wins; several partial matches count as no match.

    Returns:
      the matching name from name_list, or None.
    """
    names = list(name_list)
    if key in names:
        return key
    flags = 0 if case_sensitive else re.IGNORECASE
    name_re = re.compile(rf"^{re.escape(key)}(\..*)?$", flags)
    partial = [name for name in names if name_re.match(name)]
    if not case_sensitive:
        exact = [name for name in partial if name.upper() == key.upper()]
        if len(exact) == 1:
            return exact[0]
    if len(partial) == 1:
        return partial[0]
    return None


def UnescapeAndSplit(text: str, sep: str = ",") -> list[str]:
    r"""Split text at sep, where "\sep" is a literal sep and "\\" a backslash."""
    pieces = text.split(sep)
    result: list[str] = []
    while pieces:
        piece = pieces.pop(0)
        trailing = len(piece) - len(piece.rstrip("\\"))
        if trailing % 2 == 1 and pieces:
            # An odd number of backslashes escapes the separator: glue the next
            # piece on and look at the result again.
            pieces.insert(0, piece + sep + pieces.pop(0))
            continue
        result.append(piece)
    return [re.sub(r"\\(.)", r"\1", piece) for piece in result]


def EscapeAndJoin(slist: Iterable[str], sep: str = ",") -> str:
    """Join strings so that UnescapeAndSplit gives them back."""
    return sep.join(
        value.replace("\\", "\\\\").replace(sep, "\\" + sep) for value in slist)


def CommaJoin(names: Iterable[object]) -> str:
    """Join values with ", "."""
    return ", ".join(str(name) for name in names)


def FormatTime(val: float | None, usecs: int | None = None) -> str:
    """Format a UNIX timestamp as local "YYYY-MM-DD HH:MM:SS[.uuuuuu]".

    Returns:
      the formatted time, or "N/A" when val is None or not a number.
    """
    if isinstance(val, bool) or not isinstance(val, (int, float)):
        return "N/A"
    result = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(val))
    if usecs is not None:
        result += f".{usecs:06d}"
    return result


def FormatSeconds(secs: float) -> str:
    """Format a duration as e.g. "2d 9h 19m 49s" (leading zero units omitted)."""
    remaining = int(round(secs))
    parts: list[str] = []
    if remaining > 0:
        for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
            count, remaining = divmod(remaining, size)
            if count or parts:
                parts.append(f"{count}{unit}")
    parts.append(f"{remaining}s")
    return " ".join(parts)


def FormatOrdinal(value: int) -> str:
    """English ordinal: 1 -> "1st", 22 -> "22nd", 13 -> "13th"."""
    if 10 < value % 100 < 20:
        suffix = "th"
    else:
        suffix = {1: "st", 2: "nd", 3: "rd"}.get(value % 10, "th")
    return f"{value}{suffix}"


def Truncate(text: object, length: int) -> str:
    """Cut text to at most length characters, ending in "..." if cut."""
    if length <= len(_ELLIPSIS):
        raise errors.ProgrammerError(f"Truncation length {length} too small")
    text = str(text)
    if len(text) <= length:
        return text
    return text[:length - len(_ELLIPSIS)] + _ELLIPSIS


def FilterEmptyLinesAndComments(text: str) -> list[str]:
    """Stripped lines of text, without empty lines and "#" comments."""
    lines = (line.strip() for line in text.splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def FormatKeyValue(data: dict[str, object]) -> list[str]:
    """["key=value", ...] sorted by key."""
    return [f"{key}={value}" for key, value in sorted(data.items())]


def GenerateSecret(numbytes: int = 20) -> str:
    """Random secret as hex (20 bytes by default, the length of a SHA1)."""
    return os.urandom(numbytes).hex()
