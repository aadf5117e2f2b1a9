#!/bin/sh
# cpack -G DEB makes a Debian package of the build (issue 13 item 7), checked without installing
# it: its files (programs, libraries, headers, CMake package, nbcl.pc, man pages under /usr), its
# Depends (the shared libraries found by dpkg-shlibdeps, plus the dlopen'ed CLBlast and an
# OpenCL driver), and — where apt-get is present — that apt could install it here (apt-get -s:
# a simulation, nothing is changed).
# usage: check_deb.sh BUILD_DIR
set -eu
build=$1
base=${NBCL_TEST_TMP:-${TMPDIR:-/tmp}}
mkdir -p "$base"
tmp=$(mktemp -d "$base/deb.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail() { echo "check_deb: FAIL: $*" >&2; exit 1; }
command -v dpkg-deb >/dev/null 2>&1 || { echo "check_deb: no dpkg-deb: skipped"; exit 77; }

(cd "$build" && cpack -G DEB -B "$tmp") >"$tmp/cpack.log" 2>&1 || { cat "$tmp/cpack.log" >&2; fail "cpack -G DEB"; }
deb=$(ls "$tmp"/nbcl_*.deb 2>/dev/null | head -1)
[ -n "$deb" ] || { cat "$tmp/cpack.log" >&2; fail "no nbcl_*.deb written"; }
echo "check_deb: $(basename "$deb")"

dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./|/|' >"$tmp/files"
for f in /usr/bin/nbcl /usr/bin/nbcl-bench /usr/bin/nbcl-compare /usr/include/nbcl/nbcl.h \
         /usr/include/nbcl/nbcl_export.h /usr/include/nbcl/nbcl_version.h \
         /usr/share/man/man1/nbcl.1 /usr/share/man/man1/nbcl-bench.1 /usr/share/man/man1/nbcl-compare.1; do
    grep -qx "$f" "$tmp/files" || fail "$f not in the package"
done
for pat in '/usr/lib/.*libnbcl\.so\.[0-9.]*$' '/usr/lib/.*libnbcl\.a$' '/usr/lib/.*pkgconfig/nbcl\.pc$' \
           '/usr/lib/.*cmake/nbcl/nbclConfig\.cmake$' '/usr/lib/.*nbcl/nbcl-cbf\.so$' \
           '/usr/lib/.*nbcl/nbcl-nexus\.so$'; do
    grep -q "$pat" "$tmp/files" || fail "nothing matching $pat in the package"
done
if grep -v '^/usr/' "$tmp/files" | grep -v '^/$' | grep -q .; then
    fail "files outside /usr: $(grep -v '^/usr/' "$tmp/files" | grep -v '^/$' | head -3)"
fi

dpkg-deb -f "$deb" Package Version Architecture Depends >"$tmp/control"
cat "$tmp/control"
depends=$(dpkg-deb -f "$deb" Depends)
for d in libc6 libclblast1 'pocl-opencl-icd | opencl-icd' libssl3 'ocl-icd-libopencl1' libcbf1 \
         libhdf5; do
    case "$depends" in
        *"$d"*) ;;
        *) fail "Depends lacks $d: $depends" ;;
    esac
done

# the unpacked tree runs: the program, and the library with every dependency resolved
dpkg-deb -x "$deb" "$tmp/root"
"$tmp/root/usr/bin/nbcl" -version | grep -q "^nbcl $(dpkg-deb -f "$deb" Version) " ||
    fail "the packaged nbcl -version says: $("$tmp/root/usr/bin/nbcl" -version 2>&1)"
so=$(find "$tmp/root/usr/lib" -name 'libnbcl.so.*.*.*' | head -1)
[ -n "$so" ] || fail "no libnbcl.so.X.Y.Z unpacked"
if ldd "$so" | grep -q "not found"; then
    fail "libnbcl.so has unresolved dependencies: $(ldd "$so" | grep 'not found')"
fi
# its modules lie where it looks for them (nbcl/ next to it), every dependency resolved
for m in cbf nexus; do
    mod=$(dirname "$so")/nbcl/nbcl-$m.so
    [ -f "$mod" ] || fail "nbcl-$m.so is not next to $so, in nbcl/"
    if ldd "$mod" | grep -q "not found"; then
        fail "nbcl-$m.so has unresolved dependencies: $(ldd "$mod" | grep 'not found')"
    fi
done

if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    if apt-get -s -q install "$deb" >"$tmp/apt.log" 2>&1; then
        grep -q "^Inst nbcl " "$tmp/apt.log" || { cat "$tmp/apt.log" >&2; fail "apt-get -s would not install nbcl"; }
        echo "check_deb: apt-get -s: installable here"
    elif grep -q "Could not get lock" "$tmp/apt.log"; then
        echo "check_deb: apt is busy (lock held): installability not simulated"
    else
        cat "$tmp/apt.log" >&2
        fail "apt-get -s install refuses the package"
    fi
fi
echo "check_deb: ok"
