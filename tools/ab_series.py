#!/usr/bin/env python3
"""Alternate nbcl builds on the issue-11 light series and print per-phase medians and minima.

usage: tools/ab_series.py ROUNDS NAME=BINARY[:VAR+VALUE...] ...
  e.g. tools/ab_series.py 40 main=/tmp/main/bin/nbcl new=build/bin/nbcl new1w=build/bin/nbcl:NBCL_HOST_THREADS+1

Each round runs every build once, in an order rotated by one per round, after a discarded
warm-up run, and only when the machine was more than 90 % idle over half a second (others
building or testing on a shared 2-core machine make single runs meaningless). Each run starts
in an empty folder, with NBCL_TIMING=1; the table shows the whole wall time and the phases
nbcl prints (ms). Environment: PREC (single|double, default single), MAXT (give up after
this many seconds, default 600), SERIES_ARGV (replaces the argv below).
"""
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ARGV = ("-cell 100 100 100 90 90 90 -default_F 100 -N 20 -mosaic 0.2 -mosaic_dom 2 -phisteps 2 "
        "-oversample 1 -lambda 1 -distance 100 -osc 0.5 -seed 1 -nopgm -nonoise -noprogress "
        "-detpixels 512 -nframes 20 -floatfile f_####.bin -intfile i_####.img")
KEYS = ["wall", "device", "frames", "convert", "floatfile", "intfile", "commit", "teardown",
        "total"]


def idle_fraction(dt=0.5):
    def read():
        v = list(map(int, open("/proc/stat").readline().split()[1:]))
        return v[3] + v[4], sum(v)
    i0, t0 = read()
    time.sleep(dt)
    i1, t1 = read()
    return (i1 - i0) / max(1, t1 - t0)


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    rounds = int(sys.argv[1])
    builds = []
    for spec in sys.argv[2:]:
        name, rest = spec.split("=", 1)
        parts = rest.split(":")
        env = dict(kv.split("+", 1) for kv in parts[1:])
        builds.append((name, os.path.abspath(parts[0]), env))
    argv = os.environ.get("SERIES_ARGV", ARGV).split()
    argv += ["-precision", os.environ.get("PREC", "single")]
    res = {b[0]: {k: [] for k in KEYS} for b in builds}
    work = tempfile.mkdtemp(prefix="ab_series.")
    done = busy = 0
    t_end = time.time() + float(os.environ.get("MAXT", "600"))
    while done < rounds and time.time() < t_end:
        if idle_fraction() < 0.9:
            busy += 1
            continue
        order = builds[done % len(builds):] + builds[:done % len(builds)]
        subprocess.run([builds[0][1]] + argv, cwd=work, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)  # warm-up, not counted
        for name, binary, env in order:
            d = os.path.join(work, name)
            shutil.rmtree(d, ignore_errors=True)
            os.makedirs(d)
            t = time.perf_counter()
            p = subprocess.run([binary] + argv, cwd=d, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True,
                               env=dict(os.environ, NBCL_TIMING="1", **env))
            res[name]["wall"].append((time.perf_counter() - t) * 1e3)
            for k in KEYS[1:]:
                m = re.search(r"\b" + k + r" ([0-9.]+)", p.stderr)
                res[name][k].append(float(m.group(1)) if m else float("nan"))
        done += 1
    shutil.rmtree(work, ignore_errors=True)
    print("rounds %d (busy checks %d)" % (done, busy))
    print("%-8s" % "", " ".join("%9s" % k for k in KEYS))
    for name, _, _ in builds:
        if res[name]["wall"]:
            print("%-8s" % name, " ".join("%9.1f" % statistics.median(res[name][k]) for k in KEYS),
                  " median")
            print("%-8s" % "", " ".join("%9.1f" % min(res[name][k]) for k in KEYS), " min")


if __name__ == "__main__":
    main()
