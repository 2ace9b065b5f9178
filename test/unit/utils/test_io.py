"""Tests for ganeti.utils.io: atomic writes (also when interrupted), reads."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import textwrap

import pytest

from ganeti import errors
from ganeti.utils import io

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))


def _Mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_write_file_str_and_bytes(tmp_path):
    target = str(tmp_path / "f")
    io.WriteFile(target, "h\u00e9llo\n")
    assert io.ReadBinaryFile(target) == "h\u00e9llo\n".encode()
    io.WriteFile(target, b"\x00\x01")
    assert io.ReadBinaryFile(target) == b"\x00\x01"
    assert os.listdir(tmp_path) == ["f"]


def test_write_file_modes(tmp_path):
    old_umask = os.umask(0o022)
    try:
        io.WriteFile(str(tmp_path / "default"), "x")
    finally:
        os.umask(old_umask)
    assert _Mode(tmp_path / "default") == 0o644
    io.WriteFile(str(tmp_path / "secret"), "x", mode=0o400)
    assert _Mode(tmp_path / "secret") == 0o400


def test_write_file_replaces_atomically_for_open_readers(tmp_path):
    target = tmp_path / "config.data"
    target.write_text("old")
    reader = open(target)
    try:
        io.WriteFile(str(target), "new")
        # The rename leaves an open reader on the old content.
        assert reader.read() == "old"
    finally:
        reader.close()
    assert target.read_text() == "new"


def test_write_file_times_and_parent_dirs(tmp_path):
    target = tmp_path / "a" / "b" / "f"
    io.WriteFile(str(target), "x", mkdir_mode=0o750, atime=1000, mtime=2000)
    # Check the times before reading: a read may update atime.
    assert (os.stat(target).st_atime, os.stat(target).st_mtime) == (1000, 2000)
    assert target.read_text() == "x"


def test_write_file_needs_absolute_path():
    with pytest.raises(errors.ProgrammerError, match="absolute"):
        io.WriteFile("relative/file", "x")


def test_write_file_into_missing_dir_fails_cleanly(tmp_path):
    with pytest.raises(FileNotFoundError):
        io.WriteFile(str(tmp_path / "nodir" / "f"), "x")
    assert os.listdir(tmp_path) == []


def test_exception_before_rename_keeps_old_content(tmp_path):
    target = tmp_path / "config.data"
    target.write_text("old content")
    seen = []

    def _Fail(tmp_name: str) -> None:
        seen.append(open(tmp_name).read())
        raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError, match="interrupted"):
        io.WriteFile(str(target), "new content", _before_rename=_Fail)
    assert seen == ["new content"]
    assert target.read_text() == "old content"
    assert os.listdir(tmp_path) == ["config.data"]


def test_keyboard_interrupt_before_rename_cleans_up(tmp_path):
    target = tmp_path / "f"
    target.write_text("old")

    def _Interrupt(_: str) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        io.WriteFile(str(target), "new", _before_rename=_Interrupt)
    assert os.listdir(tmp_path) == ["f"] and target.read_text() == "old"


_KILLED_WRITER = textwrap.dedent("""
    import os, signal, sys
    from ganeti.utils import io
    def _Die(tmp_name):
        os.kill(os.getpid(), signal.SIGKILL)
    io.WriteFile(sys.argv[1], "new content " * 1000, _before_rename=_Die)
""")


def test_writer_killed_before_rename_leaves_old_content(tmp_path):
    target = tmp_path / "config.data"
    target.write_text("old content")
    result = subprocess.run([sys.executable, "-c", _KILLED_WRITER, str(target)],
                            cwd=REPO_ROOT, capture_output=True)
    assert result.returncode == -signal.SIGKILL
    assert target.read_text() == "old content"
    # A killed process cannot clean up: its temporary file stays, but hidden
    # (dot-prefixed) and never under the target's name.
    leftovers = [n for n in os.listdir(tmp_path) if n != "config.data"]
    assert all(n.startswith(".config.data.") for n in leftovers)
    for name in leftovers:
        os.unlink(tmp_path / name)


def test_read_helpers(tmp_path):
    path = tmp_path / "f"
    path.write_text("first line \nsecond\n")
    assert io.ReadFile(str(path)) == "first line \nsecond\n"
    assert io.ReadFile(str(path), size=5) == "first"
    assert io.ReadBinaryFile(str(path), size=3) == b"fir"
    assert io.ReadOneLineFile(str(path)) == "first line"
    with pytest.raises(errors.GenericError, match="Too many lines"):
        io.ReadOneLineFile(str(path), strict=True)
    path.write_text("\n")
    with pytest.raises(errors.GenericError, match="No data"):
        io.ReadOneLineFile(str(path))


def test_remove_file(tmp_path):
    path = tmp_path / "f"
    path.write_text("x")
    io.RemoveFile(str(path))
    assert not path.exists()
    io.RemoveFile(str(path))
    (tmp_path / "d").mkdir()
    io.RemoveFile(str(tmp_path / "d"))
    assert (tmp_path / "d").is_dir()


def test_ensure_dirs_creates_and_fixes_modes(tmp_path):
    existing = tmp_path / "existing"
    existing.mkdir(mode=0o777)
    new = tmp_path / "a" / "new"
    io.EnsureDirs([(str(existing), 0o700), (str(new), 0o750)])
    assert _Mode(existing) == 0o700
    assert new.is_dir() and _Mode(new) == 0o750


def test_ensure_dirs_with_file_in_the_way(tmp_path):
    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    with pytest.raises(errors.GenericError) as info:
        io.EnsureDirs([(str(blocker), 0o700)])
    assert str(blocker) in str(info.value)
    assert blocker.read_text() == "x"


@pytest.mark.parametrize("root, other, expected", [
    ("/var/lib", "/var/lib/ganeti", True),
    ("/var/lib/", "/var/lib/x/../y", True),
    ("/var/lib", "/var/lib", False),
    ("/var/lib", "/var/libfoo", False),
    ("/var/lib", "/var/lib/../etc", False),
    ("/", "/etc", True),
    ("/", "/", False),
])
def test_is_below_dir(root, other, expected):
    assert io.IsBelowDir(root, other) is expected
