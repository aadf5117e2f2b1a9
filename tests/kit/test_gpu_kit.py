#!/usr/bin/python3
"""Smoke test of the GPU evidence kit (tools/gpu_kit.sh + its runner) end to end on PoCL.

Builds a kit from this build into a temporary folder (two golden cases, nbcl itself standing in
for the reference binary, as tests/cli/test_bench.c does), checks that nothing in it resolves
outside the kit but glibc and libstdc++/libgcc_s (ldd in a clean environment), runs its run.sh
with PoCL's library standing in for NVIDIA's (libnvidia-opencl.so.1 in a folder of its own,
found and named in the generated nvidia.icd as on the GPU machine) and small bench sizes, and
checks the bundle:
parity correlations and sum ratios within the golden bars, env.json naming the device,
perf_results.json with real rows, the measured peak, the reference timed. Then a run on a device
that does not exist (with a kit file changed after assembly) must still leave every file, report
both and exit 1, and a kit over its size limit must be refused. Without the golden set, a synthetic case rendered by nbcl stands in for it.
Exit 77 (skipped) for a non-Release build (the kit refuses those) or when PoCL is not installed."""
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile

SRC = os.environ.get("NBCL_SOURCE_DIR",
                     os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
BIN = os.environ.get("NBCL_BIN_DIR", os.path.join(SRC, "build", "bin"))
BUILD = os.path.dirname(os.path.abspath(BIN))
KIT_SH = os.path.join(SRC, "tools", "gpu_kit.sh")
CASES = ["p01_cubic_defaultF", "p05_tricubic_hkl"]
BARS = {"double": (0.99999, 1e-5), "single": (0.9999, 1e-3)}
BASICS = re.compile(r"^(linux-vdso|ld-linux[-\w.]*|libc|libm|libdl|libpthread|librt|libresolv|libmvec"
                    r"|libstdc\+\+|libgcc_s)\.so")

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)
    return cond


def skip(why):
    print(why + ": skipping")
    sys.exit(77)


def build_type():
    with open(os.path.join(BUILD, "CMakeCache.txt")) as f:
        for line in f:
            if line.startswith("CMAKE_BUILD_TYPE:"):
                return line.split("=", 1)[1].strip()
    return ""


def pocl_library():
    """The library PoCL's .icd names (read only)."""
    for icd in sorted(glob.glob("/etc/OpenCL/vendors/*pocl*.icd")):
        with open(icd) as f:
            name = f.readline().strip()
        if name:
            return name
    return None


def library_path(name):
    """The file a bare library name loads (ldconfig's cache), or name itself when a path."""
    if "/" in name:
        return name
    out = subprocess.run(["/sbin/ldconfig", "-p"], capture_output=True, text=True).stdout
    dirs = []
    for line in out.splitlines():
        parts = line.split()
        if parts and "=>" in parts:
            if parts[0] == name:
                return parts[-1]
            d = os.path.dirname(parts[-1])
            if d not in dirs:
                dirs.append(d)
    for d in dirs:  # a real file name (libpocl.so.2.10.0) beside the sonames ldconfig lists
        if os.path.isfile(os.path.join(d, name)):
            return os.path.join(d, name)
    return None


def run(argv, env=None, cwd=None, timeout=300):
    r = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    return r.returncode, r.stdout + r.stderr


def synthetic_golden(root):
    """A one-case golden set rendered by nbcl itself (when ../shared/golden is absent)."""
    d = os.path.join(root, "s01_synthetic")
    os.makedirs(d)
    args = ("-cell 100 100 100 90 90 90 -lambda 6.2 -N 5 -default_F 100 -distance 100 "
            "-detpixels 64 -floatfile float.bin -intfile int.img -nopgm -noprogress -nonoise")
    with open(os.path.join(d, "args.txt"), "w") as f:
        f.write(args + "\n")
    rc, out = run([os.path.join(BIN, "nbcl")] + args.split() + ["-precision", "double"], cwd=d)
    if rc != 0:
        print(out)
        sys.exit(1)
    return ["s01_synthetic"]


def ldd_outside(kit):
    """Every library an ELF file of the kit resolves outside kit/lib that is not a glibc basic."""
    bad = []
    env = {"PATH": "/usr/bin:/bin", "LD_LIBRARY_PATH": os.path.join(kit, "lib")}
    files = glob.glob(os.path.join(kit, "bin", "*")) + glob.glob(os.path.join(kit, "lib", "*.so*")) \
        + glob.glob(os.path.join(kit, "ref", "*"))
    seen = set()
    for f in files:
        rc, out = run(["ldd", f], env=env)
        check(rc == 0, "ldd %s: exit %d" % (f, rc))
        for line in out.splitlines():
            check("not found" not in line, "%s: %s" % (f, line.strip()))
            m = re.match(r"\s*(\S+) => (\S+)", line)
            if not m:
                continue
            name, path = os.path.basename(m.group(1)), m.group(2)
            seen.add((name, path))
            if not path.startswith(os.path.join(kit, "lib") + "/") and not BASICS.match(name):
                bad.append("%s -> %s (%s)" % (os.path.relpath(f, kit), name, path))
    return bad, seen


def main():
    if not os.path.isfile(os.path.join(BUILD, "CMakeCache.txt")):
        skip("no CMake build at %s" % BUILD)
    bt = build_type()
    if bt != "Release":
        skip("the kit is made from Release builds only; this one is %s" % bt)
    pocl = pocl_library()
    if not pocl:
        skip("PoCL's .icd not found in /etc/OpenCL/vendors")

    base = os.environ.get("NBCL_TEST_TMP")
    if base:
        os.makedirs(base, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=base, prefix="gpu_kit.") as tmp:
        golden = os.environ.get("NBCL_GOLDEN_DIR") or os.environ.get("NBCL_GOLDEN_DEFAULT", "")
        cases = CASES
        if not all(os.path.isfile(os.path.join(golden, c, "float.bin")) for c in cases):
            print("golden set not found (%r): a synthetic case rendered by nbcl stands in" % golden)
            golden = os.path.join(tmp, "golden")
            cases = synthetic_golden(golden)

        # ---- the kit
        kit = os.path.join(tmp, "kit")
        nbcl = os.path.join(BIN, "nbcl")
        rc, out = run(["bash", KIT_SH, kit, "--build-dir", BUILD, "--golden", golden,
                       "--cases", ",".join(cases), "--reference", nbcl])
        print(out)
        if not check(rc == 0, "gpu_kit.sh exit %d" % rc):
            sys.exit(1)  # nothing else to check without a kit
        with open(os.path.join(kit, "kit.json")) as f:
            meta = json.load(f)
        check(meta["cases"] == cases, "kit.json cases %s" % meta["cases"])
        check(meta["build_type"] == "Release", "kit.json build_type %s" % meta["build_type"])
        check(meta["reference"]["file"] == "ref/nanoBragg", "kit.json reference %s" % meta["reference"])
        check("native" not in meta["c_flags"], "kit.json c_flags %s" % meta["c_flags"])
        for f in ["run.sh", "bin/nbcl", "bin/nbcl-bench", "bin/nbcl-compare", "ref/nanoBragg",
                  "lib/libOpenCL.so.1", "lib/" + meta["clblast"]] + \
                 ["golden/%s/%s" % (c, n) for c in cases for n in ("args.txt", "float.bin")]:
            check(os.path.isfile(os.path.join(kit, f)), "kit lacks " + f)
        check(glob.glob(os.path.join(kit, "lib", "libnbcl.so.*")), "kit lacks lib/libnbcl.so.*")
        size = sum(os.path.getsize(os.path.join(d, n)) for d, _, ns in os.walk(kit) for n in ns)
        check(0 < size < 60 * 1024 * 1024, "kit size %d" % size)
        # the charts' fonts travel with the kit, and its fontconfig file finds them there
        if os.path.isfile("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"):
            conf = os.path.join(kit, "fonts", "fonts.conf")
            check(os.path.isfile(conf), "kit lacks fonts/fonts.conf")
            if shutil.which("fc-match") and os.path.isfile(conf):
                rc, out = run(["fc-match", "-f", "%{file}", "sans"],
                              env=dict(os.environ, FONTCONFIG_FILE=conf))
                check(rc == 0 and out.startswith(os.path.join(kit, "fonts") + "/"),
                      "the kit's fontconfig file finds %r, not a font of the kit" % out)

        bad, seen = ldd_outside(kit)
        check(not bad, "resolved outside the kit: %s" % bad)
        resolved = {n: p for n, p in seen}
        for lib in ("libOpenCL.so.1", "libcrypto.so.3"):
            check(resolved.get(lib, "").startswith(os.path.join(kit, "lib") + "/"),
                  "%s resolves to %r, not the kit's" % (lib, resolved.get(lib)))

        # ---- the runner on PoCL: one call, small sizes. PoCL's library, under NVIDIA's name in a
        # folder of its own, takes the path the GPU machine's driver takes: found on disk, named
        # by its full path in a generated nvidia.icd, its folder added to LD_LIBRARY_PATH
        pocl_path = library_path(pocl)
        check(pocl_path and os.path.isfile(pocl_path), "PoCL library %r not found" % pocl)
        # A relocatable PoCL finds its device plugins (pocl/) and its compiler headers
        # (../../share/pocl) relative to the name it was loaded by: mirror both around the link
        real_dir = os.path.realpath(os.path.dirname(pocl_path))
        nvdir = os.path.join(tmp, "driver", "lib", "nv")
        os.makedirs(nvdir)
        fake_nv = os.path.join(nvdir, "libnvidia-opencl.so.1")
        os.symlink(pocl_path, fake_nv)
        if os.path.isdir(os.path.join(real_dir, "pocl")):
            os.symlink(os.path.join(real_dir, "pocl"), os.path.join(nvdir, "pocl"))
        share = os.path.realpath(os.path.join(real_dir, "..", "..", "share"))
        if os.path.isdir(share):
            os.symlink(share, os.path.join(tmp, "driver", "share"))
        env = {k: v for k, v in os.environ.items()
               if k not in ("OCL_ICD_VENDORS", "LD_LIBRARY_PATH", "NBCL_DEVICE", "NB_C_BIN")}
        env.update({"NBCL_KIT_DEVICE": "cpu", "NBCL_KIT_ICD_SEARCH": "/nonexistent:" + nvdir,
                    "NBCL_KIT_BUDGET": "240",
                    "NBCL_KIT_WORK": os.path.join(tmp, "work"),
                    "NBCL_KIT_BENCH_ARGS": "--case perf --sizes 48 --repeats 1 --ref-repeats 1"})
        out_dir = os.path.join(tmp, "out")
        rc, out = run(["bash", os.path.join(kit, "run.sh"), out_dir], env=env, timeout=300)
        print(out)
        check(rc == 0, "run.sh exit %d" % rc)
        want = {"env.json", "perf_results.json", "perf_summary.md", "parity.json", "parity.md",
                "run.json", "run.log", "bundle.tar.gz"}
        check(set(os.listdir(out_dir)) == want, "OUTDIR holds %s" % sorted(os.listdir(out_dir)))

        with open(os.path.join(tmp, "work", "icd", "nvidia.icd")) as f:
            check(f.read().strip() == fake_nv, "the generated nvidia.icd does not name %s" % fake_nv)

        with open(os.path.join(out_dir, "parity.json")) as f:
            parity = json.load(f)
        res = parity["results"]
        combos = {(r["case"], r["kernel"], r["precision"]) for r in res}
        check(combos == {(c, k, p) for c in cases for k in ("scalar", "simd")
                         for p in ("double", "single")}, "parity combinations %s" % sorted(combos))
        for r in res:
            lo, dev = BARS[r["precision"]]
            tag = "%s %s %s" % (r["case"], r["kernel"], r["precision"])
            check(r["status"] == "pass", "%s: status %s (%s)" % (tag, r["status"], r["note"]))
            check(isinstance(r["correlation"], (int, float)) and r["correlation"] >= lo,
                  "%s: correlation %r" % (tag, r["correlation"]))
            check(isinstance(r["sum_ratio"], (int, float)) and abs(r["sum_ratio"] - 1) <= dev,
                  "%s: sum ratio %r" % (tag, r["sum_ratio"]))
            check(r["render_ms"] is not None and r["render_ms"] > 0, "%s: render_ms %r" % (tag, r["render_ms"]))
        check(parity["summary"]["pass"] == len(res) == 4 * len(cases), "parity summary %s" % parity["summary"])
        with open(os.path.join(out_dir, "parity.md")) as f:
            md = f.read()
        check(all(c in md for c in cases), "parity.md lacks a case")

        with open(os.path.join(out_dir, "env.json")) as f:
            envj = json.load(f)
        rc, listing = run([os.path.join(BIN, "nbcl"), "-list_devices", "-device", "cpu"],
                          env={**os.environ, "OCL_ICD_VENDORS": os.path.join(tmp, "work", "icd")})
        check(rc == 0, "nbcl -list_devices through the generated ICD: exit %d" % rc)
        names = [d["info"]["device"]["name"] for d in envj["devices"]]
        check(len(names) == 1 and names[0] and names[0] in listing,
              "env.json devices %s, nbcl -list_devices: %s" % (names, listing))
        check(envj["reference"]["path"] == os.path.join(kit, "ref", "nanoBragg"),
              "env.json reference %s" % envj.get("reference"))
        check(str(envj["reference"]["omp_num_threads"]) == str(os.cpu_count()) or
              str(envj["reference"]["omp_num_threads"]) == str(len(os.sched_getaffinity(0))),
              "reference OMP_NUM_THREADS %s" % envj["reference"]["omp_num_threads"])
        peaks = envj["devices"][0].get("measured_peak")
        check(isinstance(peaks, list) and sorted(p["precision"] for p in peaks) == ["double", "single"]
              and all(p["status"] == "ok" and p["flops_per_s"] > 0 for p in peaks),
              "measured peak %r" % peaks)

        with open(os.path.join(out_dir, "perf_results.json")) as f:
            perf = json.load(f)
        rows = perf["rows"]
        check(sorted(r["precision"] for r in rows) == ["double", "single"], "bench rows %d" % len(rows))
        for r in rows:
            check(r["status"] == "ok", "bench row status %s (%s)" % (r["status"], r.get("error")))
            check(r["throughput"]["pixels_per_s_wall"] > 0, "bench pixels/s %r" % r["throughput"])
            check(r["reference_time_s"] and r["reference_time_s"] > 0, "reference time %r" % r["reference_time_s"])
            check(r["speedup_process"] and r["speedup_process"] > 0, "speed-up %r" % r["speedup_process"])
            lo, _ = BARS[r["precision"]]
            check(r["correlation_warm"] >= lo, "bench correlation %r" % r["correlation_warm"])
        with open(os.path.join(out_dir, "run.json")) as f:
            runj = json.load(f)
        check(runj["passed"] is True, "run.json passed %r" % runj["passed"])
        check([s["name"] for s in runj["steps"]] ==
              ["system", "devices", "parity_scalar", "bench", "parity_simd"], "steps %s" % runj["steps"])
        check(all(s["status"] == "ok" for s in runj["steps"]), "steps %s" % runj["steps"])
        check(runj["device"] and runj["device"].split(" (")[0] == names[0],
              "run.json device %r vs %r" % (runj["device"], names[0]))
        with tarfile.open(os.path.join(out_dir, "bundle.tar.gz")) as t:
            members = set(t.getnames())
        for m in ("./system.txt", "./devices.txt", "./bench/perf_results.json", "./bench/bench.log"):
            check(m in members, "bundle.tar.gz lacks " + m)

        # ---- a failing run still leaves its files and says so; a changed kit file is reported
        with open(os.path.join(kit, "kit.json"), "a") as f:
            f.write("\n")
        env2 = dict(env, NBCL_KIT_DEVICE="no-such-device-xyz", NBCL_KIT_KERNELS="scalar", NBCL_KIT_ICD_LIB=pocl,
                    NBCL_KIT_CASES=cases[0], NBCL_KIT_WORK=os.path.join(tmp, "work2"))
        out2 = os.path.join(tmp, "out2")
        rc, out = run(["bash", os.path.join(kit, "run.sh"), out2], env=env2, timeout=120)
        check(rc == 1, "run.sh on a missing device: exit %d" % rc)
        with open(os.path.join(out2, "run.json")) as f:
            runj = json.load(f)
        check(runj["passed"] is False, "failing run.json passed %r" % runj["passed"])
        st = {s["name"]: s["status"] for s in runj["steps"]}
        check(st.get("parity_scalar") == "fail" and st.get("bench") == "error", "failing steps %s" % st)
        check(st.get("system") == "error" and "sha256" in runj["steps"][0]["note"],
              "a changed kit file: system step %s" % runj["steps"][0])
        with open(os.path.join(out2, "parity.json")) as f:
            r0 = json.load(f)["results"]
        check(len(r0) == 2 and all(r["status"] == "error" and r["correlation"] is None for r in r0),
              "failing parity %s" % r0)
        check(os.path.isfile(os.path.join(out2, "env.json")) and
              os.path.isfile(os.path.join(out2, "bundle.tar.gz")), "failing run lacks its files")

        # ---- over the size limit: refused, nothing left behind
        kit3 = os.path.join(tmp, "kit3")
        rc, out = run(["bash", KIT_SH, kit3, "--build-dir", BUILD, "--golden", golden,
                       "--cases", cases[0], "--max-mib", "1"])
        check(rc == 1 and "over the 1 MiB limit" in out, "size limit: exit %d: %s" % (rc, out))
        check(not os.path.exists(kit3) and not glob.glob(kit3 + ".tmp.*"), "size limit left files")

    if failures:
        print("%d check(s) failed" % len(failures))
        sys.exit(1)
    print("gpu kit: all checks passed")


main()
