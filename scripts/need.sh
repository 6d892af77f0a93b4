# Sourced by scripts/test and scripts/lab.
# need COMMAND DEBIAN-PACKAGE...: install the packages (as root) where COMMAND is missing.
need() {
  command -v "$1" >/dev/null 2>&1 && return
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${@:2}" >/dev/null
  else
    echo "$1 is missing: run 'sudo apt-get install ${*:2}' first" >&2
    exit 1
  fi
}
