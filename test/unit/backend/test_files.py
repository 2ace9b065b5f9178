"""Tests for ganeti.backend.files: uploads, ssconf, file info, watcher pause."""

from __future__ import annotations

import grp
import os
import pwd
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from ganeti import backend, pathutils, vcluster
from ganeti.backend import RPCFail, files
from ganeti.rpc import encoding

PROCS = backend.LoadAll()
_REPO = Path(__file__).resolve().parents[3]
_USER = pwd.getpwuid(os.getuid()).pw_name
_GROUP = grp.getgrgid(os.getgid()).gr_name

pytestmark = pytest.mark.skipif(vcluster.IsVirtual(),
                                reason="tests expect a non-virtual node")

_REROOTED = ["DATA_DIR", "SYSCONFDIR", "CONF_DIR", "CLUSTER_CONF_FILE",
             "NODED_CERT_FILE", "RAPI_CERT_FILE", "CONFD_HMAC_KEY",
             "SPICE_CERT_FILE", "SPICE_CACERT_FILE",
             "CLUSTER_DOMAIN_SECRET_FILE", "SSH_KNOWN_HOSTS_FILE",
             "RAPI_DATA_DIR", "RAPI_USERS_FILE", "VNC_PASSWORD_FILE",
             "FILE_STORAGE_PATHS_FILE", "WATCHER_PAUSEFILE", "LOCK_DIR",
             "SSCONF_LOCK_FILE"]


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Move every path the procedures use below tmp_path."""
    for name in _REROOTED:
        monkeypatch.setattr(pathutils, name, str(tmp_path) + getattr(pathutils, name))
    Path(pathutils.DATA_DIR).mkdir(parents=True)
    return tmp_path


def _Details(path: str, content: bytes | str = "data\n", mode: Any = 0o640,
             user: Any = _USER, group: Any = _GROUP, atime: Any = None,
             mtime: Any = None) -> list[Any]:
    return [path, encoding.Compress(content), mode, user, group, atime, mtime]


def test_upload_config_data(root: Path) -> None:
    content = "".join(f"line {i}\n" for i in range(200)).encode()
    target = pathutils.CLUSTER_CONF_FILE
    assert PROCS["upload_file"](_Details(target, content, 0o100640,
                                         atime=1000000, mtime=2000000)) is None
    st = os.stat(target)
    assert Path(target).read_bytes() == content
    assert stat.S_IMODE(st.st_mode) == 0o640
    assert (st.st_uid, st.st_gid) == (os.getuid(), os.getgid())
    assert (st.st_atime, st.st_mtime) == (1000000, 2000000)


def test_upload_file_single_creates_missing_dir(root: Path) -> None:
    target = pathutils.RAPI_USERS_FILE
    PROCS["upload_file_single"](*_Details(target, "jack secret write\n", None))
    assert Path(target).read_text() == "jack secret write\n"
    assert stat.S_IMODE(os.stat(pathutils.RAPI_DATA_DIR).st_mode) & 0o007 == 0


@pytest.mark.parametrize("name", ["NODED_CERT_FILE", "FILE_STORAGE_PATHS_FILE",
                                  "WATCHER_PAUSEFILE"])
def test_upload_refuses_files_outside_the_allowed_set(root: Path,
                                                      name: str) -> None:
    target = getattr(pathutils, name)
    with pytest.raises(RPCFail, match=f"File '{target}' is not allowed"):
        PROCS["upload_file"](_Details(target))
    assert not os.path.exists(target)


def test_upload_refuses_tricks(root: Path) -> None:
    sneaky = pathutils.DATA_DIR + "/../" + os.path.basename(pathutils.DATA_DIR) \
        + "/config.data"
    for path in ["/etc/passwd", sneaky, "config.data"]:
        with pytest.raises(RPCFail, match="not allowed|not absolute"):
            PROCS["upload_file"](_Details(path))
    assert not os.path.exists(pathutils.CLUSTER_CONF_FILE)


def test_upload_argument_errors(root: Path) -> None:
    target = pathutils.CLUSTER_CONF_FILE
    cases = [
        (_Details(target)[:6], "expected a list of 7 items"),
        (_Details(target, user="no-such-user-ganeti"),
         "Unknown user 'no-such-user-ganeti'"),
        (_Details(target, group="no-such-group-ganeti"),
         "Unknown group 'no-such-group-ganeti'"),
        (_Details(target, user=0), "user name"),
        (_Details(target, mode="0640"), "file mode"),
        (_Details(target, mtime="yesterday"), "modification time"),
        ([target, [1, "!!not base64"], 0o640, _USER, _GROUP, None, None],
         "Invalid content"),
        ([target, "plain", 0o640, _USER, _GROUP, None, None], "Invalid content"),
    ]
    for details, message in cases:
        with pytest.raises(RPCFail, match=message):
            PROCS["upload_file"](details)
    with pytest.raises(RPCFail, match="argument 'file_details'"):
        PROCS["upload_file"](target)
    assert not os.path.exists(target)


def _RunVirtual(tmp_path: Path, code: str) -> subprocess.CompletedProcess[str]:
    root = tmp_path / "node1.example.com"
    root.mkdir(exist_ok=True)
    env = dict(os.environ, GANETI_ROOTDIR=str(root),
               GANETI_HOSTNAME="node1.example.com", PYTHONPATH=str(_REPO))
    return subprocess.run([sys.executable, "-c", code], env=env,
                          capture_output=True, text=True, timeout=60)


def test_virtual_node_upload(tmp_path: Path) -> None:
    code = (
        "import grp, os, pwd\n"
        "from ganeti import backend, constants\n"
        "from ganeti.backend import RPCFail\n"
        "from ganeti.rpc import encoding\n"
        "procs = backend.LoadAll()\n"
        "user = pwd.getpwuid(os.getuid()).pw_name\n"
        "group = grp.getgrgid(os.getgid()).gr_name\n"
        "vpath = constants.VIRTUAL_PATH_PREFIX + '/var/lib/ganeti/config.data'\n"
        "procs['upload_file']([vpath, encoding.Compress('cfg'), 0o600, user,"
        " group, None, None])\n"
        "try:\n"
        "    procs['upload_file'](['/etc/hosts', encoding.Compress('x'), 0o644,"
        " user, group, None, None])\n"
        "except RPCFail as err:\n"
        "    print('REFUSED', err)\n")
    result = _RunVirtual(tmp_path, code)
    assert result.returncode == 0, result.stderr
    written = tmp_path / "node1.example.com/var/lib/ganeti/config.data"
    assert written.read_text() == "cfg"
    assert "REFUSED File '/etc/hosts' is not allowed" in result.stdout
    assert "virtual node" in result.stdout


def test_write_ssconf_files(root: Path) -> None:
    PROCS["write_ssconf_files"]({"master_node": "node1.example.com",
                                 "cluster_tags": ""})
    master = Path(pathutils.DATA_DIR, "ssconf_master_node")
    assert master.read_text() == "node1.example.com\n"
    assert stat.S_IMODE(master.stat().st_mode) == 0o444
    assert PROCS["master_node_name"]() == "node1.example.com"


def test_write_ssconf_files_rejections(root: Path) -> None:
    with pytest.raises(RPCFail, match="Invalid ssconf key.*'bogus_key'"):
        PROCS["write_ssconf_files"]({"master_node": "n1", "bogus_key": "x"})
    with pytest.raises(RPCFail, match="value of ssconf key 'master_node'"):
        PROCS["write_ssconf_files"]({"master_node": 17})
    with pytest.raises(RPCFail, match="argument 'values'"):
        PROCS["write_ssconf_files"]([["master_node", "n1"]])
    assert not any(name.startswith("ssconf_")
                   for name in os.listdir(pathutils.DATA_DIR))


def test_get_file_info(tmp_path: Path) -> None:
    target = tmp_path / "image"
    target.write_bytes(b"x" * 1234)
    assert PROCS["get_file_info"](str(target)) == [True, {"size": 1234}]
    assert PROCS["get_file_info"](str(tmp_path / "missing")) == [False, {}]
    with pytest.raises(RPCFail, match="is not absolute"):
        PROCS["get_file_info"]("image")


def test_watcher_pause_roundtrip(root: Path) -> None:
    assert PROCS["get_watcher_pause"]() is None
    until = int(time.time()) + 600
    PROCS["set_watcher_pause"](until + 0.7)
    assert Path(pathutils.WATCHER_PAUSEFILE).read_text() == f"{until}\n"
    assert PROCS["get_watcher_pause"]() == float(until)
    PROCS["set_watcher_pause"](None)
    assert not os.path.exists(pathutils.WATCHER_PAUSEFILE)
    assert PROCS["get_watcher_pause"]() is None
    with pytest.raises(RPCFail, match="argument 'until'"):
        PROCS["set_watcher_pause"]("tomorrow")


def test_watcher_pause_expiry(root: Path) -> None:
    pause_file = Path(pathutils.WATCHER_PAUSEFILE)
    now = 1_000_000
    pause_file.write_text(f"{now - 60}\n")
    assert files.ReadWatcherPauseFile(str(pause_file), now=now) is None
    assert pause_file.exists()  # ended recently: kept
    assert files.ReadWatcherPauseFile(str(pause_file), now=now - 61) == now - 60
    pause_file.write_text(f"{now - 3601}\n")
    assert files.ReadWatcherPauseFile(str(pause_file), now=now) is None
    assert not pause_file.exists()  # stale: removed
    pause_file.write_text("garbage\n")
    assert PROCS["get_watcher_pause"]() is None
    assert not pause_file.exists()


def test_allowed_set_matches_ganeti(root: Path) -> None:
    allowed = files.GetAllowedUploadFiles()
    for name in ["CLUSTER_CONF_FILE", "SSH_KNOWN_HOSTS_FILE", "VNC_PASSWORD_FILE",
                 "RAPI_CERT_FILE", "SPICE_CERT_FILE", "SPICE_CACERT_FILE",
                 "RAPI_USERS_FILE", "CONFD_HMAC_KEY",
                 "CLUSTER_DOMAIN_SECRET_FILE"]:
        assert getattr(pathutils, name) in allowed, name
    assert "/etc/hosts" in allowed
    assert pathutils.NODED_CERT_FILE not in allowed
    assert pathutils.NODED_CLIENT_CERT_FILE not in allowed
