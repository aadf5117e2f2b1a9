#!/bin/sh
# The issue-6 comparison in one command: nbcl against a nanoBragg binary on the goal cases
# (heavy 512^2, hires 4096^2, absorption and tricubic at 512^2 and 1024^2, perf 1024^2), both
# precisions, same argv, whole process, warm kernel cache. A thin wrapper over nbcl-bench: the
# bundle (perf_results.json, env.json, ...) is kept in OUTDIR; the table of the summary is
# printed (and the measured-peak table). The reference is never built here.
# Usage: tools/perf_compare.sh /path/to/nanoBragg [repeats [OUTDIR]]
set -eu
REF="${1:?usage: tools/perf_compare.sh /path/to/nanoBragg [repeats [OUTDIR]]}"
N="${2:-3}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BIN="${NBCL_BIN_DIR:-$ROOT/build/bin}"
OUT="${3:-$ROOT/reports/perf_compare-$(date -u +%Y%m%dT%H%M%SZ)}"
rc=0
"$BIN/nbcl-bench" --case heavy hires absorption tricubic perf --precision both --peak \
  --repeats "$N" --ref-repeats "$N" --reference "$REF" --outdir "$OUT" --quiet || rc=$?
# the comparison and the measured-peak tables of the summary, without the rest
awk '/^## Against the reference/ || /^## Against the measured peak/ {p = 1}
     /^## Peak memory/ || /^!\[/ {p = 0} p' "$OUT/perf_summary.md"
echo "bundle: $OUT"
exit "$rc"
