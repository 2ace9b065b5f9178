"""Tests for ganeti.netutils: hosts-file resolution, IP helpers, TcpPing."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

from ganeti import constants, errors, netutils

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))

_HOSTS = """\
# virtual cluster hosts
127.0.0.11   node1.example.com node1   # first node
127.0.0.12   node2.example.com node2
::1          node6.example.com
127.0.0.1    cluster.example.com
not-an-ip    broken.example.com
"""


@pytest.fixture
def hosts_file(tmp_path, monkeypatch):
    path = tmp_path / "hosts"
    path.write_text(_HOSTS)
    monkeypatch.setenv(netutils.ENV_HOSTS_FILE, str(path))
    return path


def test_hostname_resolves_through_hosts_file(hosts_file):
    host = netutils.Hostname("node2.example.com")
    assert (host.name, host.ip) == ("node2.example.com", "127.0.0.12")


def test_alias_gives_canonical_name(hosts_file):
    host = netutils.GetHostname("NODE1")
    assert (host.name, host.ip) == ("node1.example.com", "127.0.0.11")
    assert netutils.Hostname.GetFqdn("node1") == "node1.example.com"


def test_family_selects_matching_entry(hosts_file):
    assert netutils.Hostname.GetIP("node6.example.com",
                                   family=socket.AF_INET6) == "::1"
    assert netutils.Hostname("node6.example.com", family=None).ip == "::1"


def test_hosts_file_is_reread(hosts_file):
    assert netutils.Hostname("node2").ip == "127.0.0.12"
    hosts_file.write_text("127.0.0.99 node2.example.com node2\n")
    assert netutils.Hostname("node2").ip == "127.0.0.99"


def test_unknown_name_raises_resolver_error(hosts_file):
    with pytest.raises(errors.ResolverError) as info:
        netutils.Hostname("no-such-node.invalid")
    name, _, message = info.value.args
    assert name == "no-such-node.invalid"
    assert "does not resolve" in message


def test_get_hostname_turns_resolver_error_into_prereq_error(hosts_file):
    with pytest.raises(errors.OpPrereqError) as info:
        netutils.GetHostname("no-such-node.invalid")
    assert info.value.args[1] == errors.ECODE_RESOLVER
    assert "no-such-node.invalid" in info.value.args[0]


def test_system_resolver_without_hosts_file(monkeypatch):
    monkeypatch.delenv(netutils.ENV_HOSTS_FILE, raising=False)
    assert netutils.Hostname.GetIP("localhost", family=socket.AF_INET) == (
        "127.0.0.1")


def test_missing_hosts_file_falls_back(tmp_path, monkeypatch):
    monkeypatch.setenv(netutils.ENV_HOSTS_FILE, str(tmp_path / "none"))
    assert netutils.Hostname("localhost").ip == "127.0.0.1"


def test_sys_name_is_a_name():
    assert netutils.Hostname.GetSysName()


def test_normalized_name():
    assert netutils.Hostname.GetNormalizedName("Node1.Example.COM") == (
        "node1.example.com")
    with pytest.raises(errors.OpPrereqError):
        netutils.Hostname.GetNormalizedName("bad name!")


@pytest.mark.parametrize("addr, v4, v6", [
    ("192.0.2.1", True, False),
    ("2001:db8::1", False, True),
    ("::ffff:1.2.3.4", False, True),
    ("256.1.1.1", False, False),
    ("1.2.3", False, False),
    ("node1", False, False),
    ("", False, False),
])
def test_ip_validity(addr, v4, v6):
    assert netutils.IP4Address.IsValid(addr) is v4
    assert netutils.IP6Address.IsValid(addr) is v6
    assert netutils.IPAddress.IsValid(addr) is (v4 or v6)


def test_address_family_and_versions():
    assert netutils.IPAddress.GetAddressFamily("10.0.0.1") == socket.AF_INET
    assert netutils.IPAddress.GetAddressFamily("fe80::1") == socket.AF_INET6
    with pytest.raises(errors.IPAddressError, match="Invalid address"):
        netutils.IPAddress.GetAddressFamily("nope")
    assert netutils.IPAddress.GetClassFromIpFamily(socket.AF_INET6) is (
        netutils.IP6Address)
    assert netutils.IPAddress.GetVersionFromAddressFamily(socket.AF_INET) == (
        constants.IP4_VERSION)


def test_loopback_and_networks():
    assert netutils.IPAddress.IsLoopback("127.4.5.6")
    assert netutils.IP6Address.IsLoopback("::1")
    assert not netutils.IP4Address.IsLoopback("::1")
    assert not netutils.IPAddress.IsLoopback("192.0.2.1")
    assert netutils.IP4Address.InNetwork("192.0.2.0/24", "192.0.2.77")
    assert not netutils.IP4Address.InNetwork("192.0.2.0/24", "192.0.3.1")
    assert netutils.IP4Address.ValidateNetmask(24)
    assert not netutils.IP4Address.ValidateNetmask(33)
    assert netutils.IPAddress.Own("127.0.0.1")
    assert not netutils.IP4Address.Own("192.0.2.200")


@pytest.fixture
def listener():
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(5)
    yield sock.getsockname()[1]
    sock.close()


def _ClosedPort() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_tcp_ping_listening_port(listener):
    assert netutils.TcpPing("127.0.0.1", listener, timeout=2,
                            live_port_needed=True)
    assert netutils.TcpPing("127.0.0.1", listener, timeout=2,
                            source="127.0.0.1")


def test_tcp_ping_closed_port():
    port = _ClosedPort()
    assert not netutils.TcpPing("127.0.0.1", port, timeout=2,
                                live_port_needed=True)
    # A refused connection still proves the host is up.
    assert netutils.TcpPing("127.0.0.1", port, timeout=2)


def test_tcp_ping_from_foreign_source_fails(listener):
    assert not netutils.TcpPing("127.0.0.1", listener, timeout=2,
                                source="192.0.2.200")


def test_tcp_ping_needs_ip():
    with pytest.raises(errors.ProgrammerError):
        netutils.TcpPing("localhost", 80)


def test_format_address():
    assert netutils.FormatAddress(("192.0.2.1", 1811)) == "192.0.2.1:1811"
    assert netutils.FormatAddress(("2001:db8::1", 80)) == "[2001:db8::1]:80"
    assert netutils.FormatAddress(("192.0.2.1", None)) == "192.0.2.1"
    assert netutils.FormatAddress((12, 0, 0), family=socket.AF_UNIX) == (
        "pid=12, uid=0, gid=0")
    with pytest.raises(errors.ParameterError):
        netutils.FormatAddress(("nohost", 1))


@pytest.mark.parametrize("port", [0, 65536, -1, "x", None, True])
def test_validate_port_number_rejects(port):
    with pytest.raises(errors.OpPrereqError) as info:
        netutils.ValidatePortNumber(port)
    assert info.value.args[1] == errors.ECODE_INVAL


def test_validate_port_number_accepts():
    assert netutils.ValidatePortNumber("1811") == 1811
    assert netutils.ValidatePortNumber(65535) == 65535


def test_daemon_port():
    if _HasService(constants.NODED):
        expected = socket.getservbyname(constants.NODED, "tcp")
    else:
        expected = constants.DEFAULT_NODED_PORT
    assert netutils.GetDaemonPort(constants.NODED) == expected
    with pytest.raises(errors.ProgrammerError, match="Unknown daemon"):
        netutils.GetDaemonPort(constants.MASTERD)


def _HasService(name: str) -> bool:
    try:
        socket.getservbyname(name, "tcp")
    except OSError:
        return False
    return True


def test_virtual_node_uses_hosts_file_of_base_dir(tmp_path):
    (tmp_path / "hosts").write_text(_HOSTS)
    root = tmp_path / "node1.example.com"
    env = {k: v for k, v in os.environ.items() if k != netutils.ENV_HOSTS_FILE}
    env.update({constants.ENV_ROOTDIR: str(root),
                constants.ENV_HOSTNAME: "node1.example.com"})
    script = ("from ganeti import netutils\n"
              "me = netutils.Hostname()\n"
              "print(me.name, me.ip, netutils.Hostname('node2').ip)")
    result = subprocess.run([sys.executable, "-c", script], env=env, cwd=REPO_ROOT,
                            capture_output=True, text=True, check=True)
    assert result.stdout == "node1.example.com 127.0.0.11 127.0.0.12\n"


def test_daemon_port_can_be_moved_by_the_environment(monkeypatch):
    monkeypatch.setenv("GANETI_NODED_PORT", "18123")
    assert netutils.GetDaemonPort("ganeti-noded") == 18123
    monkeypatch.setenv("GANETI_NODED_PORT", "not-a-port")
    with pytest.raises(errors.ConfigurationError, match="GANETI_NODED_PORT"):
        netutils.GetDaemonPort("ganeti-noded")
    monkeypatch.setenv("GANETI_RAPI_PORT", "15080")
    assert netutils.GetDaemonPort("ganeti-rapi") == 15080
