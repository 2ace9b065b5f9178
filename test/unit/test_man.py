"""Man pages build from their sources and render with man(1)."""

import os
import shutil
import subprocess
import sys

import pytest

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _Build(out_dir: str) -> None:
    subprocess.run(
        [
            sys.executable,
            os.path.join(TOP, "tools", "build-man"),
            os.path.join(TOP, "man"),
            out_dir,
        ],
        check=True,
        capture_output=True,
    )


def test_every_daemon_and_command_has_a_man_page(tmp_path):
    _Build(str(tmp_path))
    built = set(os.listdir(tmp_path))
    programs = []
    for folder in ("daemons", "scripts"):
        path = os.path.join(TOP, folder)
        if os.path.isdir(path):
            programs += [
                p for p in os.listdir(path) if os.access(os.path.join(path, p), os.X_OK)
            ]
    assert programs, "no programs found"
    missing = [p for p in programs if not any(b.startswith(p + ".") for b in built)]
    assert not missing, f"programs without a man page: {missing}"


@pytest.mark.skipif(shutil.which("man") is None, reason="man(1) is not installed")
def test_pages_render_with_name_and_synopsis(tmp_path):
    _Build(str(tmp_path))
    for page in sorted(os.listdir(tmp_path)):
        out = subprocess.run(
            ["man", "-l", str(tmp_path / page)],
            capture_output=True,
            text=True,
            env=dict(os.environ, MANWIDTH="80"),
            check=True,
        )
        assert "NAME" in out.stdout and "SYNOPSIS" in out.stdout, page
        name = page.rsplit(".", 1)[0]
        assert name in out.stdout
