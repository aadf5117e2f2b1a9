#!/bin/sh
# Install the Debian 12 packages nanoBragg-CL needs, only those that are missing.
# Usage: tools/deps.sh [--with-checks]   (--with-checks adds clang/libFuzzer, oclgrind and the
#                                         image readers fabio and DIALS used by the tests, man-db
#                                         for the installed man pages check)
set -eu
PKGS="build-essential cmake pkg-config ocl-icd-opencl-dev opencl-headers pocl-opencl-icd \
libclblast-dev libcmocka-dev libjson-c-dev libpng-dev libssl-dev clinfo \
libopenmpi-dev openmpi-bin libcbf-dev libhdf5-dev libcairo2-dev"
if [ "${1:-}" = "--with-checks" ]; then
  PKGS="$PKGS clang libclang-rt-14-dev oclgrind python3-fabio python3-dials hdf5-tools hdf5-filter-plugin man-db"
fi
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -z "$missing" ]; then
  echo "deps: all packages present"
  exit 0
fi
echo "deps: installing:$missing"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
