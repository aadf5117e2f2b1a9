#!/bin/sh
# The shared libnbcl exports exactly its public API:
#   - every dynamic symbol it defines starts with nbcl_ (internals, nbcl__*, stay hidden);
#   - every function the public headers declare is exported (a declaration without NBCL_API
#     would be missing), and the key entry points are there by name.
# usage: check_symbols.sh LIBNBCL_SO PUBLIC_INCLUDE_DIR GENERATED_INCLUDE_DIR CC
set -eu
lib=$1 inc=$2 geninc=$3 cc=$4
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

nm -D --defined-only "$lib" | awk '{print $NF}' | sort -u >"$tmp/exported"
count=$(wc -l <"$tmp/exported")
echo "check_symbols: $lib exports $count symbols"
if [ "$count" -lt 40 ]; then
    echo "check_symbols: FAIL: only $count symbols exported" >&2
    exit 1
fi
if grep -v '^nbcl_' "$tmp/exported" >"$tmp/foreign" || grep '^nbcl__' "$tmp/exported" >>"$tmp/foreign"; then
    if [ -s "$tmp/foreign" ]; then
        echo "check_symbols: FAIL: exported symbols outside the public API:" >&2
        cat "$tmp/foreign" >&2
        exit 1
    fi
fi

# functions declared in the public headers (comments dropped by the preprocessor)
printf '#include <nbcl/nbcl.h>\n' >"$tmp/all.c"
for h in "$inc"/nbcl/*.h; do
    printf '#include <nbcl/%s>\n' "$(basename "$h")" >>"$tmp/all.c"
done
"$cc" -E -P -I"$inc" -I"$geninc" "$tmp/all.c" -o "$tmp/all.i"
grep -o '\bnbcl_[a-z0-9_]*[[:space:]]*(' "$tmp/all.i" | sed 's/[[:space:]]*($//' | sort -u >"$tmp/declared"
ndecl=$(wc -l <"$tmp/declared")
missing=$(comm -23 "$tmp/declared" "$tmp/exported")
if [ -n "$missing" ]; then
    echo "check_symbols: FAIL: declared in the public headers but not exported (NBCL_API missing?):" >&2
    echo "$missing" >&2
    exit 1
fi
for sym in nbcl_version nbcl_config_init nbcl_scene_build nbcl_engine_create nbcl_render \
           nbcl_image_free nbcl_write_float nbcl_status_str; do
    grep -qx "$sym" "$tmp/exported" || { echo "check_symbols: FAIL: $sym not exported" >&2; exit 1; }
done
extra=$(comm -13 "$tmp/declared" "$tmp/exported")
if [ -n "$extra" ]; then
    echo "check_symbols: FAIL: exported but declared in no public header:" >&2
    echo "$extra" >&2
    exit 1
fi
echo "check_symbols: ok: $ndecl public functions, all exported, nothing else"
