#!/usr/bin/env bash
# Bounded libFuzzer run of every nbcl fuzz harness (fuzz/): HKL + Fdump reader, A-matrix reader,
# source-file reader, SMV header reader, CLI argument parser.
#
# Builds with clang, -fsanitize=fuzzer-no-link,address,undefined on the whole engine (coverage
# and sanitizers in the readers) into its own build directory, then runs each harness for
# NBCL_FUZZ_SECONDS seconds (default 60) on a working copy of its seed corpus
# (fuzz/corpus/<name>). Exit status: 0 clean; 1 a harness crashed, leaked, hit a sanitizer error,
# a timeout or the memory limit (the reproducer is kept under $OUT/artifacts/<name>/ and its
# path printed); 2 set-up failure (no clang, build failure).
#
# Environment:
#   NBCL_FUZZ_SECONDS   seconds per harness (default 60)
#   NBCL_FUZZ_BUILD     build directory (default <repo>/build-fuzz)
#   NBCL_FUZZ_OUT       results: work corpora, artifacts, logs (default $NBCL_FUZZ_BUILD/results)
#   NBCL_FUZZ_ONLY      space-separated subset of harness names (default: all five)
#   NBCL_FUZZ_JOBS      cmake --build parallelism (default 2)
#   CC                  clang executable (default: clang)
# Replay a reproducer:  build-fuzz/bin/fuzz_hkl path/to/crash-<sha1>
set -u -o pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
secs=${NBCL_FUZZ_SECONDS:-60}
build=${NBCL_FUZZ_BUILD:-$here/build-fuzz}
out=${NBCL_FUZZ_OUT:-$build/results}
jobs=${NBCL_FUZZ_JOBS:-2}
cc=${CC:-clang}
harnesses=${NBCL_FUZZ_ONLY:-"fuzz_hkl fuzz_matrix fuzz_sources fuzz_smv fuzz_args"}

if ! command -v "$cc" >/dev/null 2>&1 || ! "$cc" --version 2>/dev/null | grep -qi clang; then
    echo "run_fuzz: needs clang (apt-get install clang); CC=$cc is not clang" >&2
    exit 2
fi

flags="-g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined"
echo "run_fuzz: configuring $build with $cc"
mkdir -p "$build"
if ! CC=$cc cmake -S "$here" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DCMAKE_C_FLAGS="$flags" -DCMAKE_C_FLAGS_RELWITHDEBINFO="" \
        -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" \
        -DNBCL_BUILD_FUZZERS=ON -DBUILD_TESTING=OFF >"$build/fuzz.configure.log" 2>&1; then
    cat "$build/fuzz.configure.log" >&2
    echo "run_fuzz: configure failed" >&2
    exit 2
fi
if ! cmake --build "$build" -j"$jobs" --target $harnesses >"$build/fuzz.build.log" 2>&1; then
    tail -50 "$build/fuzz.build.log" >&2
    echo "run_fuzz: build failed" >&2
    exit 2
fi

mkdir -p "$out"
# leaks are findings; a slow input (> 10 s) or > 2 GiB of memory is a finding too
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:symbolize=1:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="halt_on_error=1:abort_on_error=1:print_stacktrace=1:${UBSAN_OPTIONS:-}"
status=0
summary=""
for h in $harnesses; do
    name=${h#fuzz_}
    seeds="$here/fuzz/corpus/$name"
    work="$out/corpus/$name"
    art="$out/artifacts/$name"
    log="$out/$h.log"
    mkdir -p "$work" "$art"
    echo "run_fuzz: $h for ${secs}s (seeds $seeds)"
    ( cd "$out" && "$build/bin/$h" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
        -max_len=4096 -print_final_stats=1 -artifact_prefix="$art/" "$work" "$seeds" ) >"$log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | sed 's/cov: //')
    found=$(ls -1 "$art" 2>/dev/null | head -5 | tr '\n' ' ')
    if [ $rc -ne 0 ] || [ -n "$found" ]; then
        status=1
        echo "run_fuzz: $h FAILED (exit $rc); reproducer(s) in $art: $found" >&2
        grep -E "ERROR: |SUMMARY: |runtime error|==[0-9]+==" "$log" | head -20 >&2
        summary="$summary$h: FAILED, ${execs:-?} executions, reproducers: $found\n"
    else
        summary="$summary$h: ok, ${execs:-?} executions in ${secs}s, coverage ${cov:-?} edges, corpus $(ls -1 "$work" | wc -l) inputs\n"
    fi
done
printf "run_fuzz summary:\n$summary"
exit $status
