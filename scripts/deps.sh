#!/usr/bin/env bash
# Installs the Debian packages inspectd needs, only those missing. Sourced by run.sh and test.sh.
#   deps.sh build     what building and running needs
#   deps.sh test      plus what the full test suite uses (sanitizer runtimes, nginx, wrk, chromium,
#                     node for the browser and OpenAPI checks, Fashion-MNIST, and podman with
#                     podman-compose, runc, netavark + aardvark-dns (service names), iptables
#                     and debootstrap for tests/containers.sh)
set -euo pipefail
want=(build-essential cmake pkg-config libmicrohttpd-dev libcjson-dev libstb-dev libopenblas-dev
      zlib1g-dev check curl ca-certificates libdnnl-dev libmosquitto-dev libcurl4-openssl-dev)
if [ "${1:-build}" = test ]; then
  want+=(clang libclang-rt-14-dev nginx-light wrk chromium dataset-fashion-mnist python3-yaml
         mosquitto mosquitto-clients podman podman-compose runc netavark aardvark-dns iptables
         debootstrap)
  # node and npm: Debian's, unless the machine already has them
  command -v node >/dev/null && command -v npm >/dev/null || want+=(nodejs npm)
fi
missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
