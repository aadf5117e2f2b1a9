#!/usr/bin/env bash
# The runner of the GPU evidence kit (copied into the kit as run.sh by tools/gpu_kit.sh).
#
#   bash KIT/run.sh OUTDIR
#
# In one call, on a machine that has an OpenCL driver but none of nbcl's libraries:
#   1. system: OS, glibc, CPUs, nvidia-smi, the OpenCL ICD (an nvidia.icd naming
#      libnvidia-opencl.so.1 in a folder given to the loader as OCL_ICD_VENDORS), ldd of the kit
#   2. devices: nbcl -list_devices
#   3. parity, scalar kernel: every golden case of the kit in double and single precision on the
#      device (NBCL_KERNEL=scalar), each image against the reference's float.bin with
#      nbcl-compare (correlation >= 0.99999 and |sum ratio - 1| <= 1e-5 in double, 0.9999 and
#      1e-3 in single: the bars of tests/golden)
#   4. bench: nbcl-bench on the device, both precisions, --peak, against the kit's reference
#      binary (ref/nanoBragg, if any) on all CPU cores (OMP_NUM_THREADS = nproc)
#   5. parity, vector kernel (NBCL_KERNEL=simd), as 3
# and leaves in OUTDIR at most 8 plain files (what the device tool brings back):
#   env.json perf_results.json perf_summary.md (nbcl-bench's), parity.json parity.md,
#   run.json (steps, times, exit codes, system facts), run.log (this output), bundle.tar.gz
#   (every step's logs, nbcl-bench's whole bundle, failing images).
# Each step runs under `timeout` inside a total budget; a failed or timed-out step is recorded
# and the next one runs. Exit status: 0 when every step passed, 1 otherwise, 2 usage.
#
# Environment (all optional):
#   NBCL_KIT_DEVICE       device spec for nbcl (default gpu)
#   NBCL_KIT_ICD          a folder of .icd files or one .icd file, given to the loader as is
#   NBCL_KIT_ICD_LIB      the library the generated .icd names (default: libnvidia-opencl.so.1,
#                         by its full path where found)
#   NBCL_KIT_ICD_SEARCH   folders (a:b) to look for libnvidia-opencl.so.1 in, instead of
#                         ldconfig and the usual places (the smoke test's stand-in)
#   NBCL_KIT_BUDGET       seconds for the whole run (default 450)
#   NBCL_KIT_CASES        comma-separated golden case ids (default: all in the kit)
#   NBCL_KIT_KERNELS      kernels for the parity steps (default "scalar simd")
#   NBCL_KIT_BENCH_ARGS   nbcl-bench case options (default: the goal cases, 3 repeats)
#   NBCL_KIT_REFERENCE    reference binary (default: the kit's ref/nanoBragg)
#   NBCL_KIT_WORK         working folder (default: a new one under $TMPDIR or /tmp)
set -u

KIT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
chmod u+x "$KIT"/bin/* "$KIT"/ref/* 2>/dev/null # a copy of the tree may have lost the modes
OUT=${1:-}
if [ -z "$OUT" ] || [ $# -ne 1 ]; then
    echo "usage: bash $KIT/run.sh OUTDIR" >&2
    exit 2
fi
mkdir -p "$OUT" || exit 2
OUT=$(cd "$OUT" && pwd)
WORK=${NBCL_KIT_WORK:-$(mktemp -d "${TMPDIR:-/tmp}/nbcl-kit.XXXXXX")}
mkdir -p "$WORK" || exit 2
WORK=$(cd "$WORK" && pwd)
DEV=${NBCL_KIT_DEVICE:-gpu}
BUDGET=${NBCL_KIT_BUDGET:-450}
case "$BUDGET" in '' | *[!0-9]*) echo "run.sh: NBCL_KIT_BUDGET must be whole seconds, not '$BUDGET'" >&2; exit 2 ;; esac
KERNELS=${NBCL_KIT_KERNELS:-scalar simd}
BENCH_ARGS=${NBCL_KIT_BENCH_ARGS:---case heavy hires absorption tricubic perf --repeats 3 --ref-repeats 2}
REF=${NBCL_KIT_REFERENCE:-}
[ -n "$REF" ] || { [ -x "$KIT/ref/nanoBragg" ] && REF="$KIT/ref/nanoBragg"; }
NPROC=$(nproc 2>/dev/null || getconf _NPROCESSORS_ONLN)
T0=$(date +%s)
LOG="$WORK/run.log"
: >"$LOG"

say() { printf '[%4ds] %s\n' $(($(date +%s) - T0)) "$*" | tee -a "$LOG"; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN {printf "%.3f", b - a}'; }
left() { echo $((BUDGET - ($(date +%s) - T0))); }
jstr() { printf '"%s"' "$(printf '%s' "$1" | tr -d '\000-\037' | sed 's/\\/\\\\/g; s/"/\\"/g')"; }
isnum() { [[ "$1" =~ ^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$ ]]; }

# step records: name|status|rc|seconds|note
STEPS="$WORK/steps.txt"
: >"$STEPS"
FAILED=0
record() { # name status rc seconds note
    printf '%s|%s|%s|%s|%s\n' "$1" "$2" "$3" "$4" "$(printf '%s' "$5" | tr '|\n' '/ ')" >>"$STEPS"
    [ "$2" = ok ] || [ "$2" = skipped ] || FAILED=1
    say "step $1: $2 (exit $3, $4 s)${5:+: $5}"
    publish
}
# the seconds a step may take: its share of the budget, less what the later steps are promised
step_limit() { # share_percent reserve_percent_for_later
    local t cap=$((BUDGET * $1 / 100)) rest=$(($(left) - BUDGET * $2 / 100 - 15))
    t=$cap
    [ "$rest" -lt "$t" ] && t=$rest
    [ "$t" -lt 5 ] && t=5
    echo "$t"
}

# ------------------------------------------------------------------ the bundle
# Written into OUTDIR after every step, so that a run killed from outside still leaves the
# steps done so far: the flat files the device tool brings back (at most 8).
publish() {
    # parity.json and parity.md
    {
        printf '{\n  "format_version": 1,\n  "device_spec": %s,\n  "device": %s,\n' "$(jstr "$DEV")" "$(jstr "$DEVICE_LINE")"
        printf '  "bars": {"double": {"min_correlation": 0.99999, "max_sum_ratio_deviation": 1e-5},\n'
        printf '           "single": {"min_correlation": 0.9999, "max_sum_ratio_deviation": 1e-3}},\n'
        printf '  "compared_with": "nanoBragg float.bin of each golden case (nbcl-compare --host)",\n'
        printf '  "results": [\n'
        first=1
        while IFS='|' read -r kernel id prec st corr ratio rc wall render note; do
            [ $first = 1 ] || printf ',\n'
            first=0
            printf '    {"case": %s, "kernel": %s, "precision": %s, "status": %s, ' \
                "$(jstr "$id")" "$(jstr "$kernel")" "$(jstr "$prec")" "$(jstr "$st")"
            printf '"correlation": %s, "sum_ratio": %s, ' "$(isnum "$corr" && echo "$corr" || echo null)" \
                "$(isnum "$ratio" && echo "$ratio" || echo null)"
            printf '"wall_s": %s, "render_ms": %s, "note": %s}' "$(isnum "$wall" && echo "$wall" || echo null)" \
                "$(isnum "$render" && echo "$render" || echo null)" "$(jstr "$note")"
        done <"$PAR"
        printf '\n  ],\n  "summary": {'
        first=1
        for s in pass fail error skipped not_run; do
            [ $first = 1 ] || printf ', '
            first=0
            printf '"%s": %d' "$s" "$(awk -F'|' -v s="$s" '$4 == s' "$PAR" | wc -l)"
        done
        printf '}\n}\n'
    } >"$WORK/parity.json"
    {
        echo "# Golden parity on ${DEVICE_LINE:-$DEV}"
        echo
        echo "nbcl against nanoBragg's float.bin of each golden case. Bars: double correlation >= 0.99999"
        echo "and |sum ratio - 1| <= 1e-5; single >= 0.9999 and <= 1e-3. render: the render phase of NBCL_TIMING."
        echo
        echo "| case | kernel | double: 1 - corr | double: ratio - 1 | single: 1 - corr | single: ratio - 1 | status | render ms (d / s) |"
        echo "|---|---|---:|---:|---:|---:|---|---:|"
        awk -F'|' '
            function dev(x, one) { return x == "" ? "-" : sprintf("%.2e", one ? 1 - x : x - 1) }
            { key = $2 "|" $1; if (!(key in seen)) { seen[key] = 1; order[++n] = key }
              c[key, $3] = $5; r[key, $3] = $6; s[key, $3] = $4; ms[key, $3] = $9 }
            END { for (i = 1; i <= n; i++) { k = order[i]; split(k, p, "|")
                  st = (s[k, "double"] == s[k, "single"]) ? s[k, "double"] : s[k, "double"] " / " s[k, "single"]
                  printf "| %s | %s | %s | %s | %s | %s | %s | %s / %s |\n", p[1], p[2],
                      dev(c[k, "double"], 1), dev(r[k, "double"], 0), dev(c[k, "single"], 1),
                      dev(r[k, "single"], 0), st, ms[k, "double"] == "" ? "-" : ms[k, "double"],
                      ms[k, "single"] == "" ? "-" : ms[k, "single"] } }' "$PAR"
        echo
        awk -F'|' '$10 != "" {printf "- %s %s %s: %s\n", $2, $1, $3, $10}' "$PAR"
    } >"$WORK/parity.md"

    # run.json: the steps and the system facts
    {
        printf '{\n  "format_version": 1,\n  "started_utc": %s,\n' "$(jstr "$(date -u -d "@$T0" +%Y-%m-%dT%H:%M:%SZ)")"
        printf '  "seconds": %d,\n  "budget_s": %d,\n' $(($(date +%s) - T0)) "$BUDGET"
        printf '  "device_spec": %s,\n  "device": %s,\n' "$(jstr "$DEV")" "$(jstr "$DEVICE_LINE")"
        printf '  "reference": %s,\n  "omp_num_threads": %d,\n' "$( [ -n "$REF" ] && jstr "$REF" || echo null)" "$NPROC"
        printf '  "bench_args": %s,\n  "kernels": %s,\n' "$(jstr "$BENCH_ARGS")" "$(jstr "$KERNELS")"
        printf '  "ocl_icd_vendors": %s,\n  "icd": %s,\n' "$(jstr "$OCL_ICD_VENDORS")" "$(jstr "$icd_note")"
        printf '  "host": {"os": %s, "glibc": %s, "nproc": %d, "gpu": %s},\n' \
            "$(jstr "$(sed -n 's/^PRETTY_NAME=//p' /etc/os-release 2>/dev/null | tr -d '"')")" \
            "$(jstr "$(getconf GNU_LIBC_VERSION 2>/dev/null)")" "$NPROC" \
            "$(jstr "$GPU_CSV")"
        printf '  "devices": ['
        first=1
        while IFS= read -r line; do
            [ $first = 1 ] || printf ', '
            first=0
            jstr "$line"
        done < <(cat "$WORK/devices.txt" 2>/dev/null)
        printf '],\n  "kit": '
        if [ -f "$KIT/kit.json" ]; then sed 's/^/  /' "$KIT/kit.json" | sed '1s/^  //' | sed '$s/$/,/'; else printf 'null,\n'; fi
        printf '  "steps": [\n'
        first=1
        while IFS='|' read -r name st rc secs note; do
            [ $first = 1 ] || printf ',\n'
            first=0
            printf '    {"name": %s, "status": %s, "exit": %s, "seconds": %s, "note": %s}' "$(jstr "$name")" \
                "$(jstr "$st")" "$(isnum "$rc" && echo "$rc" || echo null)" "$secs" "$(jstr "$note")"
        done <"$STEPS"
        printf '\n  ],\n  "finished": %s,\n  "passed": %s\n}\n' "$FINISHED" \
            "$([ $FAILED = 0 ] && [ "$FINISHED" = true ] && echo true || echo false)"
    } >"$WORK/run.json"

    # the flat files the device tool brings back (at most 8)
    for f in env.json perf_results.json perf_summary.md; do
        if [ -f "$WORK/bench/$f" ]; then cp "$WORK/bench/$f" "$OUT/$f"; else rm -f "$OUT/$f"; fi
    done
    if [ ! -f "$OUT/env.json" ]; then # nbcl-bench wrote none: the runner's own facts
        {
            printf '{\n  "source": "gpu_kit runner: nbcl-bench wrote no env.json (see run.json)",\n'
            printf '  "devices": ['
            first=1
            while IFS= read -r line; do [ $first = 1 ] || printf ', '; first=0; jstr "$line"; done < <(cat "$WORK/devices.txt" 2>/dev/null)
            printf ']\n}\n'
        } >"$OUT/env.json"
    fi
    cp "$WORK/parity.json" "$WORK/parity.md" "$WORK/run.json" "$OUT/"
    cp "$LOG" "$OUT/run.log"
    # the working folder, written beside and renamed, so that a killed run leaves the previous one
    tar -czf "$OUT/.bundle.tar.gz.part" -C "$WORK" . 2>/dev/null
    if [ "$(stat -c %s "$OUT/.bundle.tar.gz.part" 2>/dev/null || echo 0)" -gt 15000000 ]; then # images out
        tar -czf "$OUT/.bundle.tar.gz.part" -C "$WORK" --exclude='*.bin' --exclude='*.img' . 2>/dev/null
    fi
    mv -f "$OUT/.bundle.tar.gz.part" "$OUT/bundle.tar.gz"
}

PAR="$WORK/parity.txt" # kernel|case|precision|status|corr|ratio|rc|wall_s|render_ms|note
: >"$PAR"
DEVICE_LINE=""
FINISHED=false
GPU_CSV=""
icd_note=""
: "${OCL_ICD_VENDORS:=}"
trap 'record run interrupted 130 0 "a signal stopped the runner"; exit 1' INT TERM HUP

say "nbcl GPU evidence kit: $KIT"
say "output: $OUT   work: $WORK   device: $DEV   budget: ${BUDGET} s   reference: ${REF:-none}"

# ------------------------------------------------------------------ 1. system and ICD
t=$(now)
SYS="$WORK/system.txt"
command -v nvidia-smi >/dev/null 2>&1 &&
    GPU_CSV=$(timeout 15 nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | head -1)
{
    echo "== uname"; uname -a
    echo "== os-release"; cat /etc/os-release 2>/dev/null
    echo "== glibc"; getconf GNU_LIBC_VERSION 2>&1
    echo "== cpus"; echo "nproc $NPROC"; grep -m1 'model name' /proc/cpuinfo
    echo "== memory"; grep -E 'MemTotal|MemAvailable' /proc/meminfo
    echo "== nvidia-smi"
    if command -v nvidia-smi >/dev/null 2>&1; then
        timeout 15 nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,clocks.max.mem,power.limit,persistence_mode --format=csv 2>&1
        timeout 15 nvidia-smi 2>&1
    else
        echo "nvidia-smi: not on PATH"
    fi
} >"$SYS" 2>&1

# the OpenCL ICD: a folder with one .icd file naming the vendor library
export LD_LIBRARY_PATH="$KIT/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
# the kit's own fonts for the charts (the machine may have none with their glyphs)
[ -f "$KIT/fonts/fonts.conf" ] && export FONTCONFIG_FILE="$KIT/fonts/fonts.conf"
if [ -n "${NBCL_KIT_ICD:-}" ]; then
    export OCL_ICD_VENDORS="$NBCL_KIT_ICD"
    icd_note="OCL_ICD_VENDORS=$NBCL_KIT_ICD (given)"
else
    lib=${NBCL_KIT_ICD_LIB:-}
    if [ -z "$lib" ] && [ -n "${NBCL_KIT_ICD_SEARCH:-}" ]; then # only these folders (the smoke test)
        IFS=: read -r -a dirs <<<"$NBCL_KIT_ICD_SEARCH"
        for d in "${dirs[@]}"; do
            [ -e "$d/libnvidia-opencl.so.1" ] && lib="$d/libnvidia-opencl.so.1" && break
        done
    elif [ -z "$lib" ]; then
        lib=$( { /sbin/ldconfig -p 2>/dev/null || ldconfig -p 2>/dev/null; } |
            awk '$1 == "libnvidia-opencl.so.1" {print $NF; exit}')
        for d in /usr/local/nvidia/lib64 /usr/local/nvidia/lib /usr/lib/x86_64-linux-gnu /usr/lib64 \
            /lib/x86_64-linux-gnu /usr/local/cuda/compat /usr/local/cuda/lib64 /usr/lib; do
            [ -n "$lib" ] && break
            [ -e "$d/libnvidia-opencl.so.1" ] && lib="$d/libnvidia-opencl.so.1"
        done
        [ -n "$lib" ] || lib=$(timeout 20 find /usr /opt /lib /lib64 -name 'libnvidia-opencl.so.1' 2>/dev/null | head -1)
    fi
    if [ -z "${NBCL_KIT_ICD_LIB:-}" ]; then
        if [ -n "$lib" ]; then # its neighbours (libcuda) must be found too
            export LD_LIBRARY_PATH="$LD_LIBRARY_PATH:${lib%/*}"
        else
            lib=libnvidia-opencl.so.1
            icd_note="libnvidia-opencl.so.1 not found on disk; the .icd names it bare. "
        fi
    fi
    mkdir -p "$WORK/icd"
    case "$lib" in *pocl*) icdname=pocl.icd ;; *) icdname=nvidia.icd ;; esac
    printf '%s\n' "$lib" >"$WORK/icd/$icdname"
    export OCL_ICD_VENDORS="$WORK/icd"
    icd_note="${icd_note}$WORK/icd/$icdname names $lib"
fi
# the machine's libstdc++ must be new enough for CLBlast; else the kit's copy (lib/compat)
clblast=""
for f in "$KIT"/lib/libclblast.so.*; do [ -e "$f" ] && clblast=$f && break; done
if [ -n "$clblast" ] && ldd "$clblast" 2>&1 | grep -qE 'not found'; then
    export LD_LIBRARY_PATH="$KIT/lib:$KIT/lib/compat:${LD_LIBRARY_PATH#"$KIT/lib:"}"
    icd_note="$icd_note; using the kit's libstdc++ (lib/compat)"
fi
{
    echo "== kit"; cat "$KIT/kit.json" 2>/dev/null
    echo "== ICD"; echo "$icd_note"; echo "OCL_ICD_VENDORS=$OCL_ICD_VENDORS"
    [ -d "$OCL_ICD_VENDORS" ] && head -n 3 "$OCL_ICD_VENDORS"/*.icd
    echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
    echo "== ldd"
    for f in "$KIT"/bin/* "$clblast" ${REF:+"$REF"}; do echo "-- $f"; ldd "$f" 2>&1; done
} >>"$SYS" 2>&1
# the kit arrived whole (a carried folder over the size limit, or an edit, would show here)
sha_ok=1
if [ -f "$KIT/sha256.txt" ]; then
    echo "== sha256" >>"$SYS"
    (cd "$KIT" && sha256sum -c --quiet sha256.txt) >>"$SYS" 2>&1 || sha_ok=0
fi
# glibc: the kit's libraries need at least the version they were built against (kit.json)
glibc_have=$(getconf GNU_LIBC_VERSION 2>/dev/null | awk '{print $2}')
glibc_need=$(sed -n 's/^ *"glibc_needed": *"\([0-9.]*\)".*/\1/p' "$KIT/kit.json" 2>/dev/null)
glibc_old=0
if [ -n "$glibc_have" ] && [ -n "$glibc_need" ] &&
    [ "$(printf '%s\n%s\n' "$glibc_need" "$glibc_have" | sort -V | head -1)" != "$glibc_need" ]; then
    glibc_old=1
    echo "== glibc $glibc_have is older than the $glibc_need the kit needs" >>"$SYS"
fi
missing=$(grep -c 'not found' "$SYS")
say "system: $(sed -n 's/^PRETTY_NAME=//p' /etc/os-release 2>/dev/null | tr -d '"'), $(getconf GNU_LIBC_VERSION 2>/dev/null), $NPROC CPUs; $icd_note"
if [ $glibc_old = 1 ]; then
    record system error 1 "$(elapsed "$t")" "glibc $glibc_have is older than the $glibc_need the kit needs: make the kit on an older distribution ($missing unresolved in system.txt)"
elif [ "$missing" -gt 0 ]; then
    record system error 1 "$(elapsed "$t")" "$missing libraries not found (system.txt)"
elif [ $sha_ok = 0 ]; then
    record system error 1 "$(elapsed "$t")" "kit files differ from its sha256.txt (system.txt)"
else
    record system ok 0 "$(elapsed "$t")" ""
fi

# ------------------------------------------------------------------ 2. devices
t=$(now)
timeout -k 5 "$(step_limit 10 80)" "$KIT/bin/nbcl" -list_devices >"$WORK/devices.txt" 2>"$WORK/devices.err"
rc=$?
sed 's/^/  /' "$WORK/devices.txt" | tee -a "$LOG"
if [ $rc -eq 0 ] && [ -s "$WORK/devices.txt" ]; then
    record devices ok 0 "$(elapsed "$t")" "$(wc -l <"$WORK/devices.txt") devices"
else
    record devices error $rc "$(elapsed "$t")" "$(head -c 300 "$WORK/devices.err")"
fi

# ------------------------------------------------------------------ parity
CASE_IDS=()
if [ -n "${NBCL_KIT_CASES:-}" ]; then
    IFS=, read -r -a CASE_IDS <<<"$NBCL_KIT_CASES"
else
    for d in "$KIT"/golden/*/; do
        d=${d%/}
        [ -f "$d/args.txt" ] && CASE_IDS+=("${d##*/}")
    done
fi

parity_step() { # kernel share reserve
    local kernel=$1 t limit deadline id prec dir rc corr ratio st note wall bar dev n_ok=0 n_bad=0 n_left=0 tt
    t=$(now)
    limit=$(step_limit "$2" "$3")
    deadline=$(($(date +%s) + limit))
    say "parity ($kernel kernel): ${#CASE_IDS[@]} cases x 2 precisions on '$DEV', ${limit} s"
    for id in "${CASE_IDS[@]}"; do
        for prec in double single; do
            dir="$WORK/parity/$kernel/${id}_$prec"
            mkdir -p "$dir"
            tt=$((deadline - $(date +%s)))
            if [ ! -f "$KIT/golden/$id/args.txt" ]; then
                printf '%s|%s|%s|error||||||no such case in the kit\n' "$kernel" "$id" "$prec" >>"$PAR"
                n_bad=$((n_bad + 1)); continue
            fi
            if [ "$tt" -lt 3 ]; then
                printf '%s|%s|%s|not_run||||||time budget spent\n' "$kernel" "$id" "$prec" >>"$PAR"
                n_left=$((n_left + 1)); continue
            fi
            [ "$tt" -gt 120 ] && tt=120
            [ -d "$KIT/golden/inputs" ] && ln -sfn "$KIT/golden/inputs" "$dir/inputs"
            local s
            s=$(now)
            # shellcheck disable=SC2046  # args.txt holds plain words
            (cd "$dir" && NBCL_KERNEL=$kernel NBCL_TIMING=1 timeout -k 5 "$tt" "$KIT/bin/nbcl" \
                $(cat "$KIT/golden/$id/args.txt") -precision "$prec" -device "$DEV" -nonoise -nopgm \
                >stdout.txt 2>stderr.txt)
            rc=$?
            wall=$(elapsed "$s")
            corr="" ratio="" note="" st=""
            render=$(sed -n 's/.* render \([0-9.]*\) .*/\1/p' "$dir/stderr.txt" | tail -1)
            dev=$(sed -n 's/^ *device: //p' "$dir/stdout.txt" | head -1 | sed 's/, [a-z]* precision$//')
            [ -n "$dev" ] && [ -z "$DEVICE_LINE" ] && DEVICE_LINE=$dev
            if [ $rc -ne 0 ]; then
                if [ $rc -eq 5 ] && [ "$prec" = double ] && grep -q 'double precision' "$dir/stderr.txt"; then
                    st=skipped note="device lacks fp64"
                elif [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
                    st=error note="timed out after ${tt} s"
                else
                    st=error note="nbcl exit $rc: $(grep -v '^nbcl: timing' "$dir/stderr.txt" | head -c 240)"
                fi
            else
                timeout -k 5 60 "$KIT/bin/nbcl-compare" "$dir/float.bin" "$KIT/golden/$id/float.bin" \
                    --host --json >"$dir/compare.json" 2>"$dir/compare.err"
                rc=$?
                corr=$(sed -n 's/^ *"correlation": *\([^,]*\),*$/\1/p' "$dir/compare.json")
                ratio=$(sed -n 's/^ *"sum_ratio": *\([^,]*\),*$/\1/p' "$dir/compare.json")
                if [ $rc -ne 0 ] || ! isnum "$corr" || ! isnum "$ratio"; then
                    st=fail note="nbcl-compare exit $rc, correlation '${corr}', sum ratio '${ratio}' $(head -c 200 "$dir/compare.err")"
                else
                    [ "$prec" = double ] && bar="0.99999 1e-5" || bar="0.9999 1e-3"
                    if awk -v c="$corr" -v r="$ratio" -v b="$bar" 'BEGIN {split(b, x, " ");
                        d = r - 1; if (d < 0) d = -d; exit !(c + 0 >= x[1] + 0 && d <= x[2] + 0)}'; then
                        st=pass
                    else
                        st=fail note="below the bar ($bar)"
                    fi
                fi
            fi
            printf '%s|%s|%s|%s|%s|%s|%s|%s|%s|%s\n' "$kernel" "$id" "$prec" "$st" "$corr" \
                "$ratio" "$rc" "$wall" "$render" "$(printf '%s' "$note" | tr '|\t\n' '/  ')" >>"$PAR"
            say "  $kernel $id $prec: $st${corr:+ corr=$corr}${ratio:+ sum_ratio=$ratio} (${wall} s)${note:+ - $note}"
            case "$st" in
            pass) n_ok=$((n_ok + 1)); rm -f "$dir/float.bin" "$dir/int.img" "$dir/Fdump.bin" ;; # failing images stay
            skipped) ;;
            *) n_bad=$((n_bad + 1)) ;;
            esac
        done
    done
    if [ $n_bad -eq 0 ] && [ $n_left -eq 0 ] && [ $n_ok -gt 0 ]; then
        record "parity_$kernel" ok 0 "$(elapsed "$t")" "$n_ok passed"
    else
        record "parity_$kernel" fail 1 "$(elapsed "$t")" "$n_ok passed, $n_bad failed, $n_left not run (time budget)"
    fi
}

bench_step() { # share reserve
    local t limit rc refopt grace
    t=$(now)
    limit=$(step_limit "$1" "$2")
    if [ -n "$REF" ]; then refopt=(--reference "$REF"); else refopt=(--no-reference); fi
    say "bench: nbcl-bench on '$DEV', both precisions, --peak, reference ${REF:-none} (OMP_NUM_THREADS=$NPROC), ${limit} s"
    # on TERM nbcl-bench stops at the next tile and still writes its bundle: leave it a grace
    grace=$((limit / 5))
    [ $grace -gt 20 ] && grace=20
    [ $grace -lt 3 ] && grace=3
    # shellcheck disable=SC2086  # BENCH_ARGS is a list of options
    (cd "$WORK" && OMP_NUM_THREADS=$NPROC timeout -s TERM -k $grace "$((limit - grace))" "$KIT/bin/nbcl-bench" \
        --devices "$DEV" --precision both --peak $BENCH_ARGS "${refopt[@]}" --outdir "$WORK/bench" \
        >"$WORK/bench.stdout.txt" 2>"$WORK/bench.stderr.txt")
    rc=$?
    grep -E '^\S*nbcl-bench: \[|vs reference|bundle in' "$WORK/bench.stderr.txt" | sed 's/^/  /' | tee -a "$LOG"
    if [ $rc -eq 0 ]; then
        record bench ok 0 "$(elapsed "$t")" ""
    else
        record bench error $rc "$(elapsed "$t")" "$(tail -n 2 "$WORK/bench.stderr.txt" | head -c 300)"
    fi
}

first_kernel=${KERNELS%% *}
rest_kernels=${KERNELS#"$first_kernel"}
parity_step "$first_kernel" 38 45
bench_step 44 12
for k in $rest_kernels; do parity_step "$k" 30 0; done

FINISHED=true
say "parity: $(awk -F'|' '{n[$4]++} END {for (s in n) printf "%s %d  ", s, n[s]}' "$PAR")"
awk '/^## Against the reference/ || /^## Against the measured peak/ {p = 1}
     /^## Peak memory/ || /^!\[/ {p = 0} p' "$OUT/perf_summary.md" 2>/dev/null | tee -a "$LOG"
say "done: $([ $FAILED = 0 ] && echo 'every step passed' || echo 'SOME STEPS FAILED (run.json)'); files in $OUT"
publish
[ $FAILED = 0 ]
