#!/bin/sh
# First command for a new user: install what is missing, build, render a default image.
set -eu
cd "$(dirname "$0")/.."
tools/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)"
mkdir -p out
cd out
../build/bin/nbcl -cell 100 100 100 90 90 90 -lambda 6.2 -N 5 -default_F 100 -distance 100 \
  -detpixels 512 -floatfile default.bin -intfile default.img -pgmfile default.pgm -nonoise \
  -pngfile default.png -cbffile default_0001.cbf -nexusfile default.nxs -noprogress > default.log
echo
echo "Rendered a 512x512 image on: $(grep '  device:' default.log | sed 's/^  device: //')"
echo "  $(pwd)/default.img   (SMV, open with adxv, dials.image_viewer or fabio)"
echo "  $(pwd)/default.png   (8-bit preview, opens in any image viewer or browser)"
echo "  $(pwd)/default_0001.cbf, default.nxs   (miniCBF and NeXus/NXmx photon counts: DIALS, XDS)"
echo "  $(pwd)/default.pgm   (8-bit preview, PGM)"
echo "  $(pwd)/default.bin   (raw float32, 512x512)"
echo "Binaries: $(cd .. && pwd)/build/bin  (nbcl, nbcl-bench, nbcl-compare)"
