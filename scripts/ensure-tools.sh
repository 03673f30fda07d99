#!/usr/bin/env bash
# Installs the system tools the test suite needs, when they are missing:
#   spin        - the SPIN model checker (Debian package "spin"), for spec/promela
#   nats-server - the NATS server (Debian package "nats-server"), started by the NATS context's tests
#   go          - Debian's Go toolchain ("golang-go"): its encoding/json is the oracle of the wire-format
#                 properties (test/properties/GoJson.test.ts builds test/fixtures/gojson with it)
# With --bench, also what `npm run bench` needs for its Go anchor (bench/go), which the tests do not:
#   google/uuid - Debian's package of it ("golang-github-google-uuid-dev")
set -euo pipefail
if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
UPDATED=""
install() {
  if [ -z "$UPDATED" ]; then $SUDO apt-get update -qq; UPDATED=1; fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >/dev/null
}
if ! command -v spin >/dev/null 2>&1; then
  echo "ensure-tools: installing spin from Debian" >&2
  install spin gcc
fi
# Debian installs it in /usr/sbin, which is not on every user's PATH.
if ! command -v nats-server >/dev/null 2>&1 && [ ! -x /usr/sbin/nats-server ]; then
  echo "ensure-tools: installing nats-server from Debian" >&2
  install nats-server
fi
if ! command -v go >/dev/null 2>&1; then
  echo "ensure-tools: installing Go from Debian, for the wire-format properties" >&2
  install golang-go
fi
if [ "${1:-}" = "--bench" ] && [ ! -d /usr/share/gocode/src/github.com/google/uuid ]; then
  echo "ensure-tools: installing google/uuid from Debian, for the benchmark's Go anchor" >&2
  install golang-github-google-uuid-dev
fi
spin -V | head -n 1 >&2
(command -v nats-server >/dev/null 2>&1 && nats-server --version || /usr/sbin/nats-server --version) >&2
go version >&2
