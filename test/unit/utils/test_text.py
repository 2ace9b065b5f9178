"""Tests for ganeti.utils.text."""

from __future__ import annotations

import subprocess
import time

import pytest

from ganeti import errors
from ganeti.utils import text


def test_nice_sort_orders_numbers_numerically():
    assert text.NiceSort(["node10", "node2", "node1", "a"]) == (
        ["a", "node1", "node2", "node10"])
    items = [{"n": "disk/10"}, {"n": "disk/9"}]
    assert text.NiceSort(items, key=lambda i: i["n"]) == [items[1], items[0]]


@pytest.mark.parametrize("value, units, expected", [
    (1024, "h", "1.0G"),
    (500, "h", "500M"),
    (1023, "h", "1023M"),
    (1536, "h", "1.5G"),
    (1024, "m", "1024"),
    (1536, "g", "1.5"),
    (512, "g", "0.5"),
    (int(2.5 * 1024 * 1024), "h", "2.5T"),
    (1024 * 1024, "t", "1.0"),
    (1024, "H", "1.0G"),
    (300, "M", "300"),
])
def test_format_unit(value, units, expected):
    assert text.FormatUnit(value, units) == expected


def test_format_unit_rejects_bad_input():
    with pytest.raises(errors.ProgrammerError, match="Invalid unit"):
        text.FormatUnit(1, "k")
    with pytest.raises(errors.ProgrammerError, match="Invalid value"):
        text.FormatUnit("12", "m")


@pytest.mark.parametrize("value, expected", [
    ("512", 512), ("10G", 10240), ("10g", 10240), ("1.5g", 1536),
    ("1.5 GiB", 1536), ("3", 4), ("1.1", 4), ("0.5t", 524288), ("2TB", 2097152),
    ("5 mb", 8), (100, 100), ("0", 0), (".5G", 512),
])
def test_parse_unit(value, expected):
    assert text.ParseUnit(value) == expected


@pytest.mark.parametrize("value, message", [
    ("", "Invalid size"), ("abc", "Invalid size"), ("-5", "Invalid size"),
    ("1.2.3", "Invalid size"), ("10X", "Unknown unit 'X'"),
    ("4 kb", "Unknown unit"),
])
def test_parse_unit_errors(value, message):
    with pytest.raises(errors.UnitParseError, match=message):
        text.ParseUnit(value)


def test_format_and_parse_round_trip():
    for mib in (4, 1024, 4096, 10240):
        assert text.ParseUnit(text.FormatUnit(mib, "h")) == mib


@pytest.mark.parametrize("args", [
    ["plain", "with space", "it's", "$HOME", "a\"b", "", "*", "new\nline"],
    ["--opt=1,2:3/4@x"],
])
def test_shell_quote_args_survive_a_real_shell(args):
    quoted = text.ShellQuoteArgs(args)
    result = subprocess.run(["/bin/sh", "-c", f"printf '%s\\0' {quoted}"],
                            capture_output=True, check=True)
    assert result.stdout.split(b"\0")[:-1] == [a.encode() for a in args]


def test_shell_quote_leaves_safe_words():
    assert text.ShellQuote("node1.example.com:1811") == "node1.example.com:1811"
    assert text.ShellQuote("a b") == "'a b'"


def test_shell_combine_and_build():
    cmd = text.ShellCombineCommands([["echo", "a b"], ["echo", "c"]])
    assert subprocess.run(cmd, capture_output=True, text=True).stdout == "a b\nc\n"
    assert text.BuildShellCmd("ls %s", "/tmp") == "ls /tmp"
    with pytest.raises(errors.ProgrammerError):
        text.BuildShellCmd("ls %s", "; rm -rf /")


def test_mac_validation():
    assert text.NormalizeAndValidateMac("AA:00:00:1b:2C:3d") == "aa:00:00:1b:2c:3d"
    assert text.NormalizeAndValidateThreeOctetMacPrefix("AA:00:0F") == "aa:00:0f"
    for bad in ("aa:00:00:1b:2c", "aa-00-00-1b-2c-3d", "gg:00:00:00:00:00", ""):
        with pytest.raises(errors.OpPrereqError) as info:
            text.NormalizeAndValidateMac(bad)
        assert info.value.args[1] == errors.ECODE_INVAL
        assert "Invalid MAC address" in info.value.args[0]


def test_safe_encode():
    assert text.SafeEncode("ok 'quoted' \\ text") == "ok 'quoted' \\ text"
    assert text.SafeEncode("a\tb\nc\rd\x01e\x7f") == "a\\tb\\nc\\rd\\x01e\\x7f"
    assert text.SafeEncode("caf\u00e9") == "caf\\xe9"
    encoded = text.SafeEncode("x\ny\u20ac")
    assert encoded.isascii() and "\n" not in encoded


def test_match_name_component():
    names = ["node1.example.com", "node10.example.com", "other.example.org"]
    assert text.MatchNameComponent("node1", names) == "node1.example.com"
    assert text.MatchNameComponent("node1.example", names) == "node1.example.com"
    assert text.MatchNameComponent("node1.ex", names) is None
    assert text.MatchNameComponent("node", names) is None
    assert text.MatchNameComponent("NODE1", names) is None
    assert text.MatchNameComponent("NODE1", names, case_sensitive=False) == (
        "node1.example.com")
    assert text.MatchNameComponent("a", ["a", "a.b"]) == "a"
    assert text.MatchNameComponent("a", ["a.x", "a.y"]) is None


@pytest.mark.parametrize("values", [
    ["a", "b"], ["a,b", "c\\", "\\,x", ""], ["only"],
])
def test_escape_split_round_trip(values):
    assert text.UnescapeAndSplit(text.EscapeAndJoin(values)) == values


def test_unescape_and_split():
    assert text.UnescapeAndSplit(r"a\,b,c") == ["a,b", "c"]
    assert text.UnescapeAndSplit("x:y", sep=":") == ["x", "y"]


@pytest.fixture
def utc(monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_format_time(utc):
    assert text.FormatTime(0) == "1970-01-01 00:00:00"
    assert text.FormatTime(1e9, usecs=5) == "2001-09-09 01:46:40.000005"
    assert text.FormatTime(None) == "N/A"
    assert text.FormatTime("x") == "N/A"


@pytest.mark.parametrize("secs, expected", [
    (0, "0s"), (59.4, "59s"), (60, "1m 0s"), (3600, "1h 0m 0s"),
    (2 * 86400 + 9 * 3600 + 19 * 60 + 49, "2d 9h 19m 49s"), (-3, "-3s"),
])
def test_format_seconds(secs, expected):
    assert text.FormatSeconds(secs) == expected


def test_small_formatters():
    assert [text.FormatOrdinal(i) for i in (1, 2, 3, 4, 11, 12, 13, 21, 112)] == (
        ["1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "112th"])
    assert text.Truncate("abcdefgh", 6) == "abc..."
    assert text.Truncate(12345, 10) == "12345"
    assert text.FilterEmptyLinesAndComments(" a \n\n# c\n  b\n") == ["a", "b"]
    assert text.FormatKeyValue({"b": 2, "a": 1}) == ["a=1", "b=2"]
    assert text.CommaJoin(["x", 1]) == "x, 1"
    assert len(text.GenerateSecret()) == 40
    assert text.GenerateSecret() != text.GenerateSecret()
