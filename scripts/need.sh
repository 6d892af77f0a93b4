# Sourced by scripts/test and scripts/lab: the Debian packages a script needs,
# checked all at once, so a user without root learns every missing one in one go.
#
#   need_command COMMAND PACKAGE...   PACKAGEs are needed where COMMAND is missing
#   need_check 'SHELL TEST' PACKAGE... PACKAGEs are needed where the test fails
#   install_needed                    as root: apt-get install them all;
#                                     else: name them all, one sudo line, exit 1
_needed=()

need_check() {
  if ! (eval "$1") >/dev/null 2>&1; then
    _needed+=("${@:2}")
  fi
}

need_command() {
  need_check "command -v '$1'" "${@:2}"
}

install_needed() {
  [ ${#_needed[@]} -eq 0 ] && return 0
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${_needed[@]}" >/dev/null
  else
    {
      echo "missing system packages: ${_needed[*]}"
      echo "install them first: sudo apt-get install ${_needed[*]}"
    } >&2
    exit 1
  fi
}
