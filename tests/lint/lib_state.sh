#!/bin/sh
# No hidden process state in libnbcl (issue 13 item 6):
#   getenv   - the environment is read in one place: engine/src/core/env.c (nbcl_env_options_read);
#              a getenv anywhere else in engine/src fails;
#   globals  - every writable static object of the library (.data, .bss, thread-local .tdata and
#              .tbss, as objdump lists them in libnbcl.a) is named, with its file, in
#              docs/architecture.md "State that outlives a call", which says why it is fine; a new
#              one fails until it is listed there (or removed).
# usage: lib_state.sh getenv|globals SOURCE_DIR [LIBNBCL_A]
set -eu
mode=$1 src=$2
case $mode in
getenv)
    hits=$(grep -rnE '\b(secure_)?getenv[[:space:]]*\(' --include='*.c' --include='*.h' "$src/engine/src" |
        grep -v "^$src/engine/src/core/env.c:" || true)
    if [ -n "$hits" ]; then
        echo "lib_state: FAIL: the environment read outside engine/src/core/env.c:" >&2
        echo "$hits" >&2
        exit 1
    fi
    n=$(grep -cE '\bgetenv[[:space:]]*\(' "$src/engine/src/core/env.c" || true)
    [ "$n" -ge 1 ] || { echo "lib_state: FAIL: env.c reads no variable (the check is stale)" >&2; exit 1; }
    echo "lib_state: getenv only in core/env.c ($n call(s))"
    ;;
globals)
    lib=$3 doc=$src/docs/architecture.md
    tmp=$(mktemp)
    trap 'rm -f "$tmp"' EXIT
    # "file.c.o: ... <section> <size> name": writable sections only, .data.rel(.local) included
    # (where -fPIC puts an initialised static pointer); .data.rel.ro is read-only
    objdump -t "$lib" | awk '
        /^[^ ]+\.o: +file format/ { obj = $1; sub(/:$/, "", obj); sub(/\.o$/, "", obj) }
        $0 ~ /[ \t]\.(data(\.rel(\.local)?)?|bss|tdata|tbss)([ \t]|$)/ && $NF !~ /^(\.|__)/ && $2 != "d" {
            name = $NF; sub(/\.[0-9]+$/, "", name); print obj, name }' | sort -u >"$tmp"
    count=$(wc -l <"$tmp")
    [ "$count" -ge 1 ] || { echo "lib_state: FAIL: no writable object found in $lib (the check is stale)" >&2; exit 1; }
    missing=0
    while read -r obj name; do
        if ! grep -F "\`$obj\`" "$doc" | grep -qF "\`$name\`"; then
            echo "lib_state: FAIL: $obj: '$name' is writable state not listed in docs/architecture.md" >&2
            missing=1
        fi
    done <"$tmp"
    [ "$missing" -eq 0 ] || exit 1
    echo "lib_state: $count writable objects, each listed in docs/architecture.md"
    ;;
*)
    echo "usage: lib_state.sh getenv|globals SOURCE_DIR [LIBNBCL_A]" >&2
    exit 2
    ;;
esac
