#!/usr/bin/python3
"""Proves nbcl's SMV images are valid for a real reader (fabio, Debian python3-fabio).

Renders a small non-square image with nbcl (noise image too), opens both SMV files with fabio
and checks dimensions, type, header values and every pixel against the raw bytes and the float
image. Exit 77 (skipped) when fabio is not installed."""
import os
import subprocess
import sys
import tempfile

try:
    import fabio
    import numpy as np
except ImportError:
    print("python3-fabio not installed: skipping")
    sys.exit(77)

nbcl = os.path.join(os.environ.get("NBCL_BIN_DIR", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "build", "bin")), "nbcl")
with tempfile.TemporaryDirectory() as d:
    argv = [nbcl, "-cell", "100", "100", "100", "90", "90", "90", "-lambda", "1.2", "-N", "5",
            "-default_F", "100", "-distance", "80", "-detpixels_f", "96", "-detpixels_s", "64",
            "-pixel", "0.172", "-Xbeam", "5.1", "-Ybeam", "8.3", "-seed", "5",
            "-floatfile", "f.bin", "-intfile", "i.img", "-noisefile", "n.img", "-nopgm",
            "-noprogress"]
    r = subprocess.run(argv, cwd=d, capture_output=True, text=True)
    if r.returncode != 0:
        print("nbcl failed:", r.stderr)
        sys.exit(1)
    fimg = np.fromfile(os.path.join(d, "f.bin"), dtype=np.float32).reshape(64, 96)
    failures = []
    for name in ("i.img", "n.img"):
        path = os.path.join(d, name)
        im = fabio.open(path)
        raw = np.fromfile(path, dtype="<u2", offset=512).reshape(64, 96)
        h = im.header
        checks = [
            (im.data.shape == (64, 96), "shape %s" % (im.data.shape,)),
            (im.data.dtype == np.uint16, "dtype %s" % im.data.dtype),
            (np.array_equal(im.data, raw), "pixels differ from the raw data"),
            (float(h["PIXEL_SIZE"]) == 0.172, "PIXEL_SIZE %s" % h.get("PIXEL_SIZE")),
            (abs(float(h["DISTANCE"]) - 80) < 1e-9, "DISTANCE %s" % h.get("DISTANCE")),
            (abs(float(h["WAVELENGTH"]) - 1.2) < 1e-12, "WAVELENGTH %s" % h.get("WAVELENGTH")),
            (abs(float(h["BEAM_CENTER_X"]) - 5.1) < 1e-9, "BEAM_CENTER_X %s" % h.get("BEAM_CENTER_X")),
            (abs(float(h["BEAM_CENTER_Y"]) - 8.3) < 1e-9, "BEAM_CENTER_Y %s" % h.get("BEAM_CENTER_Y")),
            (int(h["SIZE1"]) == 96 and int(h["SIZE2"]) == 64, "SIZE1/SIZE2"),
        ]
        if name == "i.img":
            scale = 55000.0 / fimg.max()
            expect = np.floor(np.clip(fimg.astype(np.float64) * scale + 40, 0, 65535) + 0.5)
            checks.append((np.abs(im.data.astype(np.int64) - expect).max() <= 1,
                           "int pixels do not follow the float image"))
        else:
            checks.append((im.data.min() >= 40, "noise below the ADC offset"))
        for ok, what in checks:
            if not ok:
                failures.append("%s: %s" % (name, what))
        print("%s: fabio %s %s, header ok" % (name, type(im).__name__, im.data.shape))
    if failures:
        print("\n".join(failures))
        sys.exit(1)
print("fabio reads nbcl's SMV images: 2 passed, 0 failed")
