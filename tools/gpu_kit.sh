#!/usr/bin/env bash
# The GPU evidence kit (issue 15): one self-contained folder that proves nbcl on a bare GPU
# machine (NVIDIA driver, no OpenCL loader, no Debian libraries, no network) with ONE command:
#
#   tools/gpu_kit.sh KITDIR [--reference /path/nanoBragg] [--build-dir DIR] [--golden DIR]
#                    [--cases all|ID,ID...] [--max-mib N]
#   bash KITDIR/run.sh OUTDIR            # on the GPU machine (see docs/gpu.md)
#
# KITDIR receives bin/ (nbcl, nbcl-bench, nbcl-compare of a Release build), lib/ (every shared
# library those need that a base glibc system lacks: Debian's ICD loader, CLBlast, libcrypto,
# libpng, zlib...; lib/compat/ holds libstdc++ and libgcc_s, used only where the machine's own
# are too old), golden/ (args.txt + float.bin of the chosen golden cases, and their inputs/),
# ref/nanoBragg when --reference is given (a binary built by hand elsewhere: the kit never
# builds the reference and never holds its source), run.sh (tools/gpu_kit_run.sh) and kit.json.
#
# Without --build-dir, a Release build without tests is configured in <repo>/build-gpukit (no
# -march: the GPU machine's CPU may differ). With --build-dir the binaries of that build are
# taken as they are (it must be Release, kernels embedded, no -march=native, no sanitizer).
# After assembly every ELF file is checked with ldd in a clean environment: nothing may resolve
# outside the kit except glibc's own libraries and libstdc++/libgcc_s. The kit must stay under
# --max-mib (default 60) so that it can travel with a working tree.
#
# Exit status: 0 kit written; 1 a check failed (nothing left at KITDIR unless it was a kit
# before); 2 usage.
set -eu

die() { echo "gpu_kit: $*" >&2; exit 1; }
usage() { echo "usage:" >&2; sed -n '5,8p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
KIT="" REF="" BUILD="" GOLDEN="${NBCL_GOLDEN_DIR:-$ROOT/../shared/golden}" CASES=all MAX_MIB=60
while [ $# -gt 0 ]; do
    case "$1" in
    --reference) REF="${2:?--reference needs a path}"; shift 2 ;;
    --build-dir) BUILD="${2:?--build-dir needs a folder}"; shift 2 ;;
    --golden) GOLDEN="${2:?--golden needs a folder}"; shift 2 ;;
    --cases) CASES="${2:?--cases needs all or a comma-separated list}"; shift 2 ;;
    --max-mib) MAX_MIB="${2:?--max-mib needs a number}"; shift 2 ;;
    -h | --help) usage ;;
    -*) echo "gpu_kit: unknown option $1" >&2; usage ;;
    *) [ -z "$KIT" ] || usage; KIT="$1"; shift ;;
    esac
done
[ -n "$KIT" ] || usage
case "$MAX_MIB" in '' | *[!0-9]*) die "--max-mib wants a whole number of MiB, not '$MAX_MIB'" ;; esac

# ---- the build
if [ -z "$BUILD" ]; then
    BUILD="$ROOT/build-gpukit"
    echo "gpu_kit: Release build in $BUILD"
    cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null ||
        die "cmake configure of $BUILD failed"
    nice cmake --build "$BUILD" -j"$(nproc)" --target nbcl_cli nbcl_bench nbcl_compare >/dev/null ||
        die "build failed (run: cmake --build $BUILD)"
fi
BUILD=$(cd "$BUILD" && pwd) || die "no build folder $BUILD"
cache="$BUILD/CMakeCache.txt"
[ -f "$cache" ] || die "$BUILD is not a CMake build folder (no CMakeCache.txt)"
cache_get() { sed -n "s/^$1:[A-Z]*=//p" "$cache" | head -1; }
btype=$(cache_get CMAKE_BUILD_TYPE)
[ "$btype" = Release ] || die "$BUILD is a '$btype' build; the kit wants Release (the GPU numbers are reported as Release)"
[ "$(cache_get NBCL_EMBED_KERNELS)" != OFF ] || die "$BUILD has NBCL_EMBED_KERNELS=OFF; the kit needs the kernels embedded"
flags="$(cache_get CMAKE_C_FLAGS) $(cache_get CMAKE_C_FLAGS_RELEASE) $(cache_get CMAKE_EXE_LINKER_FLAGS)"
case "$flags" in
*-march=native* | *-mtune=native* | *-mcpu=native*)
    die "$BUILD is built with a -march/-mtune=native flag ($flags): its code may not run on the GPU machine's CPU" ;;
*-fsanitize*) die "$BUILD is built with a sanitizer ($flags)" ;;
esac
for b in nbcl nbcl-bench nbcl-compare; do
    [ -x "$BUILD/bin/$b" ] || die "$BUILD/bin/$b missing (build the targets nbcl_cli nbcl_bench nbcl_compare)"
done

# ---- the golden cases
[ -d "$GOLDEN" ] || die "golden folder $GOLDEN not found (give --golden DIR or NBCL_GOLDEN_DIR)"
GOLDEN=$(cd "$GOLDEN" && pwd)
ids=()
if [ "$CASES" = all ]; then
    for d in "$GOLDEN"/*/; do
        d=${d%/}
        [ -f "$d/args.txt" ] && [ -f "$d/float.bin" ] && ids+=("${d##*/}")
    done
else
    IFS=, read -r -a ids <<<"$CASES"
    for id in "${ids[@]}"; do
        [ -f "$GOLDEN/$id/args.txt" ] && [ -f "$GOLDEN/$id/float.bin" ] ||
            die "golden case '$id' not found in $GOLDEN (needs args.txt and float.bin)"
    done
fi
[ ${#ids[@]} -gt 0 ] || die "no golden cases in $GOLDEN"

# ---- the reference: one executable file, nothing else
if [ -n "$REF" ]; then
    [ -f "$REF" ] && [ -x "$REF" ] || die "reference $REF is not an executable file"
    REF=$(cd "$(dirname "$REF")" && pwd)/$(basename "$REF")
    [ "$(head -c 4 "$REF" | od -An -c | tr -d ' ')" = '177ELF' ] ||
        die "reference $REF is not an ELF executable (the kit carries a built binary, never sources or scripts)"
fi

# ---- assemble into a fresh folder beside KITDIR, then move it in place
mkdir -p "$(dirname "$KIT")"
KIT=$(cd "$(dirname "$KIT")" && pwd)/$(basename "$KIT")
if [ -e "$KIT" ] && [ -n "$(ls -A "$KIT" 2>/dev/null)" ] && [ ! -f "$KIT/kit.json" ]; then
    die "$KIT exists and is not a kit: not replacing it"
fi
STAGE=$(mktemp -d "$KIT.tmp.XXXXXX")
chmod 755 "$STAGE"
trap 'rm -rf "$STAGE"' EXIT
mkdir -p "$STAGE/bin" "$STAGE/lib/compat" "$STAGE/golden"
cp "$BUILD/bin/nbcl" "$BUILD/bin/nbcl-bench" "$BUILD/bin/nbcl-compare" "$STAGE/bin/"
cp "$ROOT/tools/gpu_kit_run.sh" "$STAGE/run.sh"
chmod 755 "$STAGE/run.sh"
if [ -n "$REF" ]; then
    mkdir -p "$STAGE/ref"
    cp -L "$REF" "$STAGE/ref/nanoBragg"
    chmod 755 "$STAGE/ref/nanoBragg"
fi
for id in "${ids[@]}"; do
    mkdir -p "$STAGE/golden/$id"
    cp "$GOLDEN/$id/args.txt" "$GOLDEN/$id/float.bin" "$STAGE/golden/$id/"
done
[ -d "$GOLDEN/inputs" ] && cp -rL "$GOLDEN/inputs" "$STAGE/golden/inputs"
[ -f "$GOLDEN/MANIFEST.md" ] && cp "$GOLDEN/MANIFEST.md" "$STAGE/golden/"
chmod -R u+w "$STAGE/golden"
# fonts for nbcl-bench's charts: a bare machine may have none with the glyphs they use (² and ×
# came out as boxes on the first GPU run); DejaVu Sans from Debian and a fontconfig file naming
# only this folder, which run.sh gives as FONTCONFIG_FILE
mkdir -p "$STAGE/fonts"
for face in "sans:style=Book" "sans:style=Bold" "sans:style=Oblique"; do
    f=$(fc-match -f '%{file}' "$face" 2>/dev/null || true)
    if [ -n "$f" ] && [ -f "$f" ]; then cp -L "$f" "$STAGE/fonts/"; fi
done
if ! ls "$STAGE/fonts/"* >/dev/null 2>&1; then   # no fc-match: Debian's DejaVu (fonts-dejavu-core)
    for f in /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf \
             /usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf \
             /usr/share/fonts/truetype/dejavu/DejaVuSans-Oblique.ttf; do
        if [ -f "$f" ]; then cp -L "$f" "$STAGE/fonts/"; fi
    done
fi
if ! ls "$STAGE/fonts/"* >/dev/null 2>&1; then
    rmdir "$STAGE/fonts"
    echo "gpu_kit: warning: no font found to ship; the charts use the GPU machine's fonts" >&2
else
cat >"$STAGE/fonts/fonts.conf" <<'FC'
<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "fonts.dtd">
<fontconfig>
  <dir prefix="relative">.</dir>
  <cachedir>/tmp/nbcl-kit-fontconfig</cachedir>
</fontconfig>
FC
fi

# libraries glibc provides on every machine; libstdc++/libgcc_s go to lib/compat (the runner adds
# it only when the machine's own copies are missing or too old)
is_base() {
    case "$1" in
    linux-vdso.so.* | ld-linux*.so.* | libc.so.* | libm.so.* | libdl.so.* | libpthread.so.* | \
        librt.so.* | libresolv.so.* | libutil.so.* | libmvec.so.*) return 0 ;;
    esac
    return 1
}
is_compat() { case "$1" in libstdc++.so.* | libgcc_s.so.*) return 0 ;; esac; return 1; }

# CLBlast is opened with dlopen (engine/src/render/blas.c), so ldd of the programs does not show it:
# its soname is the string libnbcl carries (the shared library the programs load, or the program
# itself when it was linked with the static one)
libnbcl=$(ldd "$BUILD/bin/nbcl" | awk '$1 ~ /^libnbcl\.so/ && $2 == "=>" {print $3; exit}')
clblast=$(cat "$BUILD/bin/nbcl" ${libnbcl:+"$libnbcl"} | grep -ao 'libclblast\.so\.[0-9]*' | head -1 || true)
[ -n "$clblast" ] || die "cannot find the CLBlast soname in $BUILD/bin/nbcl${libnbcl:+ or $libnbcl}"
clblast_path=$(/sbin/ldconfig -p 2>/dev/null | awk -v n="$clblast" '$1 == n && /x86-64/ {print $NF; exit}')
[ -n "$clblast_path" ] || clblast_path=$(gcc -print-file-name="$clblast" 2>/dev/null || true)
[ -f "$clblast_path" ] || die "$clblast not found on this machine (apt-get install libclblast1)"
cp -L "$clblast_path" "$STAGE/lib/$clblast"

# every dependency ldd reports, transitively (ldd already lists the whole closure)
copy_deps() {
    local f=$1 line name path
    while IFS= read -r line; do
        case "$line" in *"not found"*) die "$f: $line" ;; esac
        name=$(awk '{print $1}' <<<"$line")
        path=$(awk '$2 == "=>" {print $3}' <<<"$line")
        [ -n "$path" ] || continue
        name=${name##*/}
        is_base "$name" && continue
        if is_compat "$name"; then
            [ -f "$STAGE/lib/compat/$name" ] || cp -L "$path" "$STAGE/lib/compat/$name"
        else
            [ -f "$STAGE/lib/$name" ] || cp -L "$path" "$STAGE/lib/$name"
        fi
    done < <(ldd "$f")
}
elves=("$STAGE"/bin/* "$STAGE/lib/$clblast")
[ -n "$REF" ] && elves+=("$STAGE/ref/nanoBragg")
for f in "${elves[@]}"; do copy_deps "$f"; done
chmod 644 "$STAGE"/lib/*.so* "$STAGE"/lib/compat/* 2>/dev/null || true

# ---- the clean-environment check: only glibc and the compat pair may come from outside
bad=0
for f in "$STAGE"/bin/* "$STAGE"/lib/*.so* ${REF:+"$STAGE/ref/nanoBragg"}; do
    while IFS= read -r line; do
        case "$line" in *"not found"*) echo "gpu_kit: $f: $line" >&2; bad=1; continue ;; esac
        name=$(awk '{print $1}' <<<"$line")
        path=$(awk '$2 == "=>" {print $3}' <<<"$line")
        [ -n "$path" ] || continue
        case "$path" in "$STAGE"/lib/*) continue ;; esac
        name=${name##*/}
        is_base "$name" || is_compat "$name" ||
            { echo "gpu_kit: ${f#"$STAGE"/} needs $name from outside the kit ($path)" >&2; bad=1; }
    done < <(env -i PATH=/usr/bin:/bin LD_LIBRARY_PATH="$STAGE/lib" ldd "$f")
done
[ $bad = 0 ] || die "the kit is not self-contained (above)"

# the newest glibc / libstdc++ symbol versions the kit needs (the runner compares the machine's)
glibc_need=$(for f in "${elves[@]}" "$STAGE"/lib/*.so*; do objdump -T "$f" 2>/dev/null; done |
    grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' | sort -Vu | tail -1)
glibcxx_need=$(for f in "${elves[@]}" "$STAGE"/lib/*.so*; do objdump -T "$f" 2>/dev/null; done |
    grep -o 'GLIBCXX_[0-9][0-9.]*' | sed 's/GLIBCXX_//' | sort -Vu | tail -1)

# ---- kit.json: what is inside and where it came from
git_sha=$(git -C "$ROOT" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
git_dirty=$(if [ -n "$(git -C "$ROOT" status --porcelain --untracked-files=no 2>/dev/null)" ]; then echo true; else echo false; fi)
jstr() { printf '"%s"' "$(printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g')"; }
jlist() { local first=1 x; printf '['; for x in "$@"; do [ $first = 1 ] || printf ', '; first=0; jstr "$x"; done; printf ']'; }
{
    printf '{\n  "format_version": 1,\n'
    printf '  "created_utc": %s,\n' "$(jstr "$(date -u +%Y-%m-%dT%H:%M:%SZ)")"
    printf '  "git_sha": %s,\n  "git_dirty": %s,\n' "$(jstr "$git_sha")" "$git_dirty"
    printf '  "built_on": %s,\n' "$(jstr "$(. /etc/os-release 2>/dev/null; echo "${PRETTY_NAME:-unknown}") $(uname -m)")"
    printf '  "build_type": %s,\n  "c_flags": %s,\n' "$(jstr "$btype")" "$(jstr "$(printf '%s' "$flags" | tr -s ' ' | sed 's/^ //; s/ $//')")"
    printf '  "glibc_needed": %s,\n  "glibcxx_needed": %s,\n' "$(jstr "$glibc_need")" "$(jstr "$glibcxx_need")"
    printf '  "clblast": %s,\n' "$(jstr "$clblast")"
    if [ -n "$REF" ]; then
        printf '  "reference": {"file": "ref/nanoBragg", "from": %s, "sha256": %s},\n' \
            "$(jstr "$REF")" "$(jstr "$(sha256sum "$STAGE/ref/nanoBragg" | cut -d' ' -f1)")"
    else
        printf '  "reference": null,\n'
    fi
    printf '  "golden_from": %s,\n  "cases": %s,\n' "$(jstr "$GOLDEN")" "$(jlist "${ids[@]}")"
    printf '  "libs": %s,\n' "$(cd "$STAGE/lib" && jlist ./*.so* | sed 's|"\./|"|g')"
    printf '  "compat_libs": %s\n}\n' "$(cd "$STAGE/lib/compat" && set -- ./*.so* && { [ -e "$1" ] || set --; } && jlist "$@" | sed 's|"\./|"|g')"
} >"$STAGE/kit.json"
(cd "$STAGE" && find . -type f ! -name sha256.txt -print0 | sort -z | xargs -0 sha256sum >sha256.txt)

# ---- size
bytes=$(du -sb "$STAGE" | cut -f1)
limit=$((MAX_MIB * 1024 * 1024))
if [ "$bytes" -gt "$limit" ]; then
    die "the kit is $((bytes / 1048576)) MiB, over the $MAX_MIB MiB limit; take fewer golden cases (--cases)"
fi

rm -rf "$KIT"
mv "$STAGE" "$KIT"
trap - EXIT
echo "gpu_kit: $KIT: $(awk -v b="$bytes" 'BEGIN {printf "%.1f", b / 1048576}') MiB, ${#ids[@]} golden cases," \
    "reference: ${REF:-none}, build $BUILD ($git_sha$([ "$git_dirty" = true ] && echo ' dirty'))," \
    "needs glibc >= $glibc_need"
echo "gpu_kit: run it with: bash $KIT/run.sh OUTDIR   (docs/gpu.md)"
