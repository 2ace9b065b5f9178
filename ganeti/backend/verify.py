"""Node side of cluster verification: the node_verify RPC procedures.

The master (LUClusterVerifyGroup) sends a dict of checks keyed by the NV_*
names of Ganeti 3.0 (src/Ganeti/Constants.hs); each value is that check's
argument. The node answers a dict with a result under the same key for every
check it ran; keys it does not know are ignored, so the master notices the
missing answer. Result shapes follow Ganeti's backend.VerifyNode:

  NV_FILELIST          [path, ...] -> {virtual path: sha1 hex} of the files
                       that exist (missing files are simply absent)
  NV_NODELIST          [nodes, {node: [extra nodes]}] -> {node: error} for
                       the nodes whose node daemon port did not accept a TCP
                       connection (Ganeti tries ssh here; see below)
  NV_NODENETTEST       [[name, primary ip, secondary ip], ...] -> {name:
                       error} for nodes not reachable from our own addresses
  NV_MASTERIP          [master name, master ip] -> bool
  NV_VERSION           None -> [protocol version, release version]
  NV_TIME              None -> [seconds, microseconds] of this node's clock
  NV_HVINFO            hypervisor name -> node resources (node_info's dict)
  NV_HYPERVISOR        [hv names] -> {hv: None or problem} (driver Verify)
  NV_HVPARAMS          [[source, hv, params]] -> [[source, hv, problem]]
  NV_INSTANCELIST      [hv names] -> running instance names, or an error
  NV_NODESETUP         None -> [problems with /sys and /proc]
  NV_USERSCRIPTS       [paths] -> the paths that are not executable
  NV_OOB_PATHS         [paths] -> [None or problem] per path
  NV_CLIENT_CERT       None -> [None, sha1 digest] or [CV_*, message]
  NV_BRIDGES           [bridges] -> the missing bridges
  NV_VGLIST            None -> {vg: size MiB}
  NV_PVLIST            [vgs] -> [LvmPvInfo dicts]
  NV_LVLIST            vg -> {"vg/lv": [size, inactive, online]} or error
  NV_ACCEPTED_STORAGE_PATHS  node name -> forbidden entries of the
                       allowed file storage paths file (on that node only)
  NV_FILE_STORAGE_PATH, NV_SHARED_FILE_STORAGE_PATH, NV_GLUSTER_STORAGE_PATH
                       path -> problem (key absent when the path is fine)

Checks marked "vm" are skipped on nodes listed in NV_NONVMNODES, as Ganeti
does. NV_NODELIST probes the node daemon's TCP port instead of logging in
over ssh: reachability of every node is what verify needs, and a node's
noded port answers on every node of the cluster, whereas an sshd does not
run on every virtual node. Connectivity probes run in parallel so that one
dead node costs one timeout, not one per node.

node_verify_light runs the same checks (as Ganeti's noded does); it is the
form used for a node that is not yet part of the cluster.
"""

from __future__ import annotations

import hashlib
import importlib
import logging
import os
import socket
import stat
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from ganeti import constants, errors, netutils, pathutils, vcluster
from ganeti.backend import RPCFail, args
from ganeti.backend import node as backend_node
from ganeti.utils import io, process
from ganeti.utils.text import NiceSort

logger = logging.getLogger(__name__)

# --- check names (Ganeti's NV_* constants) -----------------------------------
NV_BRIDGES = "bridges"
NV_CLIENT_CERT = "client-cert"
NV_DRBDHELPER = "drbd-helper"
NV_DRBDLIST = "drbd-list"
NV_DRBDVERSION = "drbd-version"
NV_EXCLUSIVEPVS = "exclusive-pvs"
NV_FILELIST = "filelist"
NV_ACCEPTED_STORAGE_PATHS = "allowed-file-storage-paths"
NV_FILE_STORAGE_PATH = "file-storage-path"
NV_SHARED_FILE_STORAGE_PATH = "shared-file-storage-path"
NV_GLUSTER_STORAGE_PATH = "gluster-storage-path"
NV_HVINFO = "hvinfo"
NV_HVPARAMS = "hvparms"
NV_HYPERVISOR = "hypervisor"
NV_INSTANCELIST = "instancelist"
NV_LVLIST = "lvlist"
NV_MASTERIP = "master-ip"
NV_NODELIST = "nodelist"
NV_NODENETTEST = "node-net-test"
NV_NODESETUP = "nodesetup"
NV_OOB_PATHS = "oob-paths"
NV_OSLIST = "oslist"
NV_PVLIST = "pvlist"
NV_TIME = "time"
NV_USERSCRIPTS = "user-scripts"
NV_VERSION = "version"
NV_VGLIST = "vglist"
NV_NONVMNODES = "nonvmnodes"
NV_SSH_SETUP = "ssh-setup"
NV_SSH_CLUTTER = "ssh-clutter"

# Severity levels of verify messages (Ganeti's CV_ERROR, CV_WARNING); the
# client certificate check reports one of them.
CV_ERROR = "ERROR"
CV_WARNING = "WARNING"

# How long one connectivity probe may take. Ganeti's TcpPing default; a
# dead node costs this once since the probes run in parallel.
PING_TIMEOUT = 10.0
# Most probes in flight at once from one node.
_MAX_PROBES = 16
# LVM listings that take longer than this are hung (node_verify is a
# NORMAL call, but one check must not eat its whole timeout).
_LVM_TIMEOUT = constants.RPC_TMO_URGENT
# Path prefixes never acceptable for file storage (Ganeti's
# filestorage._GetForbiddenFileStoragePaths).
FORBIDDEN_STORAGE_PATHS = frozenset(
    ["/boot", "/dev", "/etc", "/home", "/proc", "/root", "/sys"]
    + [f"{prefix}/{sub}" for prefix in ("", "/usr", "/usr/local")
       for sub in ("bin", "lib", "lib32", "lib64", "sbin")])
_RENEW_CERTS_CMD = "gnt-cluster renew-crypto --new-node-certificates"
_NO_RESULT = object()

RunFn = Callable[[list[str]], process.RunResult]


@dataclass
class NodeContext:
    """What the checks need to know about this node and its environment.

    Attributes:
      my_name: this node's name (as the configuration spells it).
      port: the node daemon's TCP port (the same on every node).
      all_hvparams: hypervisor name -> parameters, from the master.
      run_fn: runs a command (test seam for the LVM tools).
      hypervisor: the ganeti.hypervisor package, or None without drivers.
      now_fn: this node's clock.
    """

    my_name: str
    port: int
    all_hvparams: dict[str, Any]
    run_fn: RunFn
    hypervisor: Any
    now_fn: Callable[[], float] = time.time


# --- helpers ----------------------------------------------------------------


def SplitTime(value: float) -> list[int]:
    """Split a UNIX time into [seconds, microseconds] (Ganeti's SplitTime)."""
    seconds = int(value)
    micro = int(round((value - seconds) * 1000000))
    if micro >= 1000000:
        seconds, micro = seconds + 1, micro - 1000000
    return [seconds, micro]


def MergeTime(value: Any) -> float:
    """Inverse of SplitTime.

    Raises:
      ValueError: value is not a [seconds, microseconds] pair in range.
      TypeError: the items are not numbers.
    """
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise ValueError(f"Invalid time value {value!r}")
    seconds, micro = value
    if isinstance(seconds, bool) or isinstance(micro, bool):
        raise TypeError(f"Invalid time value {value!r}")
    if seconds < 0 or not 0 <= micro <= 999999:
        raise ValueError(f"Time value out of range: {value!r}")
    return float(seconds) + float(micro) * 0.000001


def FingerprintFile(path: str) -> str | None:
    """The sha1 hex digest of a regular file, or None if it cannot be read."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return None
        digest = hashlib.sha1()
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(65536), b""):
                digest.update(chunk)
    except OSError as err:
        logger.debug("Cannot fingerprint %s: %s", path, err)
        return None
    return digest.hexdigest()


def VerifyCertificate(filename: str, _now: float | None = None
                      ) -> tuple[str | None, str | None]:
    """Check a PEM certificate file as Ganeti's utils.VerifyCertificate does.

    The expiry thresholds are constants.SSL_CERT_EXPIRATION_WARN/ERROR.

    Returns:
      (None, None) when fine, else (CV_WARNING or CV_ERROR, message naming
      the file); an unreadable file is an error.
    """
    # Imported here: pyOpenSSL is heavy, and noded keeps its imports lean
    # (it mlocks all its memory); only the certificate checks need it.
    from ganeti.utils import x509

    try:
        cert = x509.ReadCertificateFile(filename)
    except errors.X509CertError as err:
        # The error's args are (file name, reason); the file is named already.
        reason = err.args[-1] if err.args else err
        return CV_ERROR, f"Failed to load X509 certificate {filename}: {reason}"
    code, msg = x509.VerifyX509Certificate(
        cert, constants.SSL_CERT_EXPIRATION_WARN,
        constants.SSL_CERT_EXPIRATION_ERROR, _now=_now)
    text = f"While verifying {filename}: {msg}" if msg else None
    if code == x509.CERT_ERROR:
        return CV_ERROR, text
    if code == x509.CERT_WARNING:
        return CV_WARNING, text
    return None, text


def LocalPath(path: Any, what: str) -> str:
    """A path from the master as a local path (virtual paths localised)."""
    return args.LocalizePath(path, what)


def WirePath(path: str) -> str:
    """A local path in its wire form (virtual on a virtual node)."""
    # Paths outside this node's root (e.g. /etc/hosts) are sent as they are.
    return vcluster.MakeVirtualPath(path, allow_outside=True)


def _GetHypervisorPackage() -> Any:
    """The ganeti.hypervisor package, or None while no driver exists."""
    try:
        return importlib.import_module("ganeti.hypervisor")
    except ModuleNotFoundError as err:
        if err.name != "ganeti.hypervisor":
            raise
        return None


def _GetDriver(ctx: NodeContext, hv_name: str) -> Any:
    """The driver object of a hypervisor.

    Raises:
      errors.HypervisorError: no driver for it.
    """
    get_fn = getattr(ctx.hypervisor, "GetHypervisor", None)
    if get_fn is None:
        raise errors.HypervisorError(f"No driver for hypervisor '{hv_name}'")
    return get_fn(hv_name)


def _RunCommand(argv: list[str]) -> process.RunResult:
    return process.RunCmd(argv, timeout=_LVM_TIMEOUT)


def _Parallel(fn: Callable[[Any], Any], items: list[Any]) -> list[Any]:
    """fn applied to every item, in parallel threads, results in order."""
    if len(items) <= 1:
        return [fn(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(_MAX_PROBES, len(items))) as pool:
        return list(pool.map(fn, items))


def ProbeTcp(address: str, port: int, timeout: float = PING_TIMEOUT) -> str | None:
    """Open (and close) a TCP connection; return None or why it failed."""
    try:
        family = netutils.IPAddress.GetAddressFamily(address)
    except errors.IPAddressError as err:
        return f"invalid address {address!r}: {err}"
    try:
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect((address, port))
    except TimeoutError:
        return f"connection to {address}:{port} timed out after {timeout:g}s"
    except OSError as err:
        return f"connection to {address}:{port} failed: {err.strerror or err}"
    return None


# --- connectivity -------------------------------------------------------------


def _CheckNodeList(value: Any, ctx: NodeContext) -> dict[str, str]:
    """NV_NODELIST: the nodes whose node daemon port we cannot reach."""
    value = args.CheckList(value, f"check '{NV_NODELIST}'")
    if len(value) not in (2, 3):
        raise RPCFail(f"Invalid check '{NV_NODELIST}': expected [nodes, bynode]")
    nodes = list(args.CheckList(value[0], f"node list of '{NV_NODELIST}'"))
    bynode = args.CheckDict(value[1], f"per-node list of '{NV_NODELIST}'")
    nodes.extend(bynode.get(ctx.my_name) or [])

    def _Probe(name: Any) -> str | None:
        name = args.CheckStr(name, f"node name in '{NV_NODELIST}'", non_empty=True)
        try:
            address = netutils.Hostname.GetIP(name)
        except errors.ResolverError as err:
            return f"cannot resolve the node name: {err}"
        problem = ProbeTcp(address, ctx.port)
        if problem is None:
            return None
        return f"node daemon not reachable: {problem}"

    problems = _Parallel(_Probe, nodes)
    return {name: problem for name, problem in zip(nodes, problems)
            if problem is not None}


def _CheckNodeNetTest(value: Any, ctx: NodeContext) -> dict[str, str]:
    """NV_NODENETTEST: reach every node's addresses from our own (Ganeti's
    TcpPing semantics: a refused connection still proves the host is up)."""
    entries = [args.CheckList(entry, f"entry of '{NV_NODENETTEST}'", length=3)
               for entry in args.CheckList(value, f"check '{NV_NODENETTEST}'")]
    own = [entry for entry in entries if entry[0] == ctx.my_name]
    if not own:
        return {ctx.my_name: "Can't find my own primary/secondary IP in the"
                " node list"}
    _, my_pip, my_sip = own[0]

    def _Probe(entry: list[Any]) -> str | None:
        _, pip, sip = entry
        fail = []
        if not netutils.TcpPing(pip, ctx.port, timeout=PING_TIMEOUT, source=my_pip):
            fail.append("primary")
        if sip != pip and not netutils.TcpPing(sip, ctx.port, timeout=PING_TIMEOUT,
                                               source=my_sip):
            fail.append("secondary")
        if not fail:
            return None
        return f"failure using the {' and '.join(fail)} interface(s)"

    try:
        problems = _Parallel(_Probe, entries)
    except errors.ProgrammerError as err:
        raise RPCFail(f"Invalid address in check '{NV_NODENETTEST}': {err}") from err
    return {entry[0]: problem for entry, problem in zip(entries, problems)
            if problem is not None}


def _CheckMasterIp(value: Any, ctx: NodeContext) -> bool:
    """NV_MASTERIP: whether the master IP answers (from localhost on the
    master itself)."""
    master_name, master_ip = args.CheckList(value, f"check '{NV_MASTERIP}'",
                                            length=2)
    source = constants.IP4_ADDRESS_LOCALHOST if master_name == ctx.my_name else None
    try:
        return netutils.TcpPing(master_ip, ctx.port, timeout=PING_TIMEOUT,
                                source=source)
    except errors.ProgrammerError as err:
        raise RPCFail(f"Invalid master IP in check '{NV_MASTERIP}': {err}") from err
    except OSError as err:
        logger.warning("Cannot check the master IP %s: %s", master_ip, err)
        return False


# --- files, versions, certificates ---------------------------------------------


def _CheckFileList(value: Any, _ctx: NodeContext) -> dict[str, str]:
    """NV_FILELIST: sha1 of every listed file that exists, by wire path."""
    result = {}
    for path in args.CheckList(value, f"check '{NV_FILELIST}'"):
        local = LocalPath(path, f"file name in '{NV_FILELIST}'")
        checksum = FingerprintFile(local)
        if checksum is not None:
            result[WirePath(local)] = checksum
    return result


def _CheckVersion(_value: Any, _ctx: NodeContext) -> list[Any]:
    return [constants.PROTOCOL_VERSION, constants.RELEASE_VERSION]


def _CheckTime(_value: Any, ctx: NodeContext) -> list[int]:
    return SplitTime(ctx.now_fn())


def _CheckClientCert(_value: Any, _ctx: NodeContext) -> list[Any]:
    """NV_CLIENT_CERT: [None, digest] or [CV_ERROR/CV_WARNING, message]."""
    cert_file = pathutils.NODED_CLIENT_CERT_FILE
    if not os.path.exists(cert_file):
        return [CV_ERROR, "The client certificate does not exist. Run"
                f" '{_RENEW_CERTS_CMD}' to create client certificates for all"
                " nodes."]
    code, msg = VerifyCertificate(cert_file)
    if code is not None:
        return [code, msg]
    from ganeti.utils import x509  # see VerifyCertificate

    try:
        return [None, x509.GetCertificateDigest(cert_filename=cert_file)]
    except errors.X509CertError as err:
        reason = err.args[-1] if err.args else err
        return [CV_ERROR, f"Failed to load X509 certificate {cert_file}: {reason}"]


def _CheckNodeSetup(_value: Any, _ctx: NodeContext) -> list[str]:
    """NV_NODESETUP: the kernel interfaces Ganeti needs ("/sys", "/proc")."""
    problems = []
    if not os.path.isdir("/sys/block") or not os.path.isdir("/sys/class/net"):
        problems.append("The sysfs filesytem doesn't seem to be mounted under"
                        " /sys, missing required directories /sys/block and"
                        " /sys/class/net")
    if not os.path.isdir("/proc/sys") or not os.path.isfile("/proc/sysrq-trigger"):
        problems.append("The procfs filesystem doesn't seem to be mounted under"
                        " /proc, missing required directory /proc/sys and the"
                        " file /proc/sysrq-trigger")
    return problems


def _CheckUserScripts(value: Any, _ctx: NodeContext) -> list[str]:
    """NV_USERSCRIPTS: the scripts that are missing or not executable."""
    broken = []
    for path in args.CheckList(value, f"check '{NV_USERSCRIPTS}'"):
        local = LocalPath(path, f"script in '{NV_USERSCRIPTS}'")
        if not (os.path.isfile(local) and os.access(local, os.X_OK)):
            broken.append(path)
    return broken


def _CheckOobPaths(value: Any, _ctx: NodeContext) -> list[str | None]:
    """NV_OOB_PATHS: None per usable out-of-band helper, else the problem."""
    result: list[str | None] = []
    for path in args.CheckList(value, f"check '{NV_OOB_PATHS}'"):
        path = args.CheckStr(path, f"path in '{NV_OOB_PATHS}'", non_empty=True)
        try:
            st = os.stat(path)
        except OSError as err:
            result.append(f"error stating out of band helper: {err}")
            continue
        if not stat.S_ISREG(st.st_mode):
            result.append(f"out of band helper {path} is not a file")
        elif not stat.S_IMODE(st.st_mode) & stat.S_IXUSR:
            result.append(f"out of band helper {path} is not executable")
        else:
            result.append(None)
    return result


# --- hypervisors and instances ----------------------------------------------------


def _HvParams(ctx: NodeContext, hv_name: str) -> dict[str, Any] | None:
    params = ctx.all_hvparams.get(hv_name)
    return params if isinstance(params, dict) else None


def _CheckHypervisor(value: Any, ctx: NodeContext) -> dict[str, str | None]:
    """NV_HYPERVISOR: each hypervisor driver's own Verify."""
    result: dict[str, str | None] = {}
    for hv_name in args.CheckList(value, f"check '{NV_HYPERVISOR}'"):
        try:
            result[hv_name] = _GetDriver(ctx, hv_name).Verify(
                hvparams=_HvParams(ctx, hv_name))
        except errors.GenericError as err:
            result[hv_name] = f"Error while checking hypervisor: {err}"
    return result


def _CheckHvParams(value: Any, ctx: NodeContext) -> list[list[str]]:
    """NV_HVPARAMS: [source, hv, problem] for each rejected parameter set."""
    problems = []
    for entry in args.CheckList(value, f"check '{NV_HVPARAMS}'"):
        source, hv_name, params = args.CheckList(
            entry, f"entry of '{NV_HVPARAMS}'", length=3)
        try:
            _GetDriver(ctx, hv_name).ValidateParameters(params)
        except errors.GenericError as err:
            problems.append([source, hv_name, str(err)])
    return problems


def _CheckInstanceList(value: Any, ctx: NodeContext) -> list[str] | str:
    """NV_INSTANCELIST: names of the instances running here, or the error.

    Without hypervisor drivers nothing can run, so the list is empty.
    """
    names: list[str] = []
    for hv_name in args.CheckList(value, f"check '{NV_INSTANCELIST}'"):
        if ctx.hypervisor is None:
            continue
        try:
            names.extend(_GetDriver(ctx, hv_name).ListInstances(
                hvparams=_HvParams(ctx, hv_name)))
        except errors.GenericError as err:
            return f"Error enumerating instances (hypervisor {hv_name}): {err}"
    return names


def _CheckHvInfo(value: Any, ctx: NodeContext) -> dict[str, Any] | str:
    """NV_HVINFO: memory and CPU figures as node_info reports them."""
    hv_name = args.CheckStr(value, f"check '{NV_HVINFO}'", non_empty=True)
    try:
        info = backend_node.GetNodeInfo(None, [[hv_name, _HvParams(ctx, hv_name)]])
    except RPCFail as err:
        return str(err)
    return info[2][0]


def _CheckBridges(value: Any, _ctx: NodeContext) -> list[str]:
    """NV_BRIDGES: the bridges that do not exist on this node."""
    return [bridge for bridge in args.CheckList(value, f"check '{NV_BRIDGES}'")
            if not os.path.isdir(f"/sys/class/net/{bridge}/bridge")]


# --- LVM ---------------------------------------------------------------------------


def _RunLvm(argv: list[str], ctx: NodeContext) -> str:
    """Run an LVM listing and return its stdout.

    Raises:
      RPCFail: the tool is missing, failed or timed out.
    """
    try:
        result = ctx.run_fn(argv)
    except errors.CommandError as err:
        raise RPCFail(f"Can't run {argv[0]}: {err}") from err
    if result.failed:
        raise RPCFail(f"Failed to run {argv[0]} ({result.fail_reason}):"
                      f" {result.output.strip()}")
    return result.stdout


def _Fields(line: str, count: int) -> list[str] | None:
    fields = [field.strip() for field in line.strip().split("|")]
    return fields if len(fields) == count else None


def ListVolumeGroups(ctx: NodeContext) -> dict[str, int]:
    """Volume group name -> size in MiB (Ganeti's utils.ListVolumeGroups)."""
    output = _RunLvm(["vgs", "--noheadings", "--units=m", "--nosuffix",
                      "--separator=|", "-o", "vg_name,vg_size"], ctx)
    result = {}
    for line in output.splitlines():
        fields = _Fields(line, 2)
        if fields is None:
            continue
        try:
            result[fields[0]] = int(float(fields[1]))
        except ValueError:
            logger.error("Invalid output from vgs: %r", line)
    return result


def _CheckVgList(_value: Any, ctx: NodeContext) -> dict[str, int]:
    try:
        return ListVolumeGroups(ctx)
    except RPCFail as err:
        logger.error("Listing volume groups failed: %s", err)
        return {}


def _CheckPvList(value: Any, ctx: NodeContext) -> list[dict[str, Any]] | str:
    """NV_PVLIST: the physical volumes of the given volume groups."""
    vg_names = set(args.CheckList(value, f"check '{NV_PVLIST}'"))
    try:
        output = _RunLvm(["pvs", "--noheadings", "--nosuffix", "--units=m",
                          "--separator=|",
                          "-o", "pv_name,vg_name,pv_size,pv_free,pv_attr"], ctx)
    except RPCFail as err:
        return str(err)
    result = []
    for line in output.splitlines():
        fields = _Fields(line, 5)
        if fields is None or fields[1] not in vg_names:
            continue
        try:
            size, free = float(fields[2]), float(fields[3])
        except ValueError:
            logger.error("Invalid output from pvs: %r", line)
            continue
        result.append({"name": fields[0], "vg_name": fields[1], "size": size,
                       "free": free, "attributes": fields[4], "lv_list": []})
    return result


def _CheckLvList(_value: Any, ctx: NodeContext) -> dict[str, list[Any]] | str:
    """NV_LVLIST: every logical volume of every volume group, or the error."""
    try:
        vg_names = sorted(ListVolumeGroups(ctx))
        output = _RunLvm(["lvs", "--noheadings", "--units=m", "--nosuffix",
                          "--separator=|", "-ovg_name,lv_name,lv_size,lv_attr"]
                         + vg_names, ctx)
    except RPCFail as err:
        return str(err)
    result: dict[str, list[Any]] = {}
    for line in output.splitlines():
        fields = _Fields(line, 4)
        if fields is None or len(fields[3]) < 6:
            if line.strip():
                logger.error("Invalid line returned from lvs output: %r", line)
            continue
        vg_name, lv_name, size, attr = fields
        if attr[0] == "v":
            # Virtual volumes hold no data (Ganeti skips them too).
            continue
        result[f"{vg_name}/{lv_name}"] = [size, attr[4] == "-", attr[5] == "o"]
    return result


# --- file storage ----------------------------------------------------------------


def _PlainPath(path: str) -> str:
    """path without this node's virtual root (what the forbidden list means)."""
    path = os.path.normpath(path)
    root = vcluster.GetRootDirectory()
    if root and io.IsBelowDir(root, path):
        return "/" + os.path.relpath(path, root)
    return path


def ComputeWrongFileStoragePaths(paths: list[str]) -> list[str]:
    """The paths that are relative or below a forbidden prefix, nice-sorted."""
    def _Bad(path: str) -> bool:
        plain = _PlainPath(path)
        return (not os.path.isabs(path) or plain in FORBIDDEN_STORAGE_PATHS
                or any(io.IsBelowDir(bad, plain) for bad in FORBIDDEN_STORAGE_PATHS))

    return NiceSort(path for path in map(os.path.normpath, paths) if _Bad(path))


def LoadAllowedFileStoragePaths(filename: str) -> list[str]:
    """The entries of the allowed file storage paths file ([] if unreadable)."""
    try:
        text = io.ReadFile(filename)
    except (OSError, UnicodeDecodeError):
        return []
    return [line.strip() for line in text.splitlines()
            if line.strip() and not line.strip().startswith("#")]


def CheckFileStoragePath(path: str, allowed_file: str) -> str | None:
    """Why a file storage directory is unusable here (None if it is usable).

    As Ganeti's filestorage.CheckFileStoragePath: the path must be absolute,
    listed (or below an entry) in the allowed paths file, below no forbidden
    prefix, an existing directory and writable.
    """
    if not os.path.isabs(path):
        return f"File storage path must be absolute, got '{path}'"
    allowed = [entry for entry in LoadAllowedFileStoragePaths(allowed_file)
               if os.path.isabs(entry)]
    if not allowed:
        return (f"No paths are valid or path file '{allowed_file}' is not"
                " accessible.")
    if ComputeWrongFileStoragePaths([path]):
        return f"Path '{path}' uses a forbidden prefix"
    norm = os.path.normpath(path)
    if not any(os.path.normpath(entry) == norm or io.IsBelowDir(entry, norm)
               for entry in allowed):
        return f"Path '{path}' is not acceptable for file storage"
    if not os.path.isdir(path):
        return f"Path '{path}' is not exisiting or not a directory."
    if not os.access(path, os.W_OK):
        return f"Path '{path}' is not writable"
    return None


def _CheckAcceptedPaths(value: Any, ctx: NodeContext) -> Any:
    """NV_ACCEPTED_STORAGE_PATHS: only the named node answers."""
    if value != ctx.my_name:
        return _NO_RESULT
    return ComputeWrongFileStoragePaths(
        LoadAllowedFileStoragePaths(pathutils.FILE_STORAGE_PATHS_FILE))


def _CheckStoragePath(value: Any, _ctx: NodeContext) -> Any:
    """NV_*STORAGE_PATH: the problem with the directory; no key if none."""
    if not value:
        return _NO_RESULT
    path = LocalPath(value, "file storage path")
    problem = CheckFileStoragePath(path, pathutils.FILE_STORAGE_PATHS_FILE)
    return _NO_RESULT if problem is None else problem


# --- dispatch -----------------------------------------------------------------------

CheckFn = Callable[[Any, NodeContext], Any]

# (name, function, vm-capable nodes only), in the order they run.
_CHECKS: list[tuple[str, CheckFn, bool]] = [
    (NV_HYPERVISOR, _CheckHypervisor, True),
    (NV_HVPARAMS, _CheckHvParams, True),
    (NV_FILELIST, _CheckFileList, False),
    (NV_CLIENT_CERT, _CheckClientCert, False),
    (NV_NODELIST, _CheckNodeList, False),
    (NV_NODENETTEST, _CheckNodeNetTest, False),
    (NV_MASTERIP, _CheckMasterIp, False),
    (NV_USERSCRIPTS, _CheckUserScripts, False),
    (NV_OOB_PATHS, _CheckOobPaths, False),
    (NV_LVLIST, _CheckLvList, True),
    (NV_INSTANCELIST, _CheckInstanceList, True),
    (NV_VGLIST, _CheckVgList, True),
    (NV_PVLIST, _CheckPvList, True),
    (NV_VERSION, _CheckVersion, False),
    (NV_HVINFO, _CheckHvInfo, True),
    (NV_NODESETUP, _CheckNodeSetup, False),
    (NV_TIME, _CheckTime, False),
    (NV_BRIDGES, _CheckBridges, True),
    (NV_ACCEPTED_STORAGE_PATHS, _CheckAcceptedPaths, False),
    (NV_FILE_STORAGE_PATH, _CheckStoragePath, False),
    (NV_SHARED_FILE_STORAGE_PATH, _CheckStoragePath, False),
    (NV_GLUSTER_STORAGE_PATH, _CheckStoragePath, False),
]

#: The checks this node implements.
SUPPORTED_CHECKS = frozenset(name for name, _, _ in _CHECKS)


def VerifyNode(what: Any, cluster_name: Any, all_hvparams: Any, *,
               _ctx: NodeContext | None = None) -> dict[str, Any]:
    """Run the requested checks on this node (see the module docstring).

    Args:
      what: check name -> argument.
      cluster_name: the cluster's name (checked for type only).
      all_hvparams: hypervisor name -> cluster-level parameters (or None).
      _ctx: the node context (test seam; default: this node's).

    Returns:
      check name -> result, for every check run.

    Raises:
      RPCFail: an argument is malformed.
    """
    what = args.CheckDict(what, "argument 'what'")
    args.CheckStr(cluster_name, "argument 'cluster_name'")
    if all_hvparams is not None:
        args.CheckDict(all_hvparams, "argument 'all_hvparams'")
    ctx = _ctx or NodeContext(
        my_name=netutils.Hostname.GetSysName(),
        port=netutils.GetDaemonPort(constants.NODED),
        all_hvparams=all_hvparams or {}, run_fn=_RunCommand,
        hypervisor=_GetHypervisorPackage())
    nonvm = args.CheckList(what.get(NV_NONVMNODES, []), f"check '{NV_NONVMNODES}'")
    vm_capable = ctx.my_name not in nonvm
    unknown = sorted(set(what) - SUPPORTED_CHECKS - {NV_NONVMNODES})
    if unknown:
        logger.debug("Ignoring unsupported verify checks: %s", ", ".join(unknown))
    result: dict[str, Any] = {}
    for name, check_fn, vm_only in _CHECKS:
        if name not in what or (vm_only and not vm_capable):
            continue
        value = check_fn(what[name], ctx)
        if value is not _NO_RESULT:
            result[name] = value
    return result


@args.RpcProcedure("node_verify")
def NodeVerify(checkdict: Any, cluster_name: Any, all_hvparams: Any) -> dict:
    """node_verify: run the verify checks of checkdict on this node."""
    return VerifyNode(checkdict, cluster_name, all_hvparams)


@args.RpcProcedure("node_verify_light")
def NodeVerifyLight(checkdict: Any, cluster_name: Any, hvparams: Any) -> dict:
    """node_verify_light: the same checks, for a node joining the cluster."""
    return VerifyNode(checkdict, cluster_name, hvparams)
