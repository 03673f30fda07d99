#!/usr/bin/env bash
# Installs the system tools the test suite needs, when they are missing:
#   spin  - the SPIN model checker (Debian package "spin"), for spec/promela
set -euo pipefail
if ! command -v spin >/dev/null 2>&1; then
  echo "ensure-tools: installing spin from Debian" >&2
  if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq spin gcc >/dev/null
fi
spin -V | head -n 1 >&2
