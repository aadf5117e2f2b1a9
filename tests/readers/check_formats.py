#!/usr/bin/python3
"""Proves nbcl's miniCBF and NeXus/NXmx files valid for DIALS' dxtbx and fabio (Debian
python3-dials, python3-fabio), next to the SMV image of the same argv.

For several geometries (MOSFLM square and off-centre non-square, XDS, DIALS, CUSTOM vectors,
two-theta, detector rotations) nbcl writes SMV (-intfile, -noisefile), CBF and NXmx; dxtbx must:
  - read all three with the same image size, pixel size, wavelength, scan start and width;
  - read the NXmx as the argv's exact experiment: every angle and length among the detector's
    fast/slow axes, first-pixel corner, beam and spindle equal those nbcl (like nanoBragg)
    prints for the argv (the lab frame may differ: the geometry is the same up to a rotation);
  - read the CBF with the same direct-beam centre and beam-to-detector distance as the NXmx,
    and, where miniCBF can say it (detector normal to the beam, spindle along the fast axis:
    MOSFLM and XDS without rotations), with the whole same detector and axis;
  - where SMV can say it (those same cases), read SMV's axes and distance the same; dxtbx's SMV
    reader (FormatSMVJHSim) places the beam centre by its own convention, so the SMV beam
    centre is reported, not compared (docs/formats.md);
and the CBF/NXmx counts must equal the noise image less its ADC offset, pixel for pixel (dxtbx
and fabio). A 4-frame NXmx written through the library (tests/unit/test_formats) must be one
sweep of 4 images with each frame's pixels, and its -mask file's pixel_mask must be dxtbx's
static mask; dials.import must accept the CBF, the NXmx, and
a `-nframes 4` run's 4 CBF files and its NXmx file as one sweep of 4 each (the same pixels). Exit 77 (skipped) when DIALS is not installed."""
import glob
import json
import os
import subprocess
import sys
import tempfile

try:
    import dxtbx
    import numpy as np
except ImportError:
    print("python3-dials not installed: skipping")
    sys.exit(77)
try:
    import fabio
except ImportError:
    fabio = None

here = os.path.dirname(os.path.abspath(__file__))
bindir = os.environ.get("NBCL_BIN_DIR", os.path.join(here, "..", "..", "build", "bin"))
nbcl = os.path.join(bindir, "nbcl")
BASE = ["-cell", "100", "100", "100", "90", "90", "90", "-lambda", "1.2", "-N", "5",
        "-default_F", "100", "-distance", "80", "-pixel", "0.172", "-phi", "10", "-osc", "0.25",
        "-seed", "7", "-nopgm", "-noprogress", "-floatfile", "f.bin", "-intfile", "s_0001.img",
        "-noisefile", "n_0001.img", "-cbffile", "c_0001.cbf", "-nexusfile", "x.nxs"]
NONSQ = ["-detpixels_f", "96", "-detpixels_s", "64"]
# name, extra argv, whether CBF and SMV can state the whole geometry
CASES = [
    ("mosflm_square", ["-detpixels", "64"], True),
    ("mosflm_offcentre", NONSQ + ["-Xbeam", "5.1", "-Ybeam", "8.3"], True),
    # a Pilatus module's size: header convention PILATUS_1.2, read by dxtbx's Pilatus class
    ("pilatus_module", ["-detpixels_f", "487", "-detpixels_s", "195", "-N", "2"], True),
    ("xds", NONSQ + ["-xds", "-ORGX", "40.5", "-ORGY", "20"], True),
    ("dials", NONSQ + ["-dials"], False),
    ("custom", NONSQ + ["-fdet_vector", "0", "0.1", "0.994987437", "-sdet_vector", "0",
                        "-0.994987437", "0.1", "-odet_vector", "1", "0", "0", "-beam_vector", "1",
                        "0", "0", "-polar_vector", "0", "0", "1", "-spindle_axis", "0", "0", "1",
                        "-pix0_vector", "0.08", "0.006", "-0.008"], False),
    ("twotheta", NONSQ + ["-twotheta", "15"], False),
    ("rotations", NONSQ + ["-detector_rotx", "2", "-detector_roty", "3", "-detector_rotz", "5"],
     False),
]

failures = []
passed = 0


def check(ok, what):
    global passed
    if ok:
        passed += 1
    else:
        failures.append(what)
    return ok


def run(argv, d):
    r = subprocess.run(argv, cwd=d, capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        print("failed:", " ".join(argv), r.stdout[-2000:], r.stderr[-2000:])
        sys.exit(1)
    return r.stdout


def printed_vectors(out):
    """the geometry nbcl prints for the argv (nanoBragg's summary), lab frame, mm"""
    keys = {"DIRECTION_OF_DETECTOR_X-AXIS=": "f", "DIRECTION_OF_DETECTOR_Y-AXIS=": "s",
            "INCIDENT_BEAM_DIRECTION=": "b", "spindle ROTATION_AXIS=": "a", "dials origin=": "o"}
    v = {}
    for line in out.splitlines():
        for k, name in keys.items():
            if line.strip().startswith(k):
                v[name] = np.array([float(x) for x in line.split("=")[1].split()[:3]])
    o = v.pop("o")  # nanoBragg's dials origin is (1000 pix0_z, 1000 pix0_y, -1000 pix0_x)
    v["p"] = np.array([-o[2], o[1], o[0]])
    return v


def models(path, index=0):
    img = dxtbx.load(path)
    p = img.get_detector()[0]
    beam = img.get_beam()
    gonio = img.get_goniometer()
    scan = img.get_scan()
    multi = hasattr(img, "get_num_images")
    raw = img.get_raw_data(index) if multi else img.get_raw_data()
    if isinstance(raw, tuple):
        raw = raw[0]
    s0 = beam.get_s0()
    return {
        "format": type(img).__name__,
        "image_size": tuple(p.get_image_size()),
        "pixel_size": tuple(p.get_pixel_size()),
        "wavelength": beam.get_wavelength(),
        "oscillation": tuple(scan.get_oscillation()),
        "images": scan.get_num_images(),
        "f": np.array(p.get_fast_axis()), "s": np.array(p.get_slow_axis()),
        "p": np.array(p.get_origin()), "a": np.array(gonio.get_rotation_axis()),
        "b": -np.array(beam.get_sample_to_source_direction()),
        "distance": p.get_distance(),
        "beam_centre": tuple(p.get_beam_centre(s0)),
        "beam_distance": float(np.linalg.norm(p.get_beam_centre_lab(s0))),
        "data": raw.as_numpy_array(),
    }


def near(a, b, tol):
    return np.allclose(np.asarray(a, float), np.asarray(b, float), rtol=0, atol=tol)


def same_up_to_rotation(m, v):
    """every dot product and the handedness among fast, slow, corner, beam, spindle"""
    names = ["f", "s", "p", "b", "a"]
    bad = []
    for i, x in enumerate(names):
        for y in names[i:]:
            got, want = float(np.dot(m[x], m[y])), float(np.dot(v[x], v[y]))
            tol = 2e-3 * max(1.0, abs(want)) if "p" in (x, y) else 2e-5
            if abs(got - want) > tol:
                bad.append("%s.%s %.6g vs %.6g" % (x, y, got, want))
    for t in (("f", "s", "b"), ("f", "s", "a")):
        got = np.linalg.det(np.array([m[k] for k in t]))
        want = np.linalg.det(np.array([v[k] for k in t]))
        if abs(got - want) > 2e-5:
            bad.append("det%s %.6g vs %.6g" % (t, got, want))
    return bad


with tempfile.TemporaryDirectory() as top:
    for name, extra, plain in CASES:
        d = os.path.join(top, name)
        os.mkdir(d)
        out = run([nbcl] + BASE + extra + ["-precision", "double"], d)
        lab = printed_vectors(out)
        smv = models(os.path.join(d, "s_0001.img"))
        cbf = models(os.path.join(d, "c_0001.cbf"))
        nxs = models(os.path.join(d, "x.nxs"))
        tag = name + ": "
        check(cbf["format"] == ("FormatCBFMiniPilatus" if name == "pilatus_module" else
                                "FormatCBFMini"), tag + "CBF read as %s" % cbf["format"])
        check(nxs["format"] == "FormatNXmx", tag + "NXmx read as %s" % nxs["format"])
        for k in ("image_size", "pixel_size", "wavelength", "oscillation"):
            check(near(cbf[k], smv[k], 1e-9) and near(nxs[k], smv[k], 1e-9),
                  tag + "%s: SMV %s, CBF %s, NXmx %s" % (k, smv[k], cbf[k], nxs[k]))
        bad = same_up_to_rotation(nxs, lab)
        check(not bad, tag + "NXmx geometry is not the argv's: " + "; ".join(bad))
        check(near(cbf["beam_centre"], nxs["beam_centre"], 1e-6) and
              near(cbf["beam_distance"], nxs["beam_distance"], 1e-6),
              tag + "beam centre/distance: CBF %s %.6f, NXmx %s %.6f" % (
                  cbf["beam_centre"], cbf["beam_distance"], nxs["beam_centre"],
                  nxs["beam_distance"]))
        if plain:
            for k in ("f", "s", "p", "a"):
                check(near(cbf[k], nxs[k], 1e-6), tag + "CBF %s %s, NXmx %s" % (k, cbf[k], nxs[k]))
            for k in ("f", "s", "a"):
                check(near(smv[k], nxs[k], 1e-9), tag + "SMV %s %s, NXmx %s" % (k, smv[k], nxs[k]))
            check(near(smv["distance"], nxs["distance"], 1e-4),
                  tag + "distance: SMV %.6f, NXmx %.6f" % (smv["distance"], nxs["distance"]))
        # counts: the noise image less its ADC offset, pixel for pixel
        h, w = nxs["data"].shape
        noise = np.fromfile(os.path.join(d, "n_0001.img"), dtype="<u2", offset=512).reshape(h, w)
        want = noise.astype(np.int64) - 40
        check(np.array_equal(cbf["data"], want) and np.array_equal(nxs["data"], want) and
              noise.max() < 65535, tag + "counts differ from the noise image less its ADC offset")
        if fabio is not None:
            im = fabio.open(os.path.join(d, "c_0001.cbf"))
            check(im.data.shape == (h, w) and np.array_equal(im.data, want),
                  tag + "fabio reads other CBF pixels (%s %s)" % (type(im).__name__, im.data.shape))
        print("%s: SMV beam centre %s (FormatSMVJHSim), CBF %s, NXmx %s mm" % (
            name, tuple(round(x, 4) for x in smv["beam_centre"]),
            tuple(round(x, 4) for x in cbf["beam_centre"]),
            tuple(round(x, 4) for x in nxs["beam_centre"])))
        if name == "mosflm_offcentre":
            # LZ4-compressed NXmx (Debian hdf5-filter-plugin): the same pixels through dxtbx
            r = subprocess.run([nbcl] + BASE + extra + ["-nexusfile", "lz4.nxs",
                                                        "-nexus_compression", "lz4"],
                               cwd=d, capture_output=True, text=True, timeout=600)
            if r.returncode == 3 and "not available" in r.stderr:
                print("LZ4 filter plugin not installed: -nexus_compression lz4 not checked")
            else:
                lz = models(os.path.join(d, "lz4.nxs"))
                check(r.returncode == 0 and np.array_equal(lz["data"], want),
                      tag + "LZ4 NXmx pixels differ (exit %d)" % r.returncode)
            for f in ("c_0001.cbf", "x.nxs"):
                r = subprocess.run(["dials.import", f, "output.experiments=%s.expt" % f], cwd=d,
                                   capture_output=True, text=True, timeout=300)
                check(r.returncode == 0 and os.path.exists(os.path.join(d, f + ".expt")),
                      tag + "dials.import %s failed: %s" % (f, (r.stdout + r.stderr)[-500:]))

    # one `nbcl -nframes 4` run: 4 CBF files and one NXmx file, each one sweep of 4 images
    d = os.path.join(top, "cbf_sweep")
    os.mkdir(d)
    argv = BASE[:BASE.index("-floatfile")] + NONSQ + [
        "-nframes", "4", "-floatfile", "f_#.bin", "-intfile", "s_#.img", "-noisefile", "n_#.img",
        "-cbffile", "sweep_####.cbf", "-nexusfile", "sweep.nxs"]
    run([nbcl] + argv, d)
    cbfs = ["sweep_%04d.cbf" % (k + 1) for k in range(4)]
    for files in (cbfs, ["sweep.nxs"]):
        r = subprocess.run(["dials.import"] + files + ["output.experiments=%s.expt" % files[0]],
                           cwd=d, capture_output=True, text=True, timeout=300)
        ok = r.returncode == 0 and os.path.exists(os.path.join(d, files[0] + ".expt"))
        if ok:
            with open(os.path.join(d, files[0] + ".expt")) as fh:
                el = json.load(fh)
            ok = len(el["scan"]) == 1 and el["scan"][0]["image_range"] == [1, 4]
        check(ok, "dials.import does not see the -nframes 4 %s as one sweep of 4: %s" % (
            files[0], (r.stdout + r.stderr)[-500:]))
    nx = dxtbx.load(os.path.join(d, "sweep.nxs"))
    scan = nx.get_scan()
    check(nx.get_num_images() == 4 and near(scan.get_oscillation(), (10.0, 0.25), 1e-9),
          "-nframes NXmx: %d images, scan %s" % (nx.get_num_images(), scan.get_oscillation()))
    for k in range(4):
        c = dxtbx.load(os.path.join(d, cbfs[k]))
        check(near(c.get_scan().get_oscillation(), (10.0 + 0.25 * k, 0.25), 1e-9),
              "%s: scan %s" % (cbfs[k], c.get_scan().get_oscillation()))
        raw = [nx.get_raw_data(k), c.get_raw_data()]
        raw = [(x[0] if isinstance(x, tuple) else x).as_numpy_array() for x in raw]
        check(np.array_equal(raw[0], raw[1]),
              "-nframes: NXmx frame %d differs from %s" % (k + 1, cbfs[k]))
    print("-nframes 4: 4 CBF files and one NXmx file, each one sweep of 4 images, oscillation %s"
          % (scan.get_oscillation(),))

    # a 4-frame series written through the library API (tests/unit/test_formats)
    tool = os.path.join(bindir, "test_formats")
    if os.path.exists(tool):
        env = dict(os.environ, NBCL_TEST_TMP=os.path.join(top, "unit"))
        r = subprocess.run([tool], env=env, capture_output=True, text=True, timeout=300)
        files = glob.glob(os.path.join(top, "unit", "*", "series.nxs"))
        if check(r.returncode == 0 and len(files) == 1, "test_formats did not write series.nxs"):
            img = dxtbx.load(files[0])
            scan = img.get_scan()
            check(img.get_num_images() == 4 and scan.get_num_images() == 4 and
                  near(scan.get_oscillation(), (10.0, 0.25), 1e-9),
                  "series: %d images, scan %s" % (img.get_num_images(), scan.get_oscillation()))
            n = 96 * 64
            i = np.arange(n)
            for k in range(4):
                want = ((i * 7919 + k * 104729) % 5000) - np.where(i % 97 == 0, 5002, 0)
                got = img.get_raw_data(k)[0].as_numpy_array().ravel()
                check(np.array_equal(got, want), "series: frame %d pixels differ" % (k + 1))
            r = subprocess.run(["dials.import", files[0]], cwd=os.path.join(top, "unit"),
                               capture_output=True, text=True, timeout=300)
            ok = r.returncode == 0
            if ok:
                with open(os.path.join(top, "unit", "imported.expt")) as fh:
                    el = json.load(fh)
                ok = len(el["scan"]) == 1 and el["scan"][0]["image_range"] == [1, 4]
            check(ok, "dials.import does not see the 4-frame NXmx as one sweep of 4: %s" % (
                (r.stdout + r.stderr)[-500:]))
            print("series.nxs: one sweep of 4 images, oscillation %s" % (scan.get_oscillation(),))
            # -mask: dxtbx takes the static mask from pixel_mask
            masks = glob.glob(os.path.join(top, "unit", "*", "mask.nxs"))
            if check(len(masks) == 1, "test_formats did not write mask.nxs"):
                m = dxtbx.load(masks[0]).get_static_mask()[0].as_numpy_array().ravel()
                check(np.array_equal(m, np.arange(15) % 4 != 0),
                      "NXmx pixel_mask not read as dxtbx's static mask: %s" % m)
    else:
        failures.append("test_formats not built (%s)" % tool)

if failures:
    print("\n".join(failures))
    print("dxtbx/fabio read nbcl's CBF and NXmx: %d checks passed, %d failed" % (passed,
                                                                               len(failures)))
    sys.exit(1)
print("dxtbx/fabio read nbcl's CBF and NXmx: %d checks passed, 0 failed" % passed)
