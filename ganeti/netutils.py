"""Network helpers: host name resolution, IP addresses, TCP ping, ports.

Mirrors Ganeti's lib/netutils.py, with one addition for virtual clusters:
their node names (node1.example.com ... on 127.0.0.x) must resolve without
editing /etc/hosts. So when GANETI_HOSTS_FILE is set, or the process runs as
a virtual node, names are first looked up in a hosts file ("ip name
[aliases]", /etc/hosts format): the one GANETI_HOSTS_FILE names, else
"<virtual cluster base dir>/hosts". Names not found there go to the system
resolver as usual.
"""

from __future__ import annotations

import errno
import ipaddress
import logging
import os
import re
import socket

from ganeti import constants, errors, vcluster

logger = logging.getLogger(__name__)

ENV_HOSTS_FILE = "GANETI_HOSTS_FILE"

# A host name: dot-separated labels of letters, digits, "-" and "_" (as
# Ganeti's Hostname.GetNormalizedName accepts), at most 255 characters.
_VALID_NAME_RE = re.compile(r"^[a-z0-9_-]{1,63}(\.[a-z0-9_-]{1,63})*\.?$")


def _GetHostsFile() -> str | None:
    """The extra hosts file to consult first, or None."""
    path = os.environ.get(ENV_HOSTS_FILE)
    if path:
        return path
    if vcluster.IsVirtual():
        return os.path.join(vcluster.GetBaseDirectory(), "hosts")
    return None


def _ReadHostsFile(path: str) -> list[tuple[str, list[str]]]:
    """Parse a hosts file into [(ip, [canonical name, aliases...])].

    A missing file is empty; unreadable lines are ignored.
    """
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            lines = fh.readlines()
    except FileNotFoundError:
        return []
    except OSError as err:
        logger.warning("Can't read hosts file %s: %s", path, err)
        return []
    entries = []
    for line in lines:
        fields = line.split("#", 1)[0].split()
        if len(fields) >= 2 and IPAddress.IsValid(fields[0]):
            entries.append((fields[0], fields[1:]))
    return entries


def _FamilyMatches(address: str, family: int | None) -> bool:
    if family is None:
        return True
    return IPAddress.GetAddressFamily(address) == family


def _LookupHostsFile(name: str,
                     family: int | None) -> tuple[str, str] | None:
    """Find name (a host name or an IP) in the extra hosts file.

    Returns:
      (canonical name, ip) of the first matching line, or None.
    """
    path = _GetHostsFile()
    if path is None:
        return None
    wanted = name.lower().rstrip(".")
    is_ip = IPAddress.IsValid(name)
    for ip, names in _ReadHostsFile(path):
        if is_ip:
            if ip == name:
                return names[0], ip
            continue
        known = {n.lower().rstrip(".") for n in names}
        if wanted in known and _FamilyMatches(ip, family):
            return names[0], ip
    return None


class Hostname:
    """A resolved host: its fully qualified name and one IP address.

    Attributes:
      name: the fully qualified domain name.
      ip: an address of the requested family.
    """

    def __init__(self, name: str | None = None,
                 family: int | None = socket.AF_INET):
        """Resolve name (default: this node's own name).

        Raises:
          errors.ResolverError: (name, code, message) the name does not
            resolve (for that family).
        """
        self.name = self.GetFqdn(name)
        self.ip = self.GetIP(self.name, family=family)

    def __repr__(self) -> str:
        return f"<Hostname name={self.name!r} ip={self.ip!r}>"

    @staticmethod
    def GetSysName() -> str:
        """This node's own name: the virtual host name on a virtual node."""
        virtual = vcluster.GetVirtualHostname()
        if virtual:
            return virtual
        return socket.getfqdn()

    @staticmethod
    def GetFqdn(hostname: str | None = None) -> str:
        """Return the fully qualified name of hostname (default: ourselves)."""
        if hostname is None:
            return Hostname.GetSysName()
        found = _LookupHostsFile(hostname, None)
        if found is not None:
            return found[0]
        return socket.getfqdn(hostname)

    @staticmethod
    def GetIP(hostname: str, family: int | None = None) -> str:
        """Resolve hostname to one IP address of the given family (any if None).

        Raises:
          errors.ResolverError: (hostname, code, message) on failure.
        """
        if family not in (None, socket.AF_INET, socket.AF_INET6):
            raise errors.ProgrammerError(f"Invalid address family {family}")
        found = _LookupHostsFile(hostname, family)
        if found is not None:
            return found[1]
        try:
            result = socket.getaddrinfo(hostname, None, family or socket.AF_UNSPEC,
                                        socket.SOCK_STREAM)
        except UnicodeError as err:
            raise errors.ResolverError(
                hostname, socket.EAI_NONAME,
                f"Invalid host name '{hostname}': {err}") from err
        except OSError as err:
            code = err.args[0] if err.args else 0
            reason = err.args[1] if len(err.args) > 1 else str(err)
            raise errors.ResolverError(
                hostname, code,
                f"Host name '{hostname}' does not resolve: {reason}") from err
        if not result:
            raise errors.ResolverError(
                hostname, 0, f"Host name '{hostname}' resolved to no address")
        return result[0][4][0]

    @staticmethod
    def GetNormalizedName(hostname: str) -> str:
        """Lower-case hostname and check that it is a valid host name.

        Raises:
          errors.OpPrereqError: (ECODE_INVAL) the name is not valid.
        """
        name = hostname.lower() if isinstance(hostname, str) else ""
        if len(name) > 255 or not _VALID_NAME_RE.match(name):
            raise errors.OpPrereqError(f"Invalid hostname '{hostname}'",
                                       errors.ECODE_INVAL)
        return name


def GetHostname(name: str | None = None, family: int | None = None) -> Hostname:
    """Resolve a name as Hostname does, for user input.

    Raises:
      errors.OpPrereqError: (ECODE_RESOLVER) the name does not resolve.
    """
    try:
        return Hostname(name=name, family=family)
    except errors.ResolverError as err:
        raise errors.OpPrereqError(
            f"The given name ({err.args[0]}) does not resolve: {err.args[2]}",
            errors.ECODE_RESOLVER) from err


class IPAddress:
    """IP address helpers; the subclasses restrict them to one family."""

    iplen = 0
    family: int | None = None
    loopback_cidr = ""
    _ip_class: type = object

    @classmethod
    def _Parse(cls, address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
        if cls.family is None:
            return ipaddress.ip_address(address)
        return cls._ip_class(address)

    @classmethod
    def IsValid(cls, address: str) -> bool:
        """Whether address is a valid address (of this class's family)."""
        if not isinstance(address, str):
            return False
        try:
            cls._Parse(address)
        except ValueError:
            return False
        return True

    @classmethod
    def ValidateNetmask(cls, netmask: int) -> bool:
        """Whether netmask is a valid prefix length for this family."""
        return isinstance(netmask, int) and 0 < netmask <= cls.iplen

    @classmethod
    def InNetwork(cls, cidr: str, address: str) -> bool:
        """Whether address lies in the network cidr ("10.0.0.0/8").

        Raises:
          errors.IPAddressError: the network or the address is malformed.
        """
        try:
            network = ipaddress.ip_network(cidr, strict=False)
            addr = cls._Parse(address)
        except ValueError as err:
            raise errors.IPAddressError(
                f"Invalid network '{cidr}' or address '{address}': {err}") from err
        return addr in network

    @classmethod
    def IsLoopback(cls, address: str) -> bool:
        """Whether address is a loopback address."""
        try:
            return cls._Parse(address).is_loopback
        except ValueError:
            return False

    @classmethod
    def Own(cls, address: str) -> bool:
        """Whether this host has address (it can bind a socket to it)."""
        family = cls.family or IPAddress.GetAddressFamily(address)
        with socket.socket(family, socket.SOCK_DGRAM) as sock:
            try:
                sock.bind((address, 0))
            except OSError as err:
                if err.errno == errno.EADDRNOTAVAIL:
                    return False
                raise
        return True

    @staticmethod
    def GetAddressFamily(address: str) -> int:
        """socket.AF_INET or AF_INET6 for address.

        Raises:
          errors.IPAddressError: address is not a valid IP address.
        """
        if IP4Address.IsValid(address):
            return socket.AF_INET
        if IP6Address.IsValid(address):
            return socket.AF_INET6
        raise errors.IPAddressError(f"Invalid address '{address}'")

    @staticmethod
    def GetVersionFromAddressFamily(family: int) -> int:
        """constants.IP4_VERSION/IP6_VERSION for a socket family."""
        versions = {socket.AF_INET: constants.IP4_VERSION,
                    socket.AF_INET6: constants.IP6_VERSION}
        if family not in versions:
            raise errors.ProgrammerError(f"{family} is not a valid IP family")
        return versions[family]

    @staticmethod
    def GetAddressFamilyFromVersion(version: int) -> int:
        """Socket family for constants.IP4_VERSION/IP6_VERSION."""
        families = {constants.IP4_VERSION: socket.AF_INET,
                    constants.IP6_VERSION: socket.AF_INET6}
        if version not in families:
            raise errors.ProgrammerError(f"{version} is not a valid IP version")
        return families[version]

    @staticmethod
    def GetClassFromIpFamily(family: int) -> type[IPAddress]:
        return IPAddress.GetClassFromIpVersion(
            IPAddress.GetVersionFromAddressFamily(family))

    @staticmethod
    def GetClassFromIpVersion(version: int) -> type[IPAddress]:
        classes = {constants.IP4_VERSION: IP4Address,
                   constants.IP6_VERSION: IP6Address}
        if version not in classes:
            raise errors.ProgrammerError(f"{version} is not a valid IP version")
        return classes[version]


class IP4Address(IPAddress):
    """IPv4 addresses."""

    iplen = 32
    family = socket.AF_INET
    loopback_cidr = "127.0.0.0/8"
    _ip_class = ipaddress.IPv4Address


class IP6Address(IPAddress):
    """IPv6 addresses."""

    iplen = 128
    family = socket.AF_INET6
    loopback_cidr = "::1/128"
    _ip_class = ipaddress.IPv6Address


def TcpPing(target: str, port: int, timeout: float = 10,
            live_port_needed: bool = False, source: str | None = None) -> bool:
    """Check whether a host answers on a TCP port.

    Args:
      target: the IP address to connect to.
      port: the TCP port.
      timeout: seconds to wait for the connection.
      live_port_needed: require a listening port; otherwise a refused
        connection also counts (the host is up, only the port is closed).
      source: local address to connect from; if we don't have it, the
        ping fails.

    Returns:
      whether the host (or port) answered.

    Raises:
      errors.ProgrammerError: target is not an IP address.
    """
    try:
        family = IPAddress.GetAddressFamily(target)
    except errors.IPAddressError as err:
        raise errors.ProgrammerError(
            f"TcpPing needs an IP address as target: {err}") from err
    logger.debug("Checking connectivity to %s:%s", target, port)
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        if source is not None:
            try:
                sock.bind((source, 0))
            except OSError as err:
                if err.errno == errno.EADDRNOTAVAIL:
                    return False
                raise
        sock.settimeout(timeout)
        try:
            sock.connect((target, port))
        except TimeoutError:
            return False
        except OSError as err:
            return not live_port_needed and err.errno == errno.ECONNREFUSED
    return True


def FormatAddress(address: tuple, family: int | None = None) -> str:
    """Format a socket address: "1.2.3.4:80", "[::1]:80", or "pid=, uid=, gid="
    for (pid, uid, gid) credentials of a Unix socket peer.

    Raises:
      errors.ParameterError: the address does not fit the family.
    """
    if family is None:
        try:
            family = IPAddress.GetAddressFamily(address[0])
        except (errors.IPAddressError, IndexError, TypeError) as err:
            raise errors.ParameterError(
                f"Can't format address {address!r}: unknown family") from err
    if family == socket.AF_UNIX and len(address) == 3:
        pid, uid, gid = address
        return f"pid={pid}, uid={uid}, gid={gid}"
    if family in (socket.AF_INET, socket.AF_INET6) and len(address) == 2:
        host, port = address
        text = f"[{host}]" if family == socket.AF_INET6 else host
        return text if port is None else f"{text}:{port}"
    raise errors.ParameterError(f"Can't format address {address!r}"
                                f" for family {family}")


def ValidatePortNumber(port: int | str) -> int:
    """Return port as int if it is a valid TCP/UDP port (1-65535).

    Raises:
      errors.OpPrereqError: (ECODE_INVAL) not a valid port number.
    """
    try:
        value = int(port)
    except (TypeError, ValueError) as err:
        raise errors.OpPrereqError(f"Invalid port number '{port}'",
                                   errors.ECODE_INVAL) from err
    if isinstance(port, bool) or not 0 < value <= 65535:
        raise errors.OpPrereqError(
            f"Invalid port number '{port}': must be between 1 and 65535",
            errors.ECODE_INVAL)
    return value


def GetDaemonPortEnvName(daemon_name: str) -> str:
    """The variable that moves a daemon's port: ganeti-noded -> GANETI_NODED_PORT."""
    return "GANETI_" + daemon_name.removeprefix("ganeti-").upper() + "_PORT"


def GetDaemonPort(daemon_name: str) -> int:
    """The port of a daemon: from the environment, the services database, else
    the default.

    The environment variable (GetDaemonPortEnvName) is our addition for
    virtual clusters running beside each other on one machine (tests): every
    process of such a cluster must see the same value. Real Ganeti has only
    the services database and the built-in default.

    Raises:
      errors.ProgrammerError: the daemon has no port.
    """
    if daemon_name not in constants.DAEMONS_PORTS:
        raise errors.ProgrammerError(f"Unknown daemon: {daemon_name}")
    proto, default_port = constants.DAEMONS_PORTS[daemon_name]
    env_name = GetDaemonPortEnvName(daemon_name)
    value = os.environ.get(env_name)
    if value:
        try:
            return ValidatePortNumber(value)
        except errors.OpPrereqError as err:
            raise errors.ConfigurationError(
                f"Invalid {env_name} in the environment: {value!r}") from err
    try:
        return socket.getservbyname(daemon_name, proto)
    except OSError:
        return default_port
