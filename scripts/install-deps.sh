#!/usr/bin/env bash
# Installs the Debian 12 packages Halo builds and tests with. Idempotent: when every
# package is already present it does nothing (and needs neither root nor network).
# `install-deps.sh bench` also installs what the benchmarks need besides (Dask distributed). wrk drives the
# service demo.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config
  libgrpc++-dev libabsl-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  librocksdb-dev libhiredis-dev libboost-dev libboost-system-dev libssl-dev openssl
  libspdlog-dev libfmt-dev libcli11-dev libyaml-cpp-dev nlohmann-json3-dev libmsgpack-cxx-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  redis-server redis-sentinel redis-tools procps
  iproute2 iptables
  dpkg-dev
  wrk
  prometheus-cpp-dev prometheus
  chromium fonts-dejavu-core
)
if [[ "${1:-}" == "bench" ]]; then
  PACKAGES+=(python3-distributed python3-dask)
fi

missing=()
for p in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done

if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
SUDO=""
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "install-deps: error: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
  SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
