"""Where to send a node RPC: node name or UUID -> address and offline flag.

Mirrors the resolvers of Ganeti's lib/rpc/node.py: the master resolves from
its configuration (`ConfigResolver`); code running without a configuration
(bootstrap, node add, the watcher) resolves from the ssconf files
(`SsconfResolver`); tests use a fixed map (`StaticResolver`). A name that none
of them knows is looked up by host name, as Ganeti does, so that a node not
yet in the cluster can still be contacted.

Resolution never raises for one bad node: that node's NodeAddress carries an
error message and the runner turns it into that node's failed result.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, NamedTuple, Protocol

from ganeti import errors, netutils

NsLookupFn = Callable[[str], str]


class NodeAddress(NamedTuple):
    """Where one node's noded listens, as far as the master knows.

    Attributes:
      name: the node's name, used in messages.
      ip: its primary IP, or None when it could not be resolved.
      offline: the node is marked offline (not contacted by default).
      error: why ip is None.
    """

    name: str
    ip: str | None = None
    offline: bool = False
    error: str | None = None


class Resolver(Protocol):
    """What the runner needs: the addresses of a batch of nodes."""

    def Resolve(self, nodes: Sequence[str]) -> list[NodeAddress]:
        """Return one NodeAddress per entry of nodes, in the same order."""
        ...


def _DefaultNsLookup(name: str) -> str:
    """Resolve a host name: the virtual cluster's hosts file, then the OS.

    Raises:
      errors.ResolverError: the name does not resolve.
    """
    return netutils.Hostname.GetIP(name)


def _LookupAddress(name: str, nslookup_fn: NsLookupFn) -> NodeAddress:
    """Resolve an unknown node by host name, as Ganeti's resolvers do."""
    try:
        return NodeAddress(name, nslookup_fn(name))
    except errors.ResolverError as err:
        message = err.args[-1] if err.args else str(err)
        return NodeAddress(name, error=f"Cannot resolve node {name}: {message}")


class StaticResolver:
    """A fixed map name -> IP; for tests and the virtual cluster tooling."""

    def __init__(self, addresses: dict[str, str],
                 offline: Iterable[str] = ()) -> None:
        """Args:
          addresses: node name -> IP.
          offline: names of the nodes marked offline.
        """
        self._addresses = dict(addresses)
        self._offline = frozenset(offline)

    def Resolve(self, nodes: Sequence[str]) -> list[NodeAddress]:
        result = []
        for node in nodes:
            ip = self._addresses.get(node)
            if ip is None:
                result.append(NodeAddress(node, error=f"Unknown node {node}"))
            else:
                result.append(NodeAddress(node, ip, node in self._offline))
        return result


class ConfigResolver:
    """Resolve through the master's ConfigWriter (node UUIDs or names)."""

    def __init__(self, cfg: Any, nslookup_fn: NsLookupFn | None = None) -> None:
        """Args:
          cfg: a ConfigWriter (GetNodeInfo(uuid), GetNodeInfoByName(name)).
          nslookup_fn: host name lookup for nodes not in the configuration.
        """
        self._cfg = cfg
        self._nslookup_fn = nslookup_fn or _DefaultNsLookup

    def _FindNode(self, node: str) -> Any:
        ninfo = self._cfg.GetNodeInfo(node)
        if ninfo is None and hasattr(self._cfg, "GetNodeInfoByName"):
            ninfo = self._cfg.GetNodeInfoByName(node)
        return ninfo

    def Resolve(self, nodes: Sequence[str]) -> list[NodeAddress]:
        result = []
        for node in nodes:
            ninfo = self._FindNode(node)
            if ninfo is None:
                # Not in the configuration (e.g. a node being added): the
                # argument is taken as a host name, as Ganeti does.
                result.append(_LookupAddress(node, self._nslookup_fn))
            else:
                result.append(NodeAddress(ninfo.name, ninfo.primary_ip,
                                          bool(ninfo.offline)))
        return result


class SsconfResolver:
    """Resolve through this node's ssconf files (no configuration needed)."""

    def __init__(self, ss: Any = None, nslookup_fn: NsLookupFn | None = None) -> None:
        """Args:
          ss: an ssconf.SimpleStore (default: this node's).
          nslookup_fn: host name lookup for nodes ssconf does not list.
        """
        if ss is None:
            from ganeti import ssconf
            ss = ssconf.SimpleStore()
        self._ss = ss
        self._nslookup_fn = nslookup_fn or _DefaultNsLookup

    def _ReadMaps(self) -> tuple[dict[str, str], frozenset[str]]:
        # A node outside any cluster has no ssconf files; every name is then
        # looked up by host name.
        try:
            ips = self._ss.GetNodePrimaryIPMap()
        except errors.ConfigurationError:
            ips = {}
        try:
            offline = frozenset(self._ss.GetOfflineNodeList())
        except errors.ConfigurationError:
            offline = frozenset()
        return ips, offline

    def Resolve(self, nodes: Sequence[str]) -> list[NodeAddress]:
        ips, offline = self._ReadMaps()
        result = []
        for node in nodes:
            ip = ips.get(node)
            if ip is None:
                result.append(_LookupAddress(node, self._nslookup_fn))
            else:
                result.append(NodeAddress(node, ip, node in offline))
        return result
