#!/bin/sh
# The installed tree works for a consumer (issue 13 item 7):
#   1. cmake --install BUILD --prefix TMP installs programs, libraries, headers, CMake package,
#      nbcl.pc and man pages;
#   2. examples/ builds against TMP through find_package(nbcl) (shared and static) and through
#      pkg-config (shared and static), never seeing the source or build tree;
#   3. each example binary renders its image from an unrelated folder, and the image is the
#      installed nbcl's, bit for bit, for the same parameters (run from yet another folder);
#   4. the man pages format without warnings;
#   5. a program linked with the static libnbcl.a, outside the prefix, loads the installed CBF
#      and NXmx modules through NBCL_MODULE_DIR; the installed nbcl finds its own.
# usage: check_install.sh BUILD_DIR SOURCE_DIR       (exit 77: no OpenCL device to render on)
set -eu
build=$1 src=$2
base=${NBCL_TEST_TMP:-${TMPDIR:-/tmp}}
mkdir -p "$base"
tmp=$(mktemp -d "$base/install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
fail() { echo "check_install: FAIL: $*" >&2; exit 1; }

echo "check_install: cmake --install $build --prefix $prefix"
cmake --install "$build" --prefix "$prefix" >"$tmp/install.log" || { cat "$tmp/install.log" >&2; fail "cmake --install"; }
libdir=$(dirname "$(find "$prefix" -name nbcl.pc)")
libdir=$(dirname "$libdir")
for f in bin/nbcl bin/nbcl-bench bin/nbcl-compare include/nbcl/nbcl.h include/nbcl/nbcl_export.h \
         include/nbcl/nbcl_version.h share/man/man1/nbcl.1 share/man/man1/nbcl-bench.1 \
         share/man/man1/nbcl-compare.1; do
    [ -e "$prefix/$f" ] || fail "$f not installed"
done
for f in libnbcl.a libnbcl.so pkgconfig/nbcl.pc cmake/nbcl/nbclConfig.cmake \
         cmake/nbcl/nbclConfigVersion.cmake cmake/nbcl/nbclTargets.cmake nbcl/nbcl-cbf.so \
         nbcl/nbcl-nexus.so; do
    [ -e "$libdir/$f" ] || fail "$libdir/$f not installed"
done
soname=$(objdump -p "$libdir/libnbcl.so" | awk '/SONAME/ {print $2}')
[ -e "$libdir/$soname" ] || fail "SONAME $soname has no file"
echo "check_install: libnbcl.so SONAME $soname"
# the installed programs load the installed shared library (RUNPATH $ORIGIN/../lib), not the
# build tree's, and need nothing from the environment to find it
for p in nbcl nbcl-bench nbcl-compare; do
    env -u LD_LIBRARY_PATH ldd "$prefix/bin/$p" | grep -q "libnbcl\.so.* => $prefix/" ||
        { ldd "$prefix/bin/$p" >&2; fail "bin/$p does not load $prefix's libnbcl"; }
done
# the installed programs must not reach back into the source tree (kernels are embedded,
# unless the build chose NBCL_EMBED_KERNELS=OFF, a development set-up)
if [ "${NBCL_TEST_EMBEDDED:-1}" = 1 ]; then
    for f in "$prefix/bin/nbcl" "$libdir"/libnbcl.so.*.*.*; do
        if grep -q "$src/cl" "$f"; then fail "$f holds the source path $src/cl"; fi
    done
fi
if command -v man >/dev/null 2>&1; then
    for p in nbcl nbcl-bench nbcl-compare; do
        page=$prefix/share/man/man1/$p.1
        warn=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null || true)
        [ -z "$warn" ] || fail "man -l $p.1: $warn"
        LC_ALL=C.UTF-8 MANWIDTH=80 man -l "$page" 2>/dev/null >"$tmp/$p.txt"
        grep -q "^SYNOPSIS" "$tmp/$p.txt" || fail "man -l $p.1 has no SYNOPSIS"
        # the page says what --help says: every option of the help is on the page
        "$prefix/bin/$p" --help | sed -n 's/^  \(-[^ ,]*\).*/\1/p' >"$tmp/$p.opts"
        [ -s "$tmp/$p.opts" ] || fail "$p --help lists no option"
        while read -r opt; do
            grep -qwF -- "$opt" "$tmp/$p.txt" || fail "man page $p.1 lacks $opt of --help"
        done <"$tmp/$p.opts"
    done
else
    echo "check_install: no man (man-db): man pages not formatted"
fi

# a consumer sees only the installed tree: no variable of the test environment points back
unset NBCL_SOURCE_DIR NBCL_BIN_DIR NBCL_KERNEL_DIR
echo "check_install: examples/ with find_package(nbcl) (CMAKE_PREFIX_PATH=$prefix)"
for kind in shared static; do
    opt=OFF
    [ $kind = static ] && opt=ON
    cmake -S "$src/examples" -B "$tmp/ex-cmake-$kind" -DCMAKE_PREFIX_PATH="$prefix" \
        -DNBCL_EXAMPLE_STATIC=$opt -DCMAKE_BUILD_TYPE=Release >"$tmp/ex-cmake-$kind.log" 2>&1 ||
        { cat "$tmp/ex-cmake-$kind.log" >&2; fail "configure examples ($kind)"; }
    cmake --build "$tmp/ex-cmake-$kind" >>"$tmp/ex-cmake-$kind.log" 2>&1 ||
        { cat "$tmp/ex-cmake-$kind.log" >&2; fail "build examples ($kind)"; }
done
echo "check_install: examples/Makefile with pkg-config (PKG_CONFIG_PATH=$libdir/pkgconfig)"
mkdir -p "$tmp/ex-pc"
(cd "$tmp/ex-pc" && PKG_CONFIG_PATH="$libdir/pkgconfig" make -f "$src/examples/Makefile" \
    nbcl_example nbcl_example_static) >"$tmp/ex-pc.log" 2>&1 || { cat "$tmp/ex-pc.log" >&2; fail "make examples"; }

bins="$tmp/ex-cmake-shared/nbcl_example $tmp/ex-cmake-static/nbcl_example
      $tmp/ex-pc/nbcl_example $tmp/ex-pc/nbcl_example_static"
for b in $bins; do
    [ -x "$b" ] || fail "$b not built"
done
# the shared builds load the installed library, the static ones none
for b in "$tmp/ex-cmake-shared/nbcl_example" "$tmp/ex-pc/nbcl_example"; do
    ldd "$b" | grep -q "libnbcl.so.* => $prefix/" || { ldd "$b" >&2; fail "$b does not load $prefix's libnbcl"; }
done
for b in "$tmp/ex-cmake-static/nbcl_example" "$tmp/ex-pc/nbcl_example_static"; do
    if ldd "$b" | grep -q libnbcl; then fail "$b loads libnbcl.so although linked statically"; fi
done

# a program linked with the static libnbcl.a, outside the prefix, loads the installed modules
# when NBCL_MODULE_DIR names their folder (docs/architecture.md "Modules": it has no libnbcl.so to
# look beside, and its ../lib/nbcl is not the prefix's)
cat >"$tmp/fmtload.c" <<'CEOF'
#include <nbcl/nbcl.h>
#include <nbcl/nbcl_formats.h>
#include <stdio.h>
int main(void)
{
    char err[8192];
    nbcl_status a = nbcl_format_load(NBCL_FORMAT_CBF, err, sizeof err);
    if (a != NBCL_OK)
        fprintf(stderr, "%s\n", err);
    nbcl_status b = nbcl_format_load(NBCL_FORMAT_HDF5, err, sizeof err);
    if (b != NBCL_OK)
        fprintf(stderr, "%s\n", err);
    return a == NBCL_OK && b == NBCL_OK ? 0 : 1;
}
CEOF
mkdir -p "$tmp/fmtload"
# shellcheck disable=SC2046
cc -O2 -o "$tmp/fmtload/fmtload" "$tmp/fmtload.c" $(PKG_CONFIG_PATH="$libdir/pkgconfig" pkg-config \
    --cflags nbcl) $(PKG_CONFIG_PATH="$libdir/pkgconfig" pkg-config --static --libs nbcl |
    sed 's/-lnbcl\b/-l:libnbcl.a/') >"$tmp/fmtload.log" 2>&1 ||
    { cat "$tmp/fmtload.log" >&2; fail "build a static consumer of the format modules"; }
if ldd "$tmp/fmtload/fmtload" | grep -q libnbcl; then fail "fmtload loads libnbcl.so"; fi
NBCL_MODULE_DIR="$libdir/nbcl" "$tmp/fmtload/fmtload" >"$tmp/fmtload.run" 2>&1 ||
    { cat "$tmp/fmtload.run" >&2; fail "a static consumer with NBCL_MODULE_DIR did not load the modules"; }

"$prefix/bin/nbcl" -version >"$tmp/version.txt" || fail "installed nbcl -version"
grep -q "^nbcl $(cat "$build/engine/include/nbcl/nbcl_version.h" | sed -n 's/.*NBCL_VERSION_TEXT "\(.*\)"/\1/p') " \
    "$tmp/version.txt" || fail "nbcl -version says $(cat "$tmp/version.txt")"
if ! "$prefix/bin/nbcl" -list_devices 2>/dev/null | grep -q ':'; then
    echo "check_install: no OpenCL device: built and installed, not rendered"
    exit 77
fi

# the installed nbcl, from a folder of its own
mkdir -p "$tmp/run-cli"
(cd "$tmp/run-cli" && "$prefix/bin/nbcl" -cell 100 100 100 90 90 90 -default_F 100 -N 5 -lambda 6.2 \
    -distance 100 -detpixels 64 -floatfile cli.bin -intfile cli.img -nopgm -nonoise) >"$tmp/cli.log" 2>&1 ||
    { cat "$tmp/cli.log" >&2; fail "installed nbcl from another folder"; }
size=$(wc -c <"$tmp/run-cli/cli.bin")
[ "$size" -eq $((64 * 64 * 4)) ] || fail "cli.bin is $size bytes"
# the installed libnbcl finds its installed modules (CBFlib, HDF5: docs/architecture.md
# "Modules"), and only those: the build tree's are out of its sight
mkdir -p "$tmp/run-formats"
(cd "$tmp/run-formats" && LD_DEBUG=files "$prefix/bin/nbcl" -cell 100 100 100 90 90 90 \
    -default_F 100 -N 5 -lambda 6.2 -distance 100 -detpixels 64 -nopgm -nonoise \
    -floatfile f.bin -cbffile c.cbf -nexusfile s.nxs) >"$tmp/formats.log" 2>&1 ||
    { cat "$tmp/formats.log" >&2; fail "installed nbcl -cbffile -nexusfile"; }
# (LD_DEBUG names each file as it was opened: $prefix/bin/../lib/nbcl/... through the RUNPATH)
sed -n 's/.*file=\([^ ]*nbcl-[a-z]*\.so\) .*dynamically loaded.*/\1/p' "$tmp/formats.log" |
    sort -u >"$tmp/modules.txt"
for m in cbf nexus; do
    loaded=$(grep "/nbcl-$m\.so$" "$tmp/modules.txt" || true)
    [ -n "$loaded" ] && [ "$(readlink -f "$loaded")" = "$(readlink -f "$libdir/nbcl/nbcl-$m.so")" ] ||
        fail "the installed nbcl did not load $libdir/nbcl/nbcl-$m.so (loaded: $(cat "$tmp/modules.txt"))"
done
"$prefix/bin/nbcl-compare" "$tmp/run-formats/c.cbf" "$tmp/run-formats/s.nxs" --host \
    --threshold 0.999999 -q || fail "installed nbcl-compare: the CBF and the NXmx file differ"
i=0
for b in $bins; do
    i=$((i + 1))
    mkdir -p "$tmp/run-$i"
    (cd "$tmp/run-$i" && "$b" image.bin) >"$tmp/run-$i.log" 2>&1 || { cat "$tmp/run-$i.log" >&2; fail "$b failed"; }
    cmp -s "$tmp/run-$i/image.bin" "$tmp/run-cli/cli.bin" || fail "$b: image differs from nbcl's"
    # a real image: 64x64 with a positive maximum (the direct-beam spot near the centre)
    grep -q "64x64 pixels, max [1-9][0-9.e+]* at (3[0-3], 3[0-3])" "$tmp/run-$i.log" ||
        fail "$b: unexpected summary: $(cat "$tmp/run-$i.log")"
done
"$prefix/bin/nbcl-compare" "$tmp/run-1/image.bin" "$tmp/run-cli/cli.bin" --fpixels 64 --host \
    --threshold 0.999999 -q || fail "installed nbcl-compare disagrees"
echo "check_install: ok: 4 example builds render nbcl's image bit for bit: $(cat "$tmp/run-1.log")"
