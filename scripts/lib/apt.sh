#!/usr/bin/env bash
# Sourced by test scripts that need a Debian package (PostgreSQL, Prometheus, Chromium).
# `ensure_debian_packages pkg...` installs whichever are missing; it runs `apt-get update`
# at most once per boot (a stamp in /tmp), as root or through sudo. It fails with a clear
# message when neither is possible, so a test never silently skips its real component.

ensure_debian_packages() {
  local missing=()
  local p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local SUDO=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO="sudo -n"; else
      echo "need root (or sudo) to install: ${missing[*]}" >&2
      return 1
    fi
  fi
  # apt-get holds a lock; concurrent scripts wait for it instead of failing.
  local stamp=/tmp/andal-apt-updated
  if [ ! -e "$stamp" ]; then
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 update -q >/dev/null
    touch "$stamp"
  fi
  echo "installing from Debian's packages: ${missing[*]}"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -q \
    --no-install-recommends "${missing[@]}" >/dev/null
}
