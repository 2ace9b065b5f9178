# Shared code of the "image" OS definition; sourced by its scripts.
#
# The scripts run with the environment of ganeti-os-interface(7) only
# (cleared by Ganeti), in this directory.

set -eu

# Where images named without a directory are looked up; a site may change
# it in /etc/default/ganeti-os-image, then in a file "defaults" in the
# definition's own directory (shell fragments, e.g. IMAGE_DIR=/srv/images).
IMAGE_DIR=/srv/ganeti/os-images
OS_DIR=$(dirname "$(readlink -f "$0")")
for conf in /etc/default/ganeti-os-image "$OS_DIR/defaults"; do
  if [ -r "$conf" ]; then
    # shellcheck disable=SC1090
    . "$conf"
  fi
done

SCRIPT=$(basename "$0")

log() {
  echo "$SCRIPT: $*" >&2
}

die() {
  log "error: $*"
  exit 1
}

# Scripts other than verify take no argument; -h/--help prints the usage.
check_args() {
  case "${1:-}" in
    -h|--help) usage; exit 0 ;;
  esac
  if [ $# -ne 0 ]; then
    usage >&2
    exit 1
  fi
}

# The path of the image named by the "image" parameter.
image_path() {
  local name=${OSP_IMAGE:-}
  [ -n "$name" ] || die "the OS parameter 'image' is not set (give it with" \
    "-O image=<file>)"
  case "$name" in
    /*) path=$name ;;
    */*) die "image '$name': give an absolute path or a file name in $IMAGE_DIR" ;;
    *) path=$IMAGE_DIR/$name ;;
  esac
  [ -f "$path" ] || die "image '$name' not found (looked for $path)"
  [ -r "$path" ] || die "image $path is not readable"
  echo "$path"
}

# The image's format: the image_format parameter, else detected from the
# file's magic (qcow2 files start with "QFI\xfb"), else raw.
image_format() {
  case "${OSP_IMAGE_FORMAT:-auto}" in
    raw|qcow2) echo "$OSP_IMAGE_FORMAT" ;;
    auto|"")
      if [ "$(head -c 4 "$1" | od -An -tx1 | tr -d ' \n')" = 514649fb ]; then
        echo qcow2
      else
        echo raw
      fi
      ;;
    *) die "invalid image_format '$OSP_IMAGE_FORMAT' (auto, raw or qcow2)" ;;
  esac
}

# The size in bytes of a block device or regular file.
device_size() {
  if [ -b "$1" ]; then
    blockdev --getsize64 "$1"
  else
    stat -L -c %s "$1"
  fi
}

# The path of disk N from the environment.
disk_path() {
  local var="DISK_$1_PATH"
  eval "local path=\${$var:-}"
  [ -n "$path" ] || die "disk $1 has no local path (disks used only through a" \
    "URI are not supported)"
  echo "$path"
}
