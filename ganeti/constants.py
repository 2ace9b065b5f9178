"""Cluster-wide constants.

Names and values follow Ganeti 3.0 (src/Ganeti/Constants.hs) wherever a value
crosses a process boundary: on the wire, in config.data, in ssconf files or in
the environment of hooks and OS scripts.
"""

from __future__ import annotations

# --- versions --------------------------------------------------------------
RELEASE_VERSION = "3.0.2"
VCS_VERSION = "(ganeti-py) version 3.0.2"


def BuildVersion(major: int, minor: int, revision: int) -> int:
    """Encode a version as Ganeti does: 1000000*major + 10000*minor + revision."""
    return 1000000 * major + 10000 * minor + revision


def SplitVersion(version: int) -> tuple[int, int, int]:
    """Inverse of BuildVersion."""
    return version // 1000000, (version % 1000000) // 10000, version % 10000


PROTOCOL_VERSION = BuildVersion(3, 0, 0)
CONFIG_MAJOR, CONFIG_MINOR, CONFIG_REVISION = 3, 0, 0
CONFIG_VERSION = BuildVersion(CONFIG_MAJOR, CONFIG_MINOR, CONFIG_REVISION)
# LUXI clients of 2.x and 3.0 both send this number.
LUXI_VERSION = CONFIG_VERSION
EXPORT_VERSION = 0

OS_API_V10 = 10
OS_API_V15 = 15
OS_API_V20 = 20
OS_API_VERSIONS = frozenset([OS_API_V10, OS_API_V15, OS_API_V20])
OS_API_VERSION = OS_API_V20

# --- daemons and ports -----------------------------------------------------
NODED = "ganeti-noded"
MASTERD = "ganeti-masterd"
RAPI = "ganeti-rapi"
CONFD = "ganeti-confd"
LUXID = "ganeti-luxid"
MOND = "ganeti-mond"
WCONFD = "ganeti-wconfd"

DEFAULT_NODED_PORT = 1811
DEFAULT_CONFD_PORT = 1814
DEFAULT_MOND_PORT = 1815
DEFAULT_RAPI_PORT = 5080

DAEMONS_PORTS: dict[str, tuple[str, int]] = {
    NODED: ("tcp", DEFAULT_NODED_PORT),
    CONFD: ("udp", DEFAULT_CONFD_PORT),
    MOND: ("tcp", DEFAULT_MOND_PORT),
    RAPI: ("tcp", DEFAULT_RAPI_PORT),
}

# Log file names below the log directory (Ganeti's daemon log names).
DAEMONS_LOGFILES: dict[str, str] = {
    NODED: "node-daemon.log",
    MASTERD: "master-daemon.log",
    RAPI: "rapi-daemon.log",
    CONFD: "conf-daemon.log",
    LUXID: "luxi-daemon.log",
    MOND: "monitoring-daemon.log",
    WCONFD: "wconf-daemon.log",
}

IP4_ADDRESS_ANY = "0.0.0.0"
IP4_ADDRESS_LOCALHOST = "127.0.0.1"
IP6_ADDRESS_ANY = "::"
IP4_VERSION = 4
IP6_VERSION = 6
IP4_FAMILY = 2   # socket.AF_INET, as stored in config.data
IP6_FAMILY = 10  # socket.AF_INET6

# --- RPC -------------------------------------------------------------------
RPC_CONNECT_TIMEOUT = 5
RPC_TMO_URGENT = 60
RPC_TMO_FAST = 5 * 60
RPC_TMO_NORMAL = 15 * 60
RPC_TMO_SLOW = 3600
RPC_TMO_4HRS = 4 * 3600
RPC_TMO_1DAY = 86400

RPC_ENCODING_NONE = 0
RPC_ENCODING_ZLIB_BASE64 = 1
# Below this size compression costs more than it saves (Ganeti's rpc.py).
RPC_COMPRESS_MIN_SIZE = 512

# A node-root-relative path travels with this prefix (lib/vcluster.py).
VIRTUAL_PATH_PREFIX = "/###-VIRTUAL-PATH-###,"

# Largest request body noded accepts. The biggest legitimate bodies are
# config.data and job files; 64 MiB is far above them at 10,000 instances.
NODED_MAX_BODY_SIZE = 64 * 1024 * 1024

# --- hooks -----------------------------------------------------------------
HOOKS_PHASE_PRE = "pre"
HOOKS_PHASE_POST = "post"
HOOKS_PHASES = frozenset([HOOKS_PHASE_PRE, HOOKS_PHASE_POST])
HOOKS_VERSION = 2
HOOKS_PATH = "/sbin:/bin:/usr/sbin:/usr/bin"
HOOKS_NAME_CFGUPDATE = "config-update"
HOOKS_NAME_WATCHER = "watcher"
HKR_SKIP = 0
HKR_FAIL = 1
HKR_SUCCESS = 2
HTYPE_CLUSTER = "CLUSTER"
HTYPE_NODE = "NODE"
HTYPE_GROUP = "GROUP"
HTYPE_INSTANCE = "INSTANCE"
HTYPE_NETWORK = "NETWORK"
# Run-parts style: only these names are executed.
EXT_PLUGIN_MASK = r"^[a-zA-Z0-9_-]+$"
HOOKS_TIMEOUT = RPC_TMO_NORMAL

# --- hypervisors -----------------------------------------------------------
HT_XEN_PVM = "xen-pvm"
HT_FAKE = "fake"
HT_XEN_HVM = "xen-hvm"
HT_KVM = "kvm"
HT_CHROOT = "chroot"
HT_LXC = "lxc"
HYPER_TYPES = frozenset([HT_XEN_PVM, HT_FAKE, HT_XEN_HVM, HT_KVM, HT_CHROOT, HT_LXC])

# --- storage ---------------------------------------------------------------
ST_FILE = "file"
ST_SHARED_FILE = "sharedfile"
ST_GLUSTER = "gluster"
ST_LVM_PV = "lvm-pv"
ST_LVM_VG = "lvm-vg"
ST_DISKLESS = "diskless"
ST_RADOS = "rados"
ST_EXT = "ext"
STORAGE_TYPES = frozenset([ST_FILE, ST_SHARED_FILE, ST_GLUSTER, ST_LVM_PV,
                           ST_LVM_VG, ST_DISKLESS, ST_RADOS, ST_EXT])

DT_DISKLESS = "diskless"
DT_FILE = "file"
DT_SHARED_FILE = "sharedfile"
DT_PLAIN = "plain"
DT_DRBD8 = "drbd"
DT_RBD = "rbd"
DT_BLOCK = "blockdev"
DT_EXT = "ext"
DT_GLUSTER = "gluster"
DISK_TEMPLATES = frozenset([DT_DISKLESS, DT_FILE, DT_SHARED_FILE, DT_PLAIN,
                            DT_DRBD8, DT_RBD, DT_BLOCK, DT_EXT, DT_GLUSTER])
# Which storage kind backs each disk template (Ganeti's mapDTToStorageType).
MAP_DISK_TEMPLATE_STORAGE_TYPE: dict[str, str] = {
    DT_BLOCK: ST_DISKLESS,
    DT_DISKLESS: ST_DISKLESS,
    DT_DRBD8: ST_LVM_VG,
    DT_EXT: ST_EXT,
    DT_FILE: ST_FILE,
    DT_PLAIN: ST_LVM_VG,
    DT_RBD: ST_RADOS,
    DT_SHARED_FILE: ST_SHARED_FILE,
    DT_GLUSTER: ST_GLUSTER,
}

DISK_RDONLY = "ro"
DISK_RDWR = "rw"

# --- node roles --------------------------------------------------------------
NR_REGULAR = "R"
NR_MASTER = "M"
NR_MCANDIDATE = "C"
NR_DRAINED = "D"
NR_OFFLINE = "O"

# --- instances ---------------------------------------------------------------
ADMINST_UP = "up"
ADMINST_DOWN = "down"
ADMINST_OFFLINE = "offline"
ADMINST_ALL = frozenset([ADMINST_UP, ADMINST_DOWN, ADMINST_OFFLINE])
ADMIN_SOURCE = "admin"
USER_SOURCE = "user"

NIC_MODE_BRIDGED = "bridged"
NIC_MODE_ROUTED = "routed"
NIC_MODE_OVS = "openvswitch"
NIC_VALID_MODES = frozenset([NIC_MODE_BRIDGED, NIC_MODE_ROUTED, NIC_MODE_OVS])

# --- misc --------------------------------------------------------------------
DEFAULT_MAC_PREFIX = "aa:00:00"
MASTER_POOL_SIZE_DEFAULT = 10
DEFAULT_BRIDGE = "xen-br0"
DEFAULT_OVS = "switch1"
INITIAL_NODE_GROUP_NAME = "default"
PP_DEFAULT = "default"

ALLOC_POLICY_PREFERRED = "preferred"
ALLOC_POLICY_LAST_RESORT = "last_resort"
ALLOC_POLICY_UNALLOCABLE = "unallocable"
VALID_ALLOC_POLICIES = (ALLOC_POLICY_PREFERRED, ALLOC_POLICY_LAST_RESORT,
                        ALLOC_POLICY_UNALLOCABLE)

# Tags (config.md section 1)
MAX_TAG_LEN = 128
MAX_TAGS_PER_OBJ = 4096
TAG_REGEX = r"^[\w.+*/:@-]+$"

# x509 certificates
X509_CERT_SIGN_DIGEST = "SHA256"
X509_CERT_DEFAULT_VALIDITY = 5 * 365  # days, as gnt-cluster init uses
RSA_KEY_BITS = 2048
SSL_CERT_EXPIRATION_WARN = 30  # days
SSL_CERT_EXPIRATION_ERROR = 7  # days
# Client certificates are identified by this digest in ssconf
# (master_candidates_certs) and cluster.candidate_certs.
CERT_DIGEST = "sha1"

# Job queue
JOB_QUEUE_FILES_PERMS = 0o640
JOB_QUEUE_DIRS_PERMS = 0o750
SECURE_DIR_MODE = 0o700
SECURE_FILE_MODE = 0o600

# Valid values of GANETI_ROOTDIR components etc.
ENV_ROOTDIR = "GANETI_ROOTDIR"
ENV_HOSTNAME = "GANETI_HOSTNAME"

# Default OS/ExtStorage search paths (never virtualised).
OS_SEARCH_PATH = ["/srv/ganeti/os"]
ES_SEARCH_PATH = ["/srv/ganeti/extstorage"]
OS_SCRIPT_CREATE = "create"
OS_SCRIPT_IMPORT = "import"
OS_SCRIPT_EXPORT = "export"
OS_SCRIPT_RENAME = "rename"
OS_SCRIPT_VERIFY = "verify"

# The drain flag file and queue sizes
JOB_QUEUE_SIZE_HARD_LIMIT = 5000
JOB_ID_TEMPLATE = r"\d+"
