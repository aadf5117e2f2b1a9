#!/usr/bin/env bash
# The whole test suite under AddressSanitizer + UndefinedBehaviorSanitizer (+ LeakSanitizer).
#
# Configures <repo>/build-asan with -DCMAKE_BUILD_TYPE=Asan (cmake/NbclFlags.cmake:
# -fsanitize=address,undefined -fno-sanitize-recover=undefined), builds everything and runs ctest
# without the `large` label. Any ASan report, UBSan report (halt_on_error) or leak fails the
# test it happens in, and so the script.
# Leaks inside the OpenCL stack (ocl-icd, PoCL, its LLVM, CLBlast's program cache) are not ours:
# tests/lsan.supp suppresses them by library; a leak in nbcl's own code is still reported.
#
# Exit status: 0 clean; 1 a test failed (the ctest output and each test's log say why);
# 2 configure or build failure.
#
# Environment:
#   NBCL_ASAN_BUILD   build directory (default <repo>/build-asan)
#   NBCL_ASAN_JOBS    build and ctest parallelism (default 2)
#   NBCL_ASAN_CTEST   extra ctest arguments (e.g. "-L unit" or "-R test_hkl")
#   CC                compiler (default: cc; gcc and clang both work)
set -u -o pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${NBCL_ASAN_BUILD:-$here/build-asan}
jobs=${NBCL_ASAN_JOBS:-2}

echo "run_asan: configuring $build (CMAKE_BUILD_TYPE=Asan)"
mkdir -p "$build"
if ! cmake -S "$here" -B "$build" -DCMAKE_BUILD_TYPE=Asan >"$build/asan.configure.log" 2>&1; then
    cat "$build/asan.configure.log" >&2
    echo "run_asan: configure failed" >&2
    exit 2
fi
if ! cmake --build "$build" -j"$jobs" >"$build/asan.build.log" 2>&1; then
    grep -E "error|Error" "$build/asan.build.log" | head -30 >&2
    echo "run_asan: build failed (log: $build/asan.build.log)" >&2
    exit 2
fi

supp=$here/tests/lsan.supp
# halt on the first error of any kind; keep going past no sanitizer report
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:halt_on_error=1:detect_stack_use_after_return=1:strict_string_checks=1:check_initialization_order=1:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="halt_on_error=1:abort_on_error=1:print_stacktrace=1:${UBSAN_OPTIONS:-}"
export LSAN_OPTIONS="suppressions=$supp:print_suppressions=0:${LSAN_OPTIONS:-}"
echo "run_asan: ASAN_OPTIONS=$ASAN_OPTIONS"
echo "run_asan: UBSAN_OPTIONS=$UBSAN_OPTIONS"
echo "run_asan: LSAN_OPTIONS=$LSAN_OPTIONS"

t0=$(date +%s)
# shellcheck disable=SC2086
(cd "$build" && ctest --output-on-failure -j"$jobs" -LE large ${NBCL_ASAN_CTEST:-})
rc=$?
echo "run_asan: ctest finished in $(( $(date +%s) - t0 )) s with status $rc"
if [ $rc -ne 0 ]; then
    # point at sanitizer reports in the test logs
    grep -l -E "ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:" \
        "$build"/Testing/Temporary/LastTest*.log 2>/dev/null | head -3 >&2
    exit 1
fi
exit 0
