"""make demo: a virtual cluster on this machine, shown to a newcomer.

`demo start` rebuilds ./vcluster from scratch with tools/vcluster-setup,
initialises a cluster on node1 (certificates, config.data, ssconf, node and
master daemons; hypervisors kvm and fake, disk templates sharedfile and
diskless, the shared file storage in ./vcluster/shared), gives node2 and
node3 an OpenSSH sshd each and adds them with `gnt-node add` over SSH
(node2 becomes a master candidate, node3 a regular node). Then it shows
instances: a kvm instance installed by the image OS (os-definitions/image)
from a small ext2 image, booted (qemu under TCG: the host's kernel and a
busybox initramfs, ganeti/tools/guest_kit.py), live-migrated from node1 to
node2 and proved alive there on its serial console; three fake instances
created by parallel jobs; and `gnt-instance list`. Without qemu or a
kernel it says so and shows the fake instances only. The cluster is left
running; `demo stop` kills the qemu of the demo's instances (by the pid
in the kvm pid files, checked against the process's command line) and
stops every daemon and sshd of it.
"""

from __future__ import annotations

import contextlib
import io
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time

from ganeti import constants, errors
from ganeti.hypervisor.hv_kvm import runtime as kvm_runtime
from ganeti.tools import guest_kit, vcluster_setup, vcluster_sshd
from ganeti.utils import io as utils_io
from ganeti.utils import process

NODES = 3
PREFIX = vcluster_setup.DEFAULT_NET_PREFIX
_TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CLUSTER_DIR = os.path.join(_TOP, "vcluster")
SSH_DIR = os.path.join(CLUSTER_DIR, "ssh")
CLIENT_KEY = os.path.join(SSH_DIR, "id_ed25519")
# Each virtual node's sshd listens on the node's own address, on a port of
# its own so that it never competes with a host sshd on port 22.
SSH_PORT = 2022
# The OS definitions every node's daemons find (image and debootstrap).
OS_DIR = os.path.join(_TOP, "os-definitions")
# The sharedfile template's directory: one host directory all nodes see
# (see ganeti/storage/filestorage.py on virtual clusters).
SHARED_DIR = os.path.join(CLUSTER_DIR, "shared")
IMAGE_FILE = os.path.join(CLUSTER_DIR, "images", "demo.img")
GUEST_DIR = os.path.join(CLUSTER_DIR, "guest")
KVM_INSTANCE = "kvm1"
FAKE_INSTANCES = ("fake1", "fake2", "fake3")
# Instance addresses, appended to the virtual cluster's hosts file.
_FIRST_INSTANCE_OCTET = 100
IMAGE_MIB = 8
DISK_SIZE = "1G"  # sparse; the smallest disk the default policy allows
GUEST_MEMORY = 128
BOOT_TIMEOUT = 90.0
# Ganeti's default columns plus the role and the instances on each node.
NODE_FIELDS = "+role,pinst_list"
# Ganeti's default kvm migration_port; another one if it is taken here.
DEFAULT_MIGRATION_PORT = 8102


def _Say(text: str = "") -> None:
    print(text, flush=True)


def NodeEnvironment(node: str) -> dict[str, str]:
    """What a virtual node's commands and daemons need in their environment."""
    return {"GANETI_ROOTDIR": os.path.join(CLUSTER_DIR, node),
            "GANETI_HOSTNAME": node,
            "GANETI_HOSTS_FILE": os.path.join(CLUSTER_DIR,
                                              vcluster_setup.HOSTS_FILE_NAME),
            "GANETI_OS_SEARCH_PATH": OS_DIR}


def _NodeCmd(
    node: str, command: str, check: bool = True
) -> subprocess.CompletedProcess:
    """Run a shell command as a virtual node (through its cmd helper).

    The daemons that gnt-cluster init starts inherit this environment, so
    they see the OS search path too.
    """
    env = dict(os.environ, GANETI_SSH_KEY_FILE=CLIENT_KEY,
               GANETI_OS_SEARCH_PATH=OS_DIR)
    proc = subprocess.run([os.path.join(CLUSTER_DIR, node, "cmd"), command],
                          capture_output=True, text=True, env=env,
                          stdin=subprocess.DEVNULL)
    if check and proc.returncode != 0:
        raise errors.CommandError(
            f"{node}: '{command}' failed:\n{proc.stdout}{proc.stderr}"
        )
    return proc


def KillInstanceProcesses(node_root: str) -> list[int]:
    """Kill the qemu of every kvm instance of one virtual node.

    Only a pid whose command line is that instance's qemu (with this pid
    file) is killed, so a stale pid file never hits another process.

    Returns:
      the pids killed.
    """
    paths = kvm_runtime.KvmPaths(run_dir=os.path.join(node_root, "var/run/ganeti"))
    killed = []
    for name in paths.ListPidFiles():
        pid, info = kvm_runtime.InstancePidInfo(paths, name)
        if info is not None and process.IsProcessAlive(pid):
            process.KillProcess(pid, signal.SIGKILL, timeout=10)
            killed.append(pid)
    return killed


def Stop() -> int:
    """Stop every qemu, daemon and sshd of the demo cluster (if any)."""
    if not os.path.isdir(CLUSTER_DIR):
        return 0
    killed = []
    for entry in sorted(os.listdir(CLUSTER_DIR)):
        root = os.path.join(CLUSTER_DIR, entry)
        if os.path.isfile(os.path.join(root, "cmd")):
            killed += KillInstanceProcesses(root)
            _NodeCmd(entry, "daemon-util stop-all", check=False)
            vcluster_sshd.StopDetached(os.path.join(root, "sshd"))
    if killed:
        _Say(f"Killed the qemu of the demo's kvm instances (pids"
             f" {', '.join(map(str, killed))}).")
    _Say(f"Stopped the demo cluster in {CLUSTER_DIR}.")
    return 0


def _Setup() -> list[str]:
    Stop()
    shutil.rmtree(CLUSTER_DIR, ignore_errors=True)
    os.makedirs(CLUSTER_DIR)
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        rc = vcluster_setup.Main(["vcluster-setup", "-E", "-c", str(NODES), "-i",
                                  "0", "-p", PREFIX, CLUSTER_DIR])
    if rc != 0:
        raise errors.CommandError(f"vcluster-setup failed:\n{out.getvalue()}")
    names = (KVM_INSTANCE,) + FAKE_INSTANCES
    with open(os.path.join(CLUSTER_DIR, vcluster_setup.HOSTS_FILE_NAME), "a",
              encoding="utf-8") as hosts:
        for idx, name in enumerate(names):
            hosts.write(f"{PREFIX}.{_FIRST_INSTANCE_OCTET + idx} {name}\n")
    os.makedirs(SHARED_DIR, exist_ok=True)
    nodes = [vcluster_setup.NodeName(i) for i in range(NODES)]
    # The same allowed file storage paths on every node (init and
    # node-daemon-setup keep an existing file), so verify finds them equal.
    for node in nodes:
        utils_io.WriteFile(os.path.join(CLUSTER_DIR, node, "etc/ganeti",
                                        "file-storage-paths"), f"{SHARED_DIR}\n")
    return nodes


def _StartSshd(index: int) -> None:
    """Give virtual node number index an sshd that acts as that node."""
    name = vcluster_setup.NodeName(index)
    public_key = vcluster_sshd.GenerateKey(CLIENT_KEY)
    directory = os.path.join(CLUSTER_DIR, name, "sshd")
    vcluster_sshd.PrepareSshd(
        directory, vcluster_setup.NodeAddress(PREFIX, index), SSH_PORT, public_key,
        NodeEnvironment(name))
    vcluster_sshd.StartDetached(directory)


def _Show(node: str, command: str, check: bool = True) -> str:
    """Run a command as a node and print it the way a terminal would.

    Returns:
      its output (stdout and stderr).
    """
    _Say(f"$ {node}/cmd {command}")
    proc = _NodeCmd(node, command, check=check)
    out = (proc.stdout + proc.stderr).rstrip("\n")
    if out:
        _Say(out)
    _Say()
    return out


def MakeImage(path: str, size_mib: int = IMAGE_MIB) -> str:
    """Write a small raw disk image for the image OS.

    An ext2 file system holding a greeting (mke2fs -d), or, without
    mke2fs, an empty raw image made by qemu-img.

    Returns:
      how it was made, for the newcomer.

    Raises:
      errors.CommandError: neither tool worked.
    """
    content = os.path.join(os.path.dirname(path), "content")
    try:
        os.makedirs(content, exist_ok=True)
        utils_io.WriteFile(os.path.join(content, "hello.txt"),
                           "Hello from the Ganeti demo image.\n")
    except OSError as err:
        raise errors.CommandError(f"Cannot make the demo image {path}: {err}"
                                  ) from err
    mke2fs = shutil.which("mke2fs") or shutil.which("mke2fs", path="/sbin:/usr/sbin")
    if mke2fs:
        cmd = [mke2fs, "-q", "-F", "-t", "ext2", "-d", content, path, f"{size_mib}M"]
    else:
        cmd = ["qemu-img", "create", "-q", "-f", "raw", path, f"{size_mib}M"]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    except OSError as err:
        raise errors.CommandError(f"Cannot make the demo image: {err}") from err
    if proc.returncode != 0:
        raise errors.CommandError(f"Cannot make the demo image with {cmd[0]}:"
                                  f" {proc.stdout}{proc.stderr}")
    return " ".join(os.path.basename(c) if i == 0 else c for i, c in enumerate(cmd))


def _FreePort(address: str, preferred: int) -> int:
    """preferred if nothing listens on address:preferred, else a free port."""
    for port in (preferred, 0):
        with socket.socket() as sock:
            try:
                sock.bind((address, port))
            except OSError:
                continue
            return sock.getsockname()[1]
    raise errors.CommandError(f"No free port on {address}")


def KvmHvparams(kernel: str, initrd: str, migration_port: int) -> str:
    """The -H kvm:... value that boots the demo guest under TCG.

    KVM acceleration hangs guests on this kind of machine, so it is off
    (kvm_flag=disabled); the guest runs the host's kernel and the busybox
    initramfs from a RAM disk.
    """
    params = {key: value for key, value in
              guest_kit.GuestHvparams(kernel, initrd).items()
              if key != "serial_console"}
    params.update({"migration_port": migration_port,
                   "migration_bandwidth": 1000})
    return "kvm:" + ",".join(f"{key}={value}" for key, value in params.items())


def _KvmKit() -> tuple[str, str] | None:
    """(kernel, initrd) for the guest, or None (having said why)."""
    missing = guest_kit.MissingParts()
    if not missing:
        try:
            return guest_kit.BuildGuestKit(GUEST_DIR)
        except errors.HypervisorError as err:
            missing = [str(err)]
    _Say("This machine cannot run the demo's kvm instance: missing "
         + "; ".join(missing) + ".")
    _Say("The demo goes on with fake instances only (run 'make deps' to get"
         " qemu, the kernel and busybox).")
    _Say()
    return None


def _InitCluster(master: str, kit: tuple[str, str] | None) -> None:
    hypervisors = [constants.HT_FAKE]
    hvparams = ""
    if kit is not None:
        hypervisors.insert(0, constants.HT_KVM)
        node2 = vcluster_setup.NodeAddress(PREFIX, 1)
        port = _FreePort(node2, DEFAULT_MIGRATION_PORT)
        hvparams = f" -H {shlex.quote(KvmHvparams(kit[0], kit[1], port))}"
    # -C 2: the master and one candidate, so node3 stays a regular node;
    # routed NICs: the fake hypervisor needs no bridge on the nodes.
    _Show(master, f"gnt-cluster init --no-etc-hosts --no-ssh-init"
                  f" --master-netdev=lo"
                  f" --enabled-disk-templates=sharedfile,diskless"
                  f" --shared-file-storage-dir={SHARED_DIR}"
                  f" --enabled-hypervisors={','.join(hypervisors)}{hvparams}"
                  f" -C 2 -N mode=routed,link=main {vcluster_setup.CLUSTER_NAME}")


def _ShowCluster(master: str) -> None:
    for node in vcluster_setup.NodeName(1), vcluster_setup.NodeName(2):
        _Show(master, f"gnt-node add --no-ssh-key-check"
                      f" --node-parameters ssh_port={SSH_PORT} {node}")
    _Show(master, f"gnt-node list -o {NODE_FIELDS}")
    verify = "gnt-cluster verify"
    if not os.path.exists("/proc/sysrq-trigger"):
        _Say("(This machine's kernel has no /proc/sysrq-trigger, which node power"
             " cycling needs:")
        _Say(" verify would report that as ENODESETUP on every node, so the demo"
             " ignores it.)")
        verify += " -I ENODESETUP"
    _Show(master, verify, check=False)
    _Show(master, "gnt-os list")


def _SerialSocket(node: str, name: str) -> str:
    run_dir = os.path.join(CLUSTER_DIR, node, "var/run/ganeti")
    return kvm_runtime.KvmPaths(run_dir=run_dir).SerialSocket(name)


def _GuestSay(console: guest_kit.SerialConsole, command: str) -> None:
    """Run a command in the guest and print it as a console session would."""
    _Say(f"  guest# {command}")
    status, output = console.Run(command)
    for line in output.splitlines():
        _Say(f"  {line}")
    if status != 0:
        _Say(f"  (exit status {status})")


def _ShowKvmInstance(master: str) -> None:
    """Create, boot and live-migrate the kvm instance, then prove it runs."""
    name, source, target = KVM_INSTANCE, master, vcluster_setup.NodeName(1)
    how = MakeImage(IMAGE_FILE)
    _Say(f"A small disk image for the image OS: {how}")
    _Say()
    _Say("The guest needs no network here: --no-nics, which the default"
         " instance policy (1-8 NICs) allows only with --ignore-ipolicy.")
    _Show(master, f"gnt-instance add -t sharedfile --disk 0:size={DISK_SIZE}"
                  f" -o image+default -O image={IMAGE_FILE} -H kvm"
                  f" -B memory={GUEST_MEMORY} --no-nics --ignore-ipolicy"
                  f" --no-ip-check -n {source} {name}")
    start = time.monotonic()
    with guest_kit.SerialConsole(_SerialSocket(source, name)) as console:
        ready = console.WaitFor(guest_kit.MARKER + r" [\d.]+(?=\s)",
                                BOOT_TIMEOUT)
        _Say(f"The guest booted in {time.monotonic() - start:.1f} s (its serial"
             f" console said '{ready}'); leave a mark in its RAM disk:")
        _GuestSay(console, "date > /tmp/mark; cat /tmp/mark")
    _Say()
    _Show(master, "gnt-instance list")
    _Show(master, f"gnt-instance migrate -f -n {target} {name}")
    _Show(master, "gnt-instance list -o name,pnode,status,oper_state")
    _Show(master, f"gnt-instance console --show-cmd {name}")
    _Say(f"On the serial console of {name}, now on {target}: the mark made"
         " before the migration is still in the guest's memory.")
    with guest_kit.SerialConsole(_SerialSocket(target, name)) as console:
        for command in ("cat /tmp/mark", "date", "cat /proc/uptime"):
            _GuestSay(console, command)
    _Say("(The guest's uptime kept counting: the same running guest, not a"
         " new boot.)")
    _Say()


def _ShowFakeInstances(master: str) -> None:
    """Create the fake instances in parallel jobs and wait for them."""
    jobs = []
    for idx, name in enumerate(FAKE_INSTANCES):
        node = vcluster_setup.NodeName(idx % NODES)
        out = _Show(master, f"gnt-instance add --submit -t diskless -H fake"
                            f" -o image+default --net 0:ip=auto"
                            f" --no-ip-check"
                            f" -B memory=128 -n {node} {name}")
        jobs += [line.split()[-1] for line in out.splitlines()
                 if line.startswith("JobID:")]
    for job in jobs:
        _Show(master, f"gnt-job wait {job}")


def Start() -> int:
    if not vcluster_sshd.Available():
        raise errors.CommandError("OpenSSH's sshd is missing: run 'make deps'")
    began = time.monotonic()
    _Say(f"Building a {NODES}-node virtual cluster in {CLUSTER_DIR} ...")
    nodes = _Setup()
    master = nodes[0]
    _Say(f"Nodes {', '.join(nodes)} on {PREFIX}.10-{PREFIX}.{9 + NODES},"
         f" names resolved through {CLUSTER_DIR}/hosts;")
    _Say(f"each of {', '.join(nodes[1:])} runs its own sshd on port {SSH_PORT}."
         f" Every node finds the OS definitions in {OS_DIR}.")
    _Say()
    kit = _KvmKit()
    for index in range(1, NODES):
        _StartSshd(index)
    os.chdir(CLUSTER_DIR)
    _InitCluster(master, kit)
    _ShowCluster(master)
    if kit is not None:
        _ShowKvmInstance(master)
    _ShowFakeInstances(master)
    _Show(master, "gnt-instance list")
    _Show(master, f"gnt-node list -o {NODE_FIELDS}")
    _Show(master, "gnt-job list")
    _Say(f"(The demo took {time.monotonic() - began:.0f} s.)")
    _Say("The cluster keeps running. Try, from the cluster directory:")
    _Say(f"  cd {CLUSTER_DIR}")
    _Say(f"  {master}/cmd gnt-instance info {KVM_INSTANCE if kit else 'fake1'}")
    if kit is not None:
        _Say(f"  {master}/cmd gnt-instance console {KVM_INSTANCE}"
             "   (the guest's shell; leave with Ctrl-])")
        _Say(f"  {master}/cmd gnt-instance migrate -f -n {master} {KVM_INSTANCE}")
    _Say(f"  {master}/cmd gnt-node info {vcluster_setup.NodeName(1)}")
    _Say(f"  {master}/cmd gnt-cluster info")
    _Say(f"  tail {master}/var/log/ganeti/master-daemon.log")
    _Say("Stop it with: make demo-stop")
    return 0


def Main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    actions = {"start": Start, "stop": Stop}
    if len(args) != 1 or args[0] not in actions:
        print("usage: demo start|stop", file=sys.stderr)
        return 2
    try:
        return actions[args[0]]()
    except errors.GenericError as err:
        print(f"demo: {err}", file=sys.stderr)
        return 1
