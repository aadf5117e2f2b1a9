#!/bin/sh
# The programs stay behind the public API (issue 13 item 3):
#   - nbcl, nbcl-bench and nbcl-compare load the shared libnbcl (so the linker, not a habit,
#     keeps them off the engine's internals: libnbcl.so exports NBCL_API only);
#   - cli/ and bench/ include no header of engine/src and name no nbcl__ internal;
#   - neither the programs nor libnbcl load CBFlib, HDF5 or Open MPI: those are modules, loaded on
#     first use from lib/nbcl (docs/architecture.md "Modules"), and the format modules are there.
# usage: check_programs.sh BIN_DIR SOURCE_DIR
set -eu
bin=$1 src=$2
fail() { echo "check_programs: FAIL: $*" >&2; exit 1; }
for p in nbcl nbcl-bench nbcl-compare; do
    [ -x "$bin/$p" ] || fail "$bin/$p not built"
    readelf -d "$bin/$p" | grep -q 'NEEDED.*\[libnbcl\.so\.' ||
        fail "$p does not link the shared libnbcl (readelf -d: $(readelf -d "$bin/$p" | grep NEEDED | tr -s ' ' | cut -d' ' -f6 | tr '\n' ' '))"
done
for f in "$bin/nbcl" "$bin/nbcl-bench" "$bin/nbcl-compare" "$bin"/../lib/libnbcl.so.*.*.*; do
    heavy=$(ldd "$f" | grep -E 'lib(hdf5|cbf|mpi|open-pal|open-rte)' || true)
    [ -z "$heavy" ] || fail "$f loads at start what only a module should: $heavy"
done
for m in cbf nexus; do
    [ -f "$bin/../lib/nbcl/nbcl-$m.so" ] || fail "the module $bin/../lib/nbcl/nbcl-$m.so is not built"
done
# headers that live only in engine/src (not installed)
internal=$(cd "$src/engine/src" && find . -name '*.h' | sed 's|.*/||' | sort -u)
for h in $internal; do
    if grep -rn --include='*.c' --include='*.h' "#include *[\"<]\(.*/\)\?$h[\">]" "$src/cli" "$src/bench"; then
        fail "cli/ or bench/ includes the engine-internal header $h"
    fi
done
if grep -rnw --include='*.c' --include='*.h' 'nbcl__[a-z0-9_]*' "$src/cli" "$src/bench" | grep -v '^[^:]*:[0-9]*:\s*/\?\*'; then
    fail "cli/ or bench/ name an engine internal (nbcl__*)"
fi
grep -q 'engine/src' "$src/cli/CMakeLists.txt" "$src/bench/CMakeLists.txt" &&
    fail "cli/ or bench/ put engine/src on an include path"
echo "check_programs: ok: 3 programs load libnbcl.so, none of them (nor libnbcl) CBFlib, HDF5 or MPI; cli/ and bench/ use the public headers only"
