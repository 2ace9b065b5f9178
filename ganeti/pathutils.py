"""Filesystem paths, honouring the virtual cluster root (ganeti/vcluster.py).

Mirrors Ganeti's lib/pathutils.py: the layout below /var/lib/ganeti,
/var/run/ganeti, /var/log/ganeti and /etc/ganeti is the one real Ganeti uses
(spec/config.md section 5). Node-local paths carry the node root; OS and
ExtStorage search paths and installed programs do not.
"""

from __future__ import annotations

import os
import sys
import sysconfig

from ganeti import constants, vcluster

_P = vcluster.AddNodePrefix

# Installation prefixes (not virtualised: shared by every virtual node).
PKGLIBDIR = os.path.join(sys.prefix, "lib", "ganeti")
# Where the daemons and tools live: the source tree's daemons/ and tools/
# when running from a checkout, else where setup.py installed the scripts.
_PKG_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_SCRIPTS_DIR = sysconfig.get_path("scripts")
DAEMONS_DIR = (os.path.join(_PKG_ROOT, "daemons")
               if os.path.isdir(os.path.join(_PKG_ROOT, "daemons")) else _SCRIPTS_DIR)
TOOLS_DIR = (os.path.join(_PKG_ROOT, "tools")
             if os.path.isdir(os.path.join(_PKG_ROOT, "tools")) else _SCRIPTS_DIR)

DEFAULT_FILE_STORAGE_DIR = _P("/srv/ganeti/file-storage")
DEFAULT_SHARED_FILE_STORAGE_DIR = _P("/srv/ganeti/shared-file-storage")
DEFAULT_GLUSTER_STORAGE_DIR = _P("/var/run/ganeti/gluster")
EXPORT_DIR = _P("/srv/ganeti/export")

# OS search path may be overridden for tests and packaging.
OS_SEARCH_PATH = [p for p in os.environ.get(
    "GANETI_OS_SEARCH_PATH", ":".join(constants.OS_SEARCH_PATH)).split(":") if p]
ES_SEARCH_PATH = list(constants.ES_SEARCH_PATH)
IALLOCATOR_SEARCH_PATH = [os.path.join(PKGLIBDIR, "iallocators")]

LOCALSTATEDIR = _P("/var")
SYSCONFDIR = _P("/etc")
DATA_DIR = _P("/var/lib/ganeti")
RUN_DIR = _P("/var/run/ganeti")
LOG_DIR = _P("/var/log/ganeti")
LOCK_DIR = _P("/var/lock")
CONF_DIR = _P("/etc/ganeti")

BDEV_CACHE_DIR = RUN_DIR + "/bdev-cache"
DISK_LINKS_DIR = RUN_DIR + "/instance-disks"
SOCKET_DIR = RUN_DIR + "/socket"
CRYPTO_KEYS_DIR = RUN_DIR + "/crypto"
IMPORT_EXPORT_DIR = RUN_DIR + "/import-export"
INSTANCE_STATUS_FILE = RUN_DIR + "/instance-status"
INSTANCE_REASON_DIR = RUN_DIR + "/instance-reason"
UIDPOOL_LOCKDIR = RUN_DIR + "/uid-pool"
LIVELOCK_DIR = RUN_DIR + "/livelocks"
LUXID_MESSAGE_DIR = RUN_DIR + "/luxidmessages"
HOOKS_RUN_DIR = RUN_DIR + "/hooks"

CLUSTER_CONF_FILE = DATA_DIR + "/config.data"
LOCK_STATUS_FILE = DATA_DIR + "/locks.data"
TEMP_RES_STATUS_FILE = DATA_DIR + "/tempres.data"
NODED_CERT_FILE = DATA_DIR + "/server.pem"
NODED_CLIENT_CERT_FILE = DATA_DIR + "/client.pem"
RAPI_CERT_FILE = DATA_DIR + "/rapi.pem"
CONFD_HMAC_KEY = DATA_DIR + "/hmac.key"
SPICE_CERT_FILE = DATA_DIR + "/spice.pem"
SPICE_CACERT_FILE = DATA_DIR + "/spice-ca.pem"
CLUSTER_DOMAIN_SECRET_FILE = DATA_DIR + "/cluster-domain-secret"
SSH_KNOWN_HOSTS_FILE = DATA_DIR + "/known_hosts"
SSH_PUB_KEYS = DATA_DIR + "/ganeti_pub_keys"
RAPI_DATA_DIR = DATA_DIR + "/rapi"
RAPI_USERS_FILE = RAPI_DATA_DIR + "/users"
QUEUE_DIR = DATA_DIR + "/queue"
JOB_QUEUE_ARCHIVE_DIR = QUEUE_DIR + "/archive"
JOB_QUEUE_LOCK_FILE = QUEUE_DIR + "/lock"
JOB_QUEUE_SERIAL_FILE = QUEUE_DIR + "/serial"
JOB_QUEUE_VERSION_FILE = QUEUE_DIR + "/version"
JOB_QUEUE_DRAIN_FILE = QUEUE_DIR + "/drain"
WATCHER_PAUSEFILE = DATA_DIR + "/watcher.pause"
WATCHER_GROUP_STATE_FILE = DATA_DIR + "/watcher.%s.data"
WATCHER_GROUP_INSTANCE_STATUS_FILE = DATA_DIR + "/watcher.%s.instance-status"
INTENT_TO_UPGRADE = DATA_DIR + "/intent-to-upgrade"
SSCONF_LOCK_FILE = LOCK_DIR + "/ganeti-ssconf.lock"
WATCHER_LOCK_FILE = LOCK_DIR + "/ganeti-watcher.lock"

HOOKS_BASE_DIR = CONF_DIR + "/hooks"
FILE_STORAGE_PATHS_FILE = CONF_DIR + "/file-storage-paths"
RESTRICTED_COMMANDS_DIR = CONF_DIR + "/restricted-commands"
VNC_PASSWORD_FILE = CONF_DIR + "/vnc-cluster-password"
EXTERNAL_MASTER_SETUP_SCRIPT = CONF_DIR + "/scripts/master-ip-setup"

MASTER_SOCKET = SOCKET_DIR + "/ganeti-master"
QUERY_SOCKET = SOCKET_DIR + "/ganeti-query"

LOG_OS_DIR = LOG_DIR + "/os"
LOG_ES_DIR = LOG_DIR + "/extstorage"
LOG_WATCHER = LOG_DIR + "/watcher.log"
LOG_COMMANDS = LOG_DIR + "/commands.log"
LOG_BURNIN = LOG_DIR + "/burnin.log"


def GetLogFilename(daemon_name: str) -> str:
    """Log file of a daemon, e.g. node-daemon.log for ganeti-noded."""
    name = constants.DAEMONS_LOGFILES.get(daemon_name, f"{daemon_name}.log")
    return f"{LOG_DIR}/{name}"


def GetPidFilename(daemon_name: str) -> str:
    return f"{RUN_DIR}/{daemon_name}.pid"


def GetSsconfFilename(key: str) -> str:
    return f"{DATA_DIR}/ssconf_{key}"


def GetJobFilename(job_id: int | str) -> str:
    return f"{QUEUE_DIR}/job-{job_id}"
