#!/usr/bin/python3
"""Proves nbcl's SMV images are valid for DIALS (Debian python3-dials): dxtbx must read the
same experiment from nbcl's image as from nanoBragg's image of the same argv.

For golden cases with different conventions (MOSFLM default beam centre, phi oscillation, XDS
with detector rotations and two-theta, explicit beam centre with an ROI), nbcl renders the case's
argv in double precision; dxtbx then loads nbcl's int.img and the reference's golden int.img and
every model must agree: format class, detector (image size, pixel size, distance, fast and slow
axes, origin), beam (wavelength, direction), goniometer axis, scan (oscillation), and every
pixel. dials.import must also accept nbcl's image. Without the golden set, nbcl's own image is
checked against its argv. A 6-frame series (nbcl -nframes) must import as one sweep of 6 images
with each frame's oscillation. Exit 77 (skipped) when DIALS is not installed."""
import os
import shutil
import subprocess
import sys
import tempfile

try:
    import dxtbx
    import numpy as np
except ImportError:
    print("python3-dials not installed: skipping")
    sys.exit(77)

here = os.path.dirname(os.path.abspath(__file__))
bindir = os.environ.get("NBCL_BIN_DIR", os.path.join(here, "..", "..", "build", "bin"))
nbcl = os.path.join(bindir, "nbcl")
golden = (os.environ.get("NBCL_GOLDEN_DIR") or os.environ.get("NBCL_GOLDEN_DEFAULT") or
          os.path.join(here, "..", "..", "..", "shared", "golden"))
CASES = ["p01_cubic_defaultF", "p03_mosaic_phi", "p08_xds_rot_twotheta", "p17_roi_xbeam"]


def models(path):
    img = dxtbx.load(path)
    det = img.get_detector()
    beam = img.get_beam()
    gonio = img.get_goniometer()
    scan = img.get_scan()
    p = det[0]
    raw = img.get_raw_data()
    if isinstance(raw, tuple):
        raw = raw[0]
    return {
        "format": type(img).__name__,
        "panels": len(det),
        "image_size": tuple(p.get_image_size()),
        "pixel_size": tuple(p.get_pixel_size()),
        "distance": p.get_distance(),
        "fast_axis": tuple(p.get_fast_axis()),
        "slow_axis": tuple(p.get_slow_axis()),
        "origin": tuple(p.get_origin()),
        "wavelength": beam.get_wavelength(),
        "beam_direction": tuple(beam.get_sample_to_source_direction()),
        "rotation_axis": tuple(gonio.get_rotation_axis()) if gonio else None,
        "oscillation": tuple(scan.get_oscillation()) if scan else None,
        "data": raw.as_numpy_array(),
    }


def close(a, b, tol=1e-9):
    if isinstance(a, tuple):
        return len(a) == len(b) and all(close(x, y, tol) for x, y in zip(a, b))
    if isinstance(a, float):
        return abs(a - b) <= tol * max(1.0, abs(a), abs(b))
    return a == b


def render(argv, d):
    r = subprocess.run([nbcl] + argv + ["-precision", "double"], cwd=d, capture_output=True,
                       text=True)
    if r.returncode != 0:
        print("nbcl failed:", " ".join(argv), r.stderr)
        sys.exit(1)


failures = []
passed = 0


def judge(checks, what, good):
    """(ok, message) pairs: failures recorded under `what`; 1 when all passed"""
    failures.extend("%s: %s" % (what, msg) for ok, msg in checks if not ok)
    if all(ok for ok, _ in checks):
        print("%s: %s" % (what, good))
        return 1
    return 0

with tempfile.TemporaryDirectory() as d:
    have_golden = os.path.isdir(golden) and all(os.path.isdir(os.path.join(golden, c)) for c in CASES)
    if have_golden:
        os.symlink(os.path.join(golden, "inputs"), os.path.join(d, "inputs"))
        for case in CASES:
            with open(os.path.join(golden, case, "args.txt")) as f:
                argv = f.read().split()
            render(argv, d)
            # dxtbx names a scan from the image number in the file name: give both one
            mine = os.path.join(d, "nbcl_%s_0001.img" % case)
            theirs = os.path.join(d, "ref_%s_0001.img" % case)
            shutil.move(os.path.join(d, "int.img"), mine)
            shutil.copyfile(os.path.join(golden, case, "int.img"), theirs)
            ours = models(mine)
            ref = models(theirs)
            bad = [k for k in ours if k != "data" and not close(ours[k], ref[k])]
            if not np.array_equal(ours["data"], ref["data"]):
                diff = np.abs(ours["data"].astype(np.int64) - ref["data"].astype(np.int64))
                bad.append("data (%d pixels differ, max %d)" % ((diff > 0).sum(), diff.max()))
            if ours["format"] != "FormatSMVJHSim":
                bad.append("format %s" % ours["format"])
            if bad:
                for k in bad:
                    failures.append("%s: %s: nbcl %s, nanoBragg %s" % (
                        case, k, ours.get(k.split()[0]), ref.get(k.split()[0])))
            else:
                passed += 1
                print("%s: dxtbx reads the same experiment from nbcl and nanoBragg (%s, %s px)" % (
                    case, ours["format"], ours["image_size"]))
    else:
        print("golden images not found (NBCL_GOLDEN_DIR): checking nbcl's image against its argv")
    # nbcl's image on its own: the argv's geometry, and dials.import accepts it
    argv = ["-cell", "100", "100", "100", "90", "90", "90", "-lambda", "1.2", "-N", "5",
            "-default_F", "100", "-distance", "80", "-detpixels_f", "96", "-detpixels_s", "64",
            "-pixel", "0.172", "-phi", "10", "-osc", "0.25", "-intfile", "own_0001.img",
            "-nopgm", "-nonoise", "-noprogress"]
    render(argv, d)
    m = models(os.path.join(d, "own_0001.img"))
    raw = np.fromfile(os.path.join(d, "own_0001.img"), dtype="<u2", offset=512).reshape(64, 96)
    checks = [
        (m["format"] == "FormatSMVJHSim", "format %s" % m["format"]),
        (m["image_size"] == (96, 64), "image size %s" % (m["image_size"],)),
        (close(m["pixel_size"], (0.172, 0.172)), "pixel size %s" % (m["pixel_size"],)),
        (close(m["distance"], 80.0), "distance %s" % m["distance"]),
        (close(m["wavelength"], 1.2), "wavelength %s" % m["wavelength"]),
        (close(m["oscillation"], (10.0, 0.25)), "oscillation %s" % (m["oscillation"],)),
        (np.array_equal(m["data"], raw.astype(m["data"].dtype)), "pixels differ from the file"),
    ]
    passed += judge(checks, "own image", "dxtbx geometry and pixels match the argv and the file")
    r = subprocess.run(["dials.import", "own_0001.img"], cwd=d, capture_output=True, text=True)
    if r.returncode != 0 or not os.path.exists(os.path.join(d, "imported.expt")):
        failures.append("dials.import failed: %s" % (r.stdout[-500:] + r.stderr[-500:]))
    else:
        passed += 1
        print("dials.import accepts nbcl's image (imported.expt written)")
    # a series (nbcl -nframes, docs/datasets.md) is ONE sweep: N images, the right oscillation
    series = ["-cell", "100", "100", "100", "90", "90", "90", "-lambda", "1", "-N", "5",
              "-default_F", "100", "-distance", "100", "-detpixels", "64", "-phi", "5", "-osc",
              "0.5", "-nframes", "6", "-intfile", "sweep_###.img", "-floatfile", "sweep_###.bin",
              "-nopgm", "-nonoise", "-noprogress"]
    sd = os.path.join(d, "series")
    os.mkdir(sd)
    render(series, sd)
    frames = sorted(f for f in os.listdir(sd) if f.endswith(".img"))
    r = subprocess.run(["timeout", "120", "dials.import"] + frames, cwd=sd, capture_output=True,
                       text=True)
    expt = os.path.join(sd, "imported.expt")
    if r.returncode != 0 or not os.path.exists(expt):
        failures.append("dials.import of the series failed: %s" % (r.stdout[-500:] + r.stderr[-500:]))
    else:
        from dxtbx.model.experiment_list import ExperimentListFactory
        el = ExperimentListFactory.from_json_file(expt, check_format=False)
        scan = el[0].scan if len(el) else None
        checks = [
            (len(frames) == 6, "%d frame files" % len(frames)),
            (len(el) == 1 and len(el.imagesets()) == 1,
             "%d experiments, %d imagesets (want one sweep)" % (len(el), len(el.imagesets()))),
            (scan is not None and tuple(scan.get_image_range()) == (1, 6),
             "image range %s" % (scan.get_image_range() if scan else None,)),
            (scan is not None and close(tuple(scan.get_oscillation()), (5.0, 0.5)),
             "oscillation %s" % (scan.get_oscillation() if scan else None,)),
        ]
        for k, f in enumerate(frames):
            mk = models(os.path.join(sd, f))
            checks.append((close(mk["oscillation"], (5.0 + 0.5 * k, 0.5)),
                           "%s oscillation %s" % (f, mk["oscillation"])))
        passed += judge(checks, "series",
                        "dials.import sees one sweep of 6 images, 5 deg + 0.5 deg per image")
if failures:
    print("\n".join(failures))
    print("DIALS reads nbcl's SMV images: %d passed, %d failed" % (passed, len(failures)))
    sys.exit(1)
print("DIALS reads nbcl's SMV images: %d passed, 0 failed" % passed)
