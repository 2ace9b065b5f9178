"""Installs the ganeti package, its daemons, commands and man pages."""

import glob
import os

from setuptools import find_packages, setup


# Tools a node runs (node-daemon-setup over SSH) or an operator uses.
_INSTALLED_TOOLS = ["tools/node-daemon-setup", "tools/vcluster-setup"]


def _Scripts() -> list[str]:
    """Daemons, gnt-* commands (every executable file in daemons/ and
    scripts/) and the installed tools."""
    found = []
    for folder in ("daemons", "scripts"):
        for path in sorted(glob.glob(os.path.join(folder, "*"))):
            if os.path.isfile(path) and os.access(path, os.X_OK):
                found.append(path)
    return found + _INSTALLED_TOOLS


def _ManPages() -> list[tuple[str, list[str]]]:
    """Built man pages (make man) grouped by section."""
    pages: dict[str, list[str]] = {}
    for path in sorted(glob.glob("build/man/*.[0-9]")):
        section = path.rsplit(".", 1)[1]
        pages.setdefault(f"share/man/man{section}", []).append(path)
    return sorted(pages.items())


with open("requirements.txt", encoding="utf-8") as fh:
    _REQUIRES = [line.split("#")[0].strip() for line in fh
                 if line.split("#")[0].strip()]

setup(
    name="ganeti-py",
    version="3.0.2",
    description="Cluster manager for virtual machines, faithful to Ganeti 3.0",
    license="GPL-2.0-or-later",
    python_requires=">=3.11",
    packages=find_packages(include=["ganeti", "ganeti.*"]),
    scripts=_Scripts(),
    data_files=_ManPages(),
    install_requires=_REQUIRES,
)
