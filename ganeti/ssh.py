"""Running commands on other nodes over SSH (paramiko), with host key checks.

Ganeti's lib/ssh.py builds `ssh` command lines; here paramiko speaks the
protocol itself, so that errors come back as Ganeti exceptions with clear
messages instead of an ssh exit code. What is kept from Ganeti:

* the login user is root (constants.SSH_LOGIN_USER) with root's key pair;
* host keys are checked against the cluster's known_hosts file
  (pathutils.SSH_KNOWN_HOSTS_FILE). An unknown key is refused unless the
  caller allows it (gnt-node add --no-ssh-key-check, or a "yes" to the
  question on a terminal, like ssh's StrictHostKeyChecking=ask); an
  accepted key is recorded in that file. A key that differs from the
  recorded one is always refused;
* Ganeti aliases every node's host key to the cluster name (HostKeyAlias),
  since all its nodes share one host key pair: a key matching the cluster
  name's entry is therefore known too.

Entries are stored as OpenSSH does: "name" for port 22, "[name]:port"
otherwise, the node's name and address on one line. Virtual clusters run
one sshd per node on the node's own address and port (node parameter
ssh_port), and may name the private key with GANETI_SSH_KEY_FILE.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import logging
import os
import select
import socket
import threading
import time
from collections.abc import Callable, Iterable

import paramiko

from ganeti import errors, pathutils
from ganeti.utils import io

logger = logging.getLogger(__name__)

SSH_LOGIN_USER = "root"
DEFAULT_SSH_PORT = 22
ENV_SSH_KEY_FILE = "GANETI_SSH_KEY_FILE"
KNOWN_HOSTS_MODE = 0o644
# Seconds to connect, exchange keys and log in.
CONNECT_TIMEOUT = 15.0
# Seconds a remote command may run (node-daemon-setup restarts noded).
DEFAULT_COMMAND_TIMEOUT = 300.0
_READ_SIZE = 32768
# Key files tried in ~root/.ssh, in this order, when none is named.
_DEFAULT_KEY_NAMES = ("id_rsa", "id_ecdsa", "id_ed25519", "id_dsa")
# Negotiated host key algorithms for a key type as known_hosts names it.
_ALGORITHMS_OF_TYPE = {"ssh-rsa": ("rsa-sha2-512", "rsa-sha2-256", "ssh-rsa")}

#: Asks the user whether to trust an unknown host key; gets the question.
AskFn = Callable[[str], bool]

_known_hosts_lock = threading.Lock()


def _Prereq(msg: str) -> errors.OpPrereqError:
    return errors.OpPrereqError(msg, errors.ECODE_ENVIRON)


def FormatKeyFingerprint(key: paramiko.PKey) -> str:
    """The key's fingerprint as OpenSSH prints it ("SHA256:<base64>")."""
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode("ascii").rstrip("=")


def KnownHostsName(host: str, port: int) -> str:
    """The name of host:port in a known_hosts file (OpenSSH's form)."""
    if port == DEFAULT_SSH_PORT:
        return host
    return f"[{host}]:{port}"


def GetDefaultKeyFile(environ: dict[str, str] | None = None) -> str:
    """The private key used to log in to other nodes.

    GANETI_SSH_KEY_FILE if set (virtual clusters, tests), else the first of
    root's ~/.ssh/id_rsa, id_ecdsa, id_ed25519, id_dsa that exists.

    Raises:
      errors.OpPrereqError: (ECODE_ENVIRON) no key file is available.
    """
    env = os.environ if environ is None else environ
    named = env.get(ENV_SSH_KEY_FILE)
    if named:
        return named
    ssh_dir = os.path.join(os.path.expanduser(f"~{SSH_LOGIN_USER}"), ".ssh")
    for name in _DEFAULT_KEY_NAMES:
        path = os.path.join(ssh_dir, name)
        if os.path.exists(path):
            return path
    raise _Prereq(f"No SSH private key found for {SSH_LOGIN_USER} (looked for"
                  f" {', '.join(_DEFAULT_KEY_NAMES)} in {ssh_dir}); set"
                  f" {ENV_SSH_KEY_FILE} to the key file to use")


def LoadPrivateKey(path: str) -> paramiko.PKey:
    """Read an unencrypted private key (RSA, ECDSA, Ed25519) from a file.

    Raises:
      errors.OpPrereqError: (ECODE_ENVIRON) unreadable, encrypted or of an
        unknown kind.
    """
    try:
        return paramiko.PKey.from_path(path)
    except paramiko.PasswordRequiredException as err:
        raise _Prereq(f"SSH key {path} is protected by a passphrase; an"
                      " unencrypted key is needed") from err
    except TypeError as err:
        # PEM keys with a passphrase fail this way in paramiko.
        raise _Prereq(f"SSH key {path} is protected by a passphrase; an"
                      " unencrypted key is needed") from err
    except (OSError, paramiko.SSHException, ValueError) as err:
        raise _Prereq(f"Cannot load the SSH key {path}: {err}") from err


class KnownHostsFile:
    """The cluster's known_hosts file: lookups and recording new keys."""

    def __init__(self, path: str | None = None) -> None:
        """Load the file (a missing file is empty).

        Raises:
          errors.OpPrereqError: (ECODE_ENVIRON) the file cannot be read.
        """
        self.path = path or pathutils.SSH_KNOWN_HOSTS_FILE
        self._keys = paramiko.HostKeys()
        try:
            self._keys.load(self.path)
        except FileNotFoundError:
            pass
        except (OSError, UnicodeDecodeError) as err:
            raise _Prereq(f"Cannot read the known hosts file {self.path}: {err}"
                          ) from err

    def Lookup(self, names: Iterable[str]) -> dict[str, paramiko.PKey]:
        """Key type -> recorded key, over all the given names (first wins)."""
        found: dict[str, paramiko.PKey] = {}
        for name in names:
            entry = self._keys.lookup(name)
            for key_type in entry or ():
                found.setdefault(key_type, entry[key_type])
        return found

    def Record(self, names: list[str], key: paramiko.PKey) -> None:
        """Append one line for key under names, atomically.

        Raises:
          errors.SshUpdateError: the file cannot be written.
        """
        line = f"{','.join(names)} {key.get_name()} {key.get_base64()}\n"
        with _known_hosts_lock:
            try:
                old = io.ReadFile(self.path)
            except FileNotFoundError:
                old = ""
            except (OSError, UnicodeDecodeError) as err:
                raise errors.SshUpdateError(
                    f"Cannot read the known hosts file {self.path}: {err}") from err
            if old and not old.endswith("\n"):
                old += "\n"
            try:
                io.WriteFile(self.path, old + line, mode=KNOWN_HOSTS_MODE)
            except OSError as err:
                raise errors.SshUpdateError(
                    f"Cannot record the host key in {self.path}: {err}") from err
        for name in names:
            self._keys.add(name, key.get_name(), key)
        logger.info("Recorded the %s host key of %s in %s", key.get_name(),
                    names[0], self.path)


@dataclasses.dataclass(frozen=True)
class HostKeyPolicy:
    """How to treat the remote host key.

    Attributes:
      known_hosts: the file to check against and record into.
      accept_new: accept (and record) an unknown key without asking.
      ask_fn: asks whether to accept an unknown key (None: refuse).
      alias: a name whose recorded key is valid for every node (Ganeti's
        HostKeyAlias, the cluster name), or None.
    """

    known_hosts: KnownHostsFile
    accept_new: bool = False
    ask_fn: AskFn | None = None
    alias: str | None = None


def CheckHostKey(policy: HostKeyPolicy, host: str, address: str, port: int,
                 key: paramiko.PKey) -> None:
    """Accept the host key of host (at address:port) or raise.

    Raises:
      errors.OpPrereqError: (ECODE_ENVIRON) the key differs from the
        recorded one, or it is unknown and was not accepted.
      errors.SshUpdateError: an accepted key could not be recorded.
    """
    names = list(dict.fromkeys([KnownHostsName(host, port),
                                KnownHostsName(address, port)]))
    key_type = key.get_name()
    fingerprint = FormatKeyFingerprint(key)
    known = policy.known_hosts.Lookup(names).get(key_type)
    if known is not None:
        if known == key:
            return
        raise _Prereq(
            f"The {key_type} host key of {host} ({address} port {port}) does not"
            f" match the one recorded in {policy.known_hosts.path}: it offers"
            f" {fingerprint}, {FormatKeyFingerprint(known)} was recorded. This"
            " can be an attack (someone in the middle) or a reinstalled node;"
            " check it, and remove the old entry from the file if the new key"
            " is right")
    if policy.alias is not None:
        aliased = policy.known_hosts.Lookup([policy.alias]).get(key_type)
        if aliased is not None and aliased == key:
            return
    question = (f"The authenticity of host '{host} ({address}) port {port}' can't"
                f" be established.\n{key_type} key fingerprint is {fingerprint}."
                "\nAre you sure you want to continue connecting?")
    if not policy.accept_new and not (policy.ask_fn and policy.ask_fn(question)):
        raise _Prereq(
            f"The host key of {host} ({address} port {port}) is not known:"
            f" {key_type} key fingerprint {fingerprint}. Check it on the node"
            " (ssh-keygen -l -f <host key file>) and retry with"
            " --no-ssh-key-check to accept and record it")
    policy.known_hosts.Record(names, key)


@dataclasses.dataclass(frozen=True)
class SshResult:
    """The outcome of a remote command.

    Attributes:
      exit_code: the remote exit status (-1 if the server sent none).
      stdout, stderr: the command's output, decoded as UTF-8.
    """

    exit_code: int
    stdout: str
    stderr: str

    @property
    def failed(self) -> bool:
        return self.exit_code != 0

    @property
    def output(self) -> str:
        """stderr, or stdout when stderr is empty (for error messages)."""
        return (self.stderr.strip() or self.stdout.strip())


class SshConnection:
    """One logged-in SSH session to a node; use as a context manager."""

    def __init__(self, host: str, address: str, port: int, policy: HostKeyPolicy,
                 key_file: str | None = None, user: str = SSH_LOGIN_USER,
                 timeout: float = CONNECT_TIMEOUT) -> None:
        """Args:
          host: the node's name (for known_hosts and messages).
          address: the IP to connect to.
          port: sshd's port on the node.
          policy: the host key policy.
          key_file: the private key (default GetDefaultKeyFile()).
          user: the login user.
          timeout: seconds for connecting, key exchange and login.
        """
        self.host = host
        self.address = address
        self.port = port
        self._policy = policy
        self._key_file = key_file
        self._user = user
        self._timeout = timeout
        self._transport: paramiko.Transport | None = None

    def __enter__(self) -> SshConnection:
        self.Connect()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.Close()

    def _Where(self) -> str:
        return f"{self.host} ({self.address} port {self.port})"

    def _OpenSocket(self) -> socket.socket:
        try:
            return socket.create_connection((self.address, self.port),
                                            timeout=self._timeout)
        except OSError as err:
            reason = err.strerror or str(err)
            raise _Prereq(f"Cannot connect to the SSH daemon of {self._Where()}:"
                          f" {reason}") from err

    def _PreferKnownKeyTypes(self, transport: paramiko.Transport) -> None:
        """Negotiate a host key type we know for this host first, as ssh does."""
        names = [KnownHostsName(self.host, self.port),
                 KnownHostsName(self.address, self.port)]
        known = self._policy.known_hosts.Lookup(names)
        options = transport.get_security_options()
        available = list(options.key_types)
        wanted = [algo for key_type in known
                  for algo in _ALGORITHMS_OF_TYPE.get(key_type, (key_type, ))
                  if algo in available]
        if wanted:
            options.key_types = list(dict.fromkeys(wanted + available))

    def Connect(self) -> None:
        """Connect, check the host key and log in with the private key.

        Raises:
          errors.OpPrereqError: (ECODE_ENVIRON) unreachable, SSH failure,
            host key refused or login refused; nothing ran on the node.
        """
        key_file = self._key_file or GetDefaultKeyFile()
        pkey = LoadPrivateKey(key_file)
        sock = self._OpenSocket()
        transport = paramiko.Transport(sock)
        self._transport = transport
        try:
            self._PreferKnownKeyTypes(transport)
            transport.start_client(timeout=self._timeout)
            CheckHostKey(self._policy, self.host, self.address, self.port,
                         transport.get_remote_server_key())
            transport.auth_publickey(self._user, pkey)
        except paramiko.AuthenticationException as err:
            self.Close()
            raise _Prereq(f"SSH login as {self._user} to {self._Where()} was"
                          f" refused for the key {key_file}: {err}") from err
        except (paramiko.SSHException, OSError, EOFError) as err:
            self.Close()
            raise _Prereq(f"SSH connection to {self._Where()} failed: {err}"
                          ) from err
        except errors.GenericError:
            self.Close()
            raise

    def Close(self) -> None:
        if self._transport is not None:
            self._transport.close()
            self._transport = None

    def Run(self, command: str, stdin_data: str | bytes | None = None,
            timeout: float = DEFAULT_COMMAND_TIMEOUT) -> SshResult:
        """Run a shell command on the node, feeding it stdin_data.

        Raises:
          errors.OpExecError: the session broke or the command did not end
            within timeout seconds (it may have done part of its work).
        """
        if self._transport is None:
            raise errors.ProgrammerError("SshConnection.Run before Connect")
        if isinstance(stdin_data, str):
            stdin_data = stdin_data.encode("utf-8")
        try:
            channel = self._transport.open_session(timeout=self._timeout)
        except (paramiko.SSHException, OSError, EOFError) as err:
            raise errors.OpExecError(
                f"Cannot open an SSH session on {self._Where()}: {err}") from err
        with channel:
            try:
                channel.exec_command(command)
                if stdin_data:
                    channel.sendall(stdin_data)
                channel.shutdown_write()
                stdout, stderr = _ReadUntilExit(channel, timeout)
            except (paramiko.SSHException, OSError, EOFError) as err:
                raise errors.OpExecError(
                    f"SSH session to {self._Where()} broke while running"
                    f" '{command}': {err}") from err
            if stdout is None:
                raise errors.OpExecError(
                    f"Command '{command}' on {self._Where()} did not finish"
                    f" within {timeout:g} seconds")
            exit_code = channel.recv_exit_status()
        return SshResult(exit_code,
                         stdout.decode("utf-8", errors="replace"),
                         stderr.decode("utf-8", errors="replace"))


def _ReadUntilExit(channel: paramiko.Channel,
                   timeout: float) -> tuple[bytes | None, bytes]:
    """Collect stdout and stderr until the command exits and both end.

    Returns:
      (stdout, stderr); stdout is None if the deadline passed first.
    """
    deadline = time.monotonic() + timeout
    out, err = bytearray(), bytearray()
    while True:
        busy = False
        if channel.recv_ready():
            out += channel.recv(_READ_SIZE)
            busy = True
        if channel.recv_stderr_ready():
            err += channel.recv_stderr(_READ_SIZE)
            busy = True
        if busy:
            continue
        if channel.exit_status_ready() and channel.eof_received:
            return bytes(out), bytes(err)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None, bytes(err)
        select.select([channel], [], [], min(remaining, 0.5))
