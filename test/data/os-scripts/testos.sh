#!/bin/sh
# A test OS definition, written from ganeti-os-interface(7) alone.
#
# One program serves every script of the definitions under test/data/os:
# the name it is called by (create, import, export, rename, verify) is the
# action. Every run prints its environment to stderr (the OS log), so that
# tests can check exactly what Ganeti exported. Markers go to the start of
# the first disk, so that tests can see what was done to it.
set -eu

action=$(basename "$0")

usage() {
  if [ "$action" = verify ]; then
    echo "Usage: $action parameters"
  else
    echo "Usage: $action (no arguments; the input comes from the environment)"
  fi
  echo "Runs as the '$action' script of a Ganeti OS definition."
}

case "${1:-}" in
  -h|--help) usage; exit 0 ;;
esac
if [ "$action" = verify ]; then
  if [ $# -lt 1 ]; then usage >&2; exit 1; fi
elif [ $# -ne 0 ]; then
  usage >&2
  exit 1
fi

echo "testos: $action" >&2
echo "testos-cwd: $(pwd)" >&2
env | LC_ALL=C sort >&2

# Write a line at the start of a disk without changing its size.
mark() {
  printf '%s\n' "$2" | dd of="$1" conv=notrunc status=none
}

case "$action" in
  create)
    if [ "${OSP_FAIL:-}" = yes ]; then
      echo "create failed on request (fail=yes)" >&2
      exit 1
    fi
    if [ "${DISK_COUNT:-0}" -gt 0 ]; then
      mark "$DISK_0_PATH" "created $INSTANCE_NAME variant=${OS_VARIANT:-}\
 reinstall=${INSTANCE_REINSTALL:-0}"
    fi
    ;;
  rename)
    if [ "${DISK_COUNT:-0}" -gt 0 ]; then
      mark "$DISK_0_PATH" "renamed $OLD_INSTANCE_NAME to $INSTANCE_NAME"
    fi
    ;;
  export)
    if [ -n "${EXP_SIZE_FD:-}" ]; then
      stat -L -c %s "$EXPORT_PATH" >&"$EXP_SIZE_FD"
    fi
    cat "$EXPORT_PATH"
    ;;
  import)
    dd of="$IMPORT_DEVICE" conv=notrunc status=none
    ;;
  verify)
    for check in "$@"; do
      if [ "$check" != parameters ]; then
        echo "Unknown check '$check'" >&2
        exit 1
      fi
    done
    for value in "${OSP_DHCP:-}" "${OSP_FAIL:-}"; do
      case "$value" in
        ""|yes|no) ;;
        *) echo "Invalid value '$value': expected yes or no" >&2; exit 1 ;;
      esac
    done
    ;;
  *)
    echo "Unknown action '$action'" >&2
    exit 1
    ;;
esac
exit 0
