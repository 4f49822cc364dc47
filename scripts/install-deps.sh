#!/usr/bin/env bash
# Installs the Debian packages seal builds and runs with, when any is missing (idempotent, fast when present).
# Used by `make run` and `make test` so that both work on a fresh Debian 12 machine.
set -euo pipefail
PKGS=(libopenblas-dev libopenmpi-dev openmpi-bin libhdf5-dev libcurl4-openssl-dev openssl pkg-config python3-venv python3-h5py python3-numpy python3-pandas
      python3-matplotlib python3-pytest)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "installing: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
