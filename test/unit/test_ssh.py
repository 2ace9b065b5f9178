"""ganeti.ssh against a real SSH server (paramiko's, in this process).

The server listens on 127.0.0.1 with its own host key and accepts one client
key; its "commands" are tiny built-ins (echo stdin, fail, hang), so no
daemon and no root are needed. The integration tests use OpenSSH's sshd.
"""

import socket
import threading
import time

import paramiko
import pytest

from ganeti import errors, ssh

def _NewKey():
    return paramiko.ECDSAKey.generate(bits=256)


class _Server(paramiko.ServerInterface):
    def __init__(self, allowed_key):
        self.allowed_key = allowed_key
        self.commands = []
        self.event = threading.Event()

    def check_auth_publickey(self, username, key):
        if username == "root" and key == self.allowed_key:
            return paramiko.AUTH_SUCCESSFUL
        return paramiko.AUTH_FAILED

    def get_allowed_auths(self, username):
        return "publickey"

    def check_channel_request(self, kind, chanid):
        if kind == "session":
            return paramiko.OPEN_SUCCEEDED
        return paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED

    def check_channel_exec_request(self, channel, command):
        command = command.decode()
        self.commands.append(command)
        threading.Thread(target=_RunBuiltin, args=(channel, command),
                         daemon=True).start()
        return True


def _ReadAll(channel):
    data = b""
    while True:
        chunk = channel.recv(4096)
        if not chunk:
            return data
        data += chunk


def _RunBuiltin(channel, command):
    """echo: stdin to stdout; fail: message on stderr, exit 3; big: much
    output on both; hang: wait.

    Standard input is read to its end first: the client closes it only once
    the server confirmed the command, so nothing is sent before that.
    """
    data = _ReadAll(channel)
    if command == "echo":
        channel.sendall(data)
        channel.sendall_stderr(b"note\n")
        status = 0
    elif command == "fail":
        channel.sendall_stderr(b"it broke\n")
        status = 3
    elif command == "big":
        channel.sendall(b"x" * 300000)
        channel.sendall_stderr(b"y" * 300000)
        status = 0
    else:
        time.sleep(5)
        status = 1
    channel.send_exit_status(status)
    channel.shutdown_write()
    channel.close()


class SshServer:
    """A listening SSH server; one thread per connection."""

    def __init__(self, client_key):
        self.host_key = _NewKey()
        self.client_key = client_key
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(5)
        self.port = self.sock.getsockname()[1]
        self.transports = []
        self.servers = []
        self._thread = threading.Thread(target=self._Accept, daemon=True)
        self._thread.start()

    def _Accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            transport = paramiko.Transport(conn)
            transport.add_server_key(self.host_key)
            server = _Server(self.client_key)
            self.transports.append(transport)
            self.servers.append(server)
            try:
                transport.start_server(server=server)
            except (paramiko.SSHException, EOFError, OSError):
                # The client went away during the handshake (refused key).
                continue

    def Commands(self):
        return [cmd for server in self.servers for cmd in server.commands]

    def Close(self):
        # shutdown() wakes the thread blocked in accept(); close() does not.
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        for transport in self.transports:
            transport.close()
        self._thread.join(5)


@pytest.fixture
def client_key(tmp_path):
    path = tmp_path / "id_ecdsa"
    pkey = _NewKey()
    pkey.write_private_key_file(str(path))
    return path, pkey


@pytest.fixture
def server(client_key):
    srv = SshServer(client_key[1])
    yield srv
    srv.Close()


def _Connect(server, client_key, known_hosts, host="node2", **policy):
    pol = ssh.HostKeyPolicy(ssh.KnownHostsFile(str(known_hosts)), **policy)
    return ssh.SshConnection(host, "127.0.0.1", server.port, pol,
                             key_file=str(client_key[0]), timeout=5)


def testUnknownHostKeyIsRefusedWithItsFingerprint(server, client_key, tmp_path):
    known = tmp_path / "known_hosts"
    with pytest.raises(errors.OpPrereqError) as info:
        _Connect(server, client_key, known).Connect()
    msg, ecode = info.value.args
    assert ecode == errors.ECODE_ENVIRON
    assert ssh.FormatKeyFingerprint(server.host_key) in msg
    assert "not known" in msg and "--no-ssh-key-check" in msg
    assert not known.exists()
    assert server.Commands() == []


def testAcceptedKeyIsRecordedAndThenKnown(server, client_key, tmp_path):
    known = tmp_path / "known_hosts"
    with _Connect(server, client_key, known, accept_new=True) as conn:
        assert conn.Run("echo", "hello\n").stdout == "hello\n"
    line = known.read_text()
    assert line.startswith(f"[node2]:{server.port},[127.0.0.1]:{server.port} ")
    assert server.host_key.get_base64() in line
    assert oct(known.stat().st_mode & 0o777) == oct(ssh.KNOWN_HOSTS_MODE)
    with _Connect(server, client_key, known) as conn:
        assert conn.Run("echo", b"again").stdout == "again"


def testMismatchingKeyIsRefusedEvenWhenNewKeysAreAccepted(server, client_key,
                                                          tmp_path):
    known = tmp_path / "known_hosts"
    other = _NewKey()
    known.write_text(f"[node2]:{server.port} {other.get_name()}"
                     f" {other.get_base64()}\n")
    for accept in (False, True):
        with pytest.raises(errors.OpPrereqError) as info:
            _Connect(server, client_key, known, accept_new=accept).Connect()
        msg = info.value.args[0]
        assert "does not match" in msg
        assert ssh.FormatKeyFingerprint(server.host_key) in msg
        assert ssh.FormatKeyFingerprint(other) in msg
    assert known.read_text().count("\n") == 1
    assert server.Commands() == []


def testKeyRecordedForTheAddressIsChecked(server, client_key, tmp_path):
    known = tmp_path / "known_hosts"
    other = _NewKey()
    known.write_text(f"[127.0.0.1]:{server.port} {other.get_name()}"
                     f" {other.get_base64()}\n")
    with pytest.raises(errors.OpPrereqError, match="does not match"):
        _Connect(server, client_key, known, host="node9").Connect()


def testClusterAliasKeyIsAccepted(server, client_key, tmp_path):
    known = tmp_path / "known_hosts"
    known.write_text(f"cluster {server.host_key.get_name()}"
                     f" {server.host_key.get_base64()}\n")
    with _Connect(server, client_key, known, alias="cluster") as conn:
        assert conn.Run("echo", "x").exit_code == 0
    # Known through the alias: nothing new is recorded.
    assert known.read_text().count("\n") == 1


def testUserCanAcceptUnknownKey(server, client_key, tmp_path):
    known = tmp_path / "known_hosts"
    questions = []

    def _Ask(question):
        questions.append(question)
        return True
    with _Connect(server, client_key, known, ask_fn=_Ask):
        pass
    assert len(questions) == 1
    assert ssh.FormatKeyFingerprint(server.host_key) in questions[0]
    assert "node2" in known.read_text()


def testUserCanRefuseUnknownKey(server, client_key, tmp_path):
    known = tmp_path / "known_hosts"
    with pytest.raises(errors.OpPrereqError, match="not known"):
        _Connect(server, client_key, known, ask_fn=lambda _: False).Connect()
    assert not known.exists()


def testRunReportsExitStatusAndBothOutputs(server, client_key, tmp_path):
    with _Connect(server, client_key, tmp_path / "kh", accept_new=True) as conn:
        ok = conn.Run("echo", "data\n")
        failed = conn.Run("fail", "ignored")
        big = conn.Run("big")
    assert (ok.exit_code, ok.stdout, ok.stderr, ok.failed) == \
        (0, "data\n", "note\n", False)
    assert (failed.exit_code, failed.output, failed.failed) == (3, "it broke", True)
    assert (len(big.stdout), len(big.stderr)) == (300000, 300000)


def testCommandTimeoutIsAnExecError(server, client_key, tmp_path):
    with _Connect(server, client_key, tmp_path / "kh", accept_new=True) as conn:
        with pytest.raises(errors.OpExecError, match="did not finish within"):
            conn.Run("hang", timeout=0.3)


def testWrongClientKeyIsRefused(server, tmp_path):
    path = tmp_path / "other_key"
    _NewKey().write_private_key_file(str(path))
    with pytest.raises(errors.OpPrereqError, match="login as root .* was refused"):
        _Connect(server, (path, None), tmp_path / "kh", accept_new=True).Connect()


def testUnreachableDaemonIsAPrereqError(client_key, tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    pol = ssh.HostKeyPolicy(ssh.KnownHostsFile(str(tmp_path / "kh")))
    conn = ssh.SshConnection("node2", "127.0.0.1", port, pol,
                             key_file=str(client_key[0]), timeout=2)
    with pytest.raises(errors.OpPrereqError) as info:
        conn.Connect()
    assert "Cannot connect to the SSH daemon of node2 (127.0.0.1 port" in \
        info.value.args[0]
    assert info.value.args[1] == errors.ECODE_ENVIRON


def testKeyFileFromEnvironmentAndMissingKeys(tmp_path):
    assert ssh.GetDefaultKeyFile({ssh.ENV_SSH_KEY_FILE: "/some/key"}) == "/some/key"
    with pytest.raises(errors.OpPrereqError, match="Cannot load the SSH key"):
        ssh.LoadPrivateKey(str(tmp_path / "missing"))
    encrypted = tmp_path / "encrypted"
    _NewKey().write_private_key_file(str(encrypted), password="secret")
    with pytest.raises(errors.OpPrereqError, match="passphrase"):
        ssh.LoadPrivateKey(str(encrypted))


def testKnownHostsNamesAndFingerprintFormat():
    assert ssh.KnownHostsName("node1", 22) == "node1"
    assert ssh.KnownHostsName("node1", 2222) == "[node1]:2222"
    fingerprint = ssh.FormatKeyFingerprint(_NewKey())
    assert fingerprint.startswith("SHA256:") and not fingerprint.endswith("=")
    assert len(fingerprint) == len("SHA256:") + 43


def testUnreadableKnownHostsFileIsAPrereqError(tmp_path):
    directory = tmp_path / "known_hosts"
    directory.mkdir()
    with pytest.raises(errors.OpPrereqError, match="Cannot read the known hosts"):
        ssh.KnownHostsFile(str(directory))


def testRecordKeepsExistingLines(tmp_path):
    path = tmp_path / "known_hosts"
    path.write_text("cluster ssh-ed25519 AAAA")
    hosts = ssh.KnownHostsFile(str(path))
    key = _NewKey()
    hosts.Record(["[node3]:2200"], key)
    lines = path.read_text().splitlines()
    assert lines[0] == "cluster ssh-ed25519 AAAA"
    assert lines[1] == f"[node3]:2200 {key.get_name()} {key.get_base64()}"
    assert hosts.Lookup(["[node3]:2200"]) == {key.get_name(): key}
