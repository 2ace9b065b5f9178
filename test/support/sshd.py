"""A real OpenSSH sshd per virtual node, for tests of gnt-node add.

Each Sshd listens on its node's own (loopback) address and a free port,
with its own host key, logs in only with one test key (AuthorizedKeysFile)
and makes every session run as its virtual node: sshd's SetEnv gives the
commands GANETI_ROOTDIR, GANETI_HOSTNAME and GANETI_HOSTS_FILE, a PATH with
the tree's daemons/, scripts/ and tools/ and, when asked, GANETI_NODED_PORT.

    key = ClientKey(tmp_path / "ssh")              # the "root" key pair
    with Sshd(tmp_path / "sshd-node2", "127.0.1.11", key,
              node_env={"GANETI_ROOTDIR": ..., ...}) as sshd:
        ... sshd.port, sshd.HostKey() ...

sshd runs in the foreground (-D) as a child of the test process, writes its
pid file in its own directory, and is stopped by that pid. Needs
/usr/sbin/sshd (Debian package openssh-server) and ssh-keygen
(openssh-client); `Available()` tells whether they are installed.
"""

from __future__ import annotations

import base64
import os
import pathlib
import signal
import socket
import subprocess
import sys
import time
from typing import Any

import paramiko

_TREE = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if _TREE not in sys.path:
    sys.path.insert(0, _TREE)

from ganeti import ssh  # noqa: E402
from ganeti.tools import vcluster_sshd  # noqa: E402

PROGRAM_DIRS = vcluster_sshd.PROGRAM_DIRS
SSHD = vcluster_sshd.SSHD
SSH_KEYGEN = vcluster_sshd.SSH_KEYGEN
PRIVSEP_DIR = vcluster_sshd.PRIVSEP_DIR
START_TIMEOUT = 15.0
STOP_TIMEOUT = 10.0


def Available() -> bool:
    """Whether sshd and ssh-keygen are installed."""
    return os.access(SSHD, os.X_OK) and os.access(SSH_KEYGEN, os.X_OK)


def _FreePort(address: str) -> int:
    with socket.socket() as sock:
        sock.bind((address, 0))
        return sock.getsockname()[1]


def _KeyGen(path: pathlib.Path, key_type: str = "ed25519") -> None:
    """Write a new unencrypted key pair at path and path.pub."""
    vcluster_sshd.GenerateKey(str(path), key_type)


class ClientKey:
    """A client key pair (private key file and its public key line)."""

    def __init__(self, directory: Any, key_type: str = "ed25519") -> None:
        directory = pathlib.Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / f"id_{key_type}"
        if not self.path.exists():
            _KeyGen(self.path, key_type)
        self.public = (directory / f"id_{key_type}.pub").read_text().strip()


class Sshd:
    """One sshd serving one virtual node (see module doc)."""

    def __init__(self, directory: Any, address: str, client_key: ClientKey,
                 node_env: dict[str, str] | None = None,
                 port: int | None = None) -> None:
        """Args:
          directory: where the config, host key, pid and log files go.
          address: the address to listen on (the node's).
          client_key: the only key allowed to log in.
          node_env: variables for every session (SetEnv), e.g. the node's
            GANETI_ROOTDIR; PATH gets the tree's program dirs first.
          port: the port (default: a free one).
        """
        self.dir = pathlib.Path(directory)
        self.address = address
        self.port = port or _FreePort(address)
        self.client_key = client_key
        self.node_env = dict(node_env or {})
        self.pid_file = self.dir / "sshd.pid"
        self.log_file = self.dir / "sshd.log"
        self.host_key_file = self.dir / "ssh_host_ed25519_key"
        self._proc: subprocess.Popen | None = None

    def __enter__(self) -> Sshd:
        self.Start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.Stop()

    def _WriteConfig(self) -> pathlib.Path:
        keys = self.dir / "authorized_keys"
        keys.write_text(self.client_key.public + "\n")
        config = self.dir / "sshd_config"
        config.write_text(vcluster_sshd.SshdConfig(
            self.address, self.port, str(self.host_key_file), str(self.pid_file),
            str(keys), self.node_env))
        return config

    def _WaitListening(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.poll() is not None:
                log = self.log_file.read_text() if self.log_file.exists() else ""
                raise AssertionError(f"sshd exited with {self._proc.returncode}:"
                                     f" {log}")
            try:
                with socket.create_connection((self.address, self.port), 0.5):
                    return
            except OSError:
                time.sleep(0.05)
        self.Stop()
        raise AssertionError(f"sshd did not listen on {self.address}:{self.port}")

    def Start(self) -> None:
        """Create the host key and config, start sshd, wait until it listens."""
        self.dir.mkdir(parents=True, exist_ok=True)
        if not self.host_key_file.exists():
            _KeyGen(self.host_key_file)
        config = self._WriteConfig()
        if os.geteuid() == 0 and not os.path.isdir(PRIVSEP_DIR):
            os.makedirs(PRIVSEP_DIR, mode=0o755, exist_ok=True)
        self._proc = subprocess.Popen(
            [SSHD, "-D", "-f", str(config), "-E", str(self.log_file)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        self._WaitListening()

    @property
    def pid(self) -> int:
        return self._proc.pid if self._proc is not None else 0

    def Running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def Stop(self) -> None:
        """Stop sshd by its pid (SIGTERM, then SIGKILL)."""
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)

    def HostKey(self) -> paramiko.PKey:
        """The public host key sshd offers."""
        fields = (self.dir / "ssh_host_ed25519_key.pub").read_text().split()
        return paramiko.PKey.from_type_string(fields[0], base64.b64decode(fields[1]))

    def Fingerprint(self) -> str:
        """The host key's fingerprint as OpenSSH prints it."""
        return ssh.FormatKeyFingerprint(self.HostKey())

    def ReplaceHostKey(self) -> None:
        """Give sshd a new host key (a "reinstalled" node); restarts it."""
        self.Stop()
        for path in (self.host_key_file,
                     self.host_key_file.with_name(self.host_key_file.name + ".pub")):
            path.unlink(missing_ok=True)
        self.Start()


def NodeEnv(root: Any, hostname: str, hosts_file: Any,
            **extra: str) -> dict[str, str]:
    """The session environment of a virtual node."""
    env = {"GANETI_ROOTDIR": str(root), "GANETI_HOSTNAME": hostname,
           "GANETI_HOSTS_FILE": str(hosts_file), "PYTHONPATH": _TREE}
    env.update(extra)
    return env

