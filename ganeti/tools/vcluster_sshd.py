"""An OpenSSH sshd per virtual node, so `gnt-node add` can log in to it.

Virtual nodes share one machine, so each needs its own sshd: listening on
the node's own address and a port of its own (the node parameter ssh_port
tells the cluster which), with its own host key, accepting one client key,
and making every session act as that node through sshd's SetEnv
(GANETI_ROOTDIR, GANETI_HOSTNAME, GANETI_HOSTS_FILE, and a PATH starting
with this tree's programs). Needs /usr/sbin/sshd and ssh-keygen (Debian's
openssh-server and openssh-client).
"""

from __future__ import annotations

import os
import signal
import time

from ganeti import errors
from ganeti.utils import io, process

SSHD = "/usr/sbin/sshd"
SSH_KEYGEN = "/usr/bin/ssh-keygen"
# sshd's privilege separation directory (created by Debian's init scripts).
PRIVSEP_DIR = "/run/sshd"
_TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PROGRAM_DIRS = [os.path.join(_TOP, d) for d in ("daemons", "scripts", "tools")]
_SYSTEM_PATH = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin",
                "/sbin", "/bin"]


def Available() -> bool:
    """Whether sshd and ssh-keygen are installed."""
    return os.access(SSHD, os.X_OK) and os.access(SSH_KEYGEN, os.X_OK)


def GenerateKey(path: str, key_type: str = "ed25519") -> str:
    """Create an unencrypted key pair at path (unless it exists).

    Returns:
      the public key line.

    Raises:
      errors.CommandError: ssh-keygen failed.
    """
    if not os.path.exists(path):
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        result = process.RunCmd([SSH_KEYGEN, "-q", "-t", key_type, "-N", "",
                                 "-C", "ganeti", "-f", path], timeout=60)
        if result.failed:
            raise errors.CommandError(f"ssh-keygen failed: {result.output}")
    return io.ReadFile(path + ".pub").strip()


def SessionEnvironment(node_env: dict[str, str]) -> dict[str, str]:
    """The variables every session of a node's sshd gets."""
    env = dict(node_env)
    env["PATH"] = ":".join(PROGRAM_DIRS + _SYSTEM_PATH)
    env.setdefault("PYTHONPATH", _TOP)
    return env


def SshdConfig(address: str, port: int, host_key: str, pid_file: str,
               authorized_keys: str, node_env: dict[str, str]) -> str:
    """The text of an sshd_config for one virtual node.

    Raises:
      errors.ProgrammerError: an environment value sshd cannot carry.
    """
    env = SessionEnvironment(node_env)
    for name, value in env.items():
        if any(ch.isspace() or ch == '"' for ch in value):
            raise errors.ProgrammerError(
                f"SetEnv value of {name} must not contain blanks or quotes: {value!r}")
    lines = [
        f"Port {port}", f"ListenAddress {address}", f"HostKey {host_key}",
        f"PidFile {pid_file}", f"AuthorizedKeysFile {authorized_keys}",
        "PubkeyAuthentication yes", "PasswordAuthentication no",
        "KbdInteractiveAuthentication no", "UsePAM no", "StrictModes no",
        "PermitRootLogin prohibit-password", "PrintMotd no", "LogLevel VERBOSE",
        "MaxStartups 50",
        "SetEnv " + " ".join(f"{name}={value}" for name, value in env.items()),
    ]
    return "\n".join(lines) + "\n"


def PrepareSshd(directory: str, address: str, port: int, client_public_key: str,
                node_env: dict[str, str]) -> str:
    """Write host key, authorized_keys and sshd_config into directory.

    Returns:
      the path of the sshd_config file.
    """
    os.makedirs(directory, mode=0o700, exist_ok=True)
    host_key = os.path.join(directory, "ssh_host_ed25519_key")
    GenerateKey(host_key)
    keys = os.path.join(directory, "authorized_keys")
    io.WriteFile(keys, client_public_key + "\n", mode=0o600)
    config = os.path.join(directory, "sshd_config")
    io.WriteFile(config, SshdConfig(address, port, host_key,
                                    os.path.join(directory, "sshd.pid"), keys,
                                    node_env), mode=0o600)
    if os.geteuid() == 0:
        os.makedirs(PRIVSEP_DIR, mode=0o755, exist_ok=True)
    return config


def StartDetached(directory: str, timeout: float = 15.0) -> int:
    """Start sshd in the background with the config PrepareSshd wrote.

    Returns:
      sshd's pid (also in <directory>/sshd.pid).

    Raises:
      errors.CommandError: sshd refused to start or did not write its pid.
    """
    config = os.path.join(directory, "sshd_config")
    result = process.RunCmd([SSHD, "-f", config, "-E",
                             os.path.join(directory, "sshd.log")], timeout=timeout)
    if result.failed:
        raise errors.CommandError(f"sshd failed to start: {result.output}")
    pid_file = os.path.join(directory, "sshd.pid")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pid = process.ReadPidFile(pid_file)
        if pid and process.IsProcessAlive(pid):
            return pid
        time.sleep(0.05)
    raise errors.CommandError(f"sshd did not write {pid_file}")


def StopDetached(directory: str) -> None:
    """Stop the sshd whose pid file is in directory (if it runs)."""
    pid = process.ReadPidFile(os.path.join(directory, "sshd.pid"))
    if pid and process.IsProcessAlive(pid):
        process.KillProcess(pid, signal.SIGTERM, timeout=10)
