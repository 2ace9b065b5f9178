# Shared code of the "debootstrap" OS definition; sourced by its scripts.
#
# The scripts run with the environment of ganeti-os-interface(7) only
# (cleared by Ganeti), in this directory, as root.

set -eu

# Defaults of the OS parameters; a site may change them, and the cache
# directory, in /etc/default/ganeti-os-debootstrap, then in a file
# "defaults" in the definition's own directory (shell fragments; the second
# lets several copies of this definition differ).
SUITE=bookworm
MIRROR=http://deb.debian.org/debian
FILESYSTEM=ext4
# debootstrap results are kept here as tarballs, one per suite and
# architecture, and reused for CACHE_DAYS days; empty CACHE_DIR: no cache.
CACHE_DIR=/var/cache/ganeti-os-debootstrap
CACHE_DAYS=14
OS_DIR=$(dirname "$(readlink -f "$0")")
for conf in /etc/default/ganeti-os-debootstrap "$OS_DIR/defaults"; do
  if [ -r "$conf" ]; then
    # shellcheck disable=SC1090
    . "$conf"
  fi
done
SUITE=${OSP_SUITE:-$SUITE}
MIRROR=${OSP_MIRROR:-$MIRROR}
FILESYSTEM=${OSP_FILESYSTEM:-$FILESYSTEM}

SCRIPT=$(basename "$0")
MOUNTPOINT=

log() {
  echo "$SCRIPT: $*" >&2
}

die() {
  log "error: $*"
  exit 1
}

check_args() {
  case "${1:-}" in
    -h|--help) usage; exit 0 ;;
  esac
  if [ $# -ne 0 ]; then
    usage >&2
    exit 1
  fi
}

check_params() {
  case "$SUITE" in
    ""|*[!a-z0-9-]*) die "invalid suite '$SUITE' (a Debian code name such as bookworm)" ;;
  esac
  case "$MIRROR" in
    http://*|https://*|file:/*) ;;
    *) die "invalid mirror '$MIRROR' (an http://, https:// or file:/ URL)" ;;
  esac
  case "$FILESYSTEM" in
    ""|*[!a-z0-9]*) die "invalid filesystem '$FILESYSTEM'" ;;
  esac
  command -v "mkfs.$FILESYSTEM" >/dev/null ||
    die "filesystem '$FILESYSTEM' is not supported here (no mkfs.$FILESYSTEM)"
}

# The path of disk 0 from the environment.
root_disk() {
  [ "${DISK_COUNT:-0}" -ge 1 ] || die "the instance has no disk"
  [ -n "${DISK_0_PATH:-}" ] || die "disk 0 has no local path (disks used only" \
    "through a URI are not supported)"
  echo "$DISK_0_PATH"
}

device_size() {
  if [ -b "$1" ]; then
    blockdev --getsize64 "$1"
  else
    stat -L -c %s "$1"
  fi
}

cleanup() {
  if [ -n "$MOUNTPOINT" ]; then
    umount "$MOUNTPOINT" 2>/dev/null || umount -l "$MOUNTPOINT" 2>/dev/null || true
    rmdir "$MOUNTPOINT" 2>/dev/null || true
    MOUNTPOINT=
  fi
}

# Mount the file system of disk $1 on a fresh directory (MOUNTPOINT); a
# regular file is mounted through a loop device, which umount frees.
mount_disk() {
  MOUNTPOINT=$(mktemp -d /tmp/ganeti-os-debootstrap.XXXXXX)
  trap cleanup EXIT
  if [ -b "$1" ]; then
    mount "$1" "$MOUNTPOINT"
  else
    mount -o loop "$1" "$MOUNTPOINT"
  fi
}
