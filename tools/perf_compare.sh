#!/bin/sh
# Whole-process timings of nbcl against a nanoBragg binary, same argv, same machine, warm kernel
# cache: the issue-6 cases. Usage: tools/perf_compare.sh /path/to/nanoBragg [repeats]
# Prints one row per case and precision: reference and nbcl median wall seconds, the speed-up,
# and the image correlation / sum ratio (nbcl-compare). The reference is never built here.
set -eu
REF="${1:?usage: tools/perf_compare.sh /path/to/nanoBragg [repeats]}"
N="${2:-3}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BIN="${NBCL_BIN_DIR:-$ROOT/build/bin}"
W="$(mktemp -d)"
trap 'rm -rf "$W"' EXIT
cd "$W"
GOLD="${NBCL_GOLDEN_DIR:-$ROOT/../shared/golden}"
CUBIC="-cell 100 100 100 90 90 90 -N 5 -default_F 100"
run_case() { # name argv...
  name="$1"; shift
  median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
  t() { s=$(date +%s.%N); "$@" > /dev/null 2>&1; e=$(date +%s.%N); echo "$e - $s" | bc; }
  rm -f Fdump.bin
  OMP_NUM_THREADS=2 "$REF" "$@" -floatfile ref.bin > /dev/null 2>&1 # warm the page cache
  tr=$(for i in $(seq "$N"); do rm -f Fdump.bin; t env OMP_NUM_THREADS=2 "$REF" "$@" -floatfile ref.bin; done | median)
  for p in double single; do
    "$BIN/nbcl" "$@" -nodump -precision "$p" -floatfile nb.bin > /dev/null 2>&1 # warm caches
    tn=$(for i in $(seq "$N"); do t "$BIN/nbcl" "$@" -nodump -precision "$p" -floatfile nb.bin; done | median)
    fp=$(grep -a "SIZE1=" int.img | head -1 | sed "s/.*SIZE1=\([0-9]*\).*/\1/")
    cmpout=$("$BIN/nbcl-compare" nb.bin ref.bin --fpixels "$fp" --json --host 2>/dev/null | tr -d '\n ')
    corr=$(echo "$cmpout" | sed 's/.*"correlation":\([^,}]*\).*/\1/')
    ratio=$(echo "$cmpout" | sed 's/.*"sum_ratio":\([^,}]*\).*/\1/')
    printf "%-22s %-6s ref %7.3f s  nbcl %7.3f s  speed-up %6.1fx  corr %s  sum ratio %s\n" \
      "$name" "$p" "$tr" "$tn" "$(echo "$tr / $tn" | bc -l)" "$corr" "$ratio"
  done
}
COMMON="-nopgm -nonoise -noprogress -intfile int.img"
run_case "heavy 512" -cell 70 80 90 75 85 95 -misset 10 20 30 -lambda 1.0 -N 5 -default_F 100 \
  -distance 100 -detpixels 512 -mosaic 0.5 -mosaic_dom 10 -mosaic_seed 4321 -phi 0.2 -osc 1.0 \
  -phisteps 5 -oversample 2 $COMMON
run_case "hires 4096" $CUBIC -lambda 0.5 -distance 500 -pixel 0.05 -detpixels 4096 $COMMON
run_case "absorption 512" $CUBIC -lambda 6.2 -distance 100 -detpixels 512 -detector_abs 320 \
  -detector_thick 450 -thicksteps 5 $COMMON
if [ -f "$GOLD/inputs/P1_gen.hkl" ]; then
  run_case "tricubic 512" -hkl "$GOLD/inputs/P1_gen.hkl" -matrix "$GOLD/inputs/A.mat" -lambda 6.2 \
    -N 2 -interpolate -distance 100 -detpixels 512 $COMMON
fi
run_case "perf 1024" $CUBIC -lambda 6.2 -distance 100 -detpixels 1024 $COMMON
