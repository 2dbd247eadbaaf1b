#!/bin/sh
# Dependencies point one way: only state/ includes <lmdb.h>, only crypto/
# includes libsecp256k1's headers; node/'s folders include one way.
# Fails, naming the files, otherwise.
root=${1:-.}
cd "$root" || exit 2
bad=0
for f in $(grep -rl --include='*.c' --include='*.h' '<lmdb.h>' include engine crypto node state 2>/dev/null); do
    case "$f" in state/*) ;; *) echo "lmdb.h included outside state/: $f"; bad=1 ;; esac
done
for f in $(grep -rl --include='*.c' --include='*.h' '<secp256k1' include engine crypto node state 2>/dev/null); do
    case "$f" in crypto/*) ;; *) echo "secp256k1 header included outside crypto/: $f"; bad=1 ;; esac
done
# node/ must reach the library only through its public headers.
for f in $(grep -rlE --include='*.c' --include='*.h' '"(engine_int|state_int|crypto_int)\.h"' node 2>/dev/null); do
    echo "node/ includes a private header: $f"; bad=1
done
# include/internal/ (assertions) is for the library's modules only.
for f in $(grep -rlE --include='*.c' --include='*.h' '"internal/' node include/parex 2>/dev/null); do
    echo "internal header included outside engine/, state/, crypto/: $f"; bad=1
done
# node/ folders point one way: cli -> {daemon, bench} -> formats (docs/
# architecture.md). A header of another folder is included by its folder
# ("formats/node.h"); a bare name must be a file of the including folder,
# and no "../". So an include cycle between folders cannot be written.
for d in formats bench daemon cluster cli; do
    case $d in
        formats) deny='daemon|cli|bench|cluster' ;;
        bench) deny='daemon|cli|cluster' ;;
        daemon) deny='cli|bench' ;;
        cluster) deny='formats|daemon|cli|bench' ;;
        cli) deny='' ;;
    esac
    [ -d "node/$d" ] || continue
    for f in $(find "node/$d" -name '*.[ch]' | sort); do
        grep -E '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$f" |
            sed -E 's/^[^"]*"([^"]*)".*/\1/' | while read -r inc; do
            case "$inc" in
                ../*|*/../*) echo "node/ include climbs out of its folder: $f: \"$inc\"" ;;
                */*)
                    top=${inc%%/*}
                    if [ -n "$deny" ] && printf '%s\n' "$top" | grep -qxE "$deny"; then
                        echo "node/$d must not include node/$top: $f: \"$inc\""
                    fi ;;
                # parex's key table (engine/keymap), a self-contained
                # library: the one non-public header, for the daemon only.
                keymap.h) [ "$d" = daemon ] ||
                    echo "node/$d must not include the engine's keymap.h: $f" ;;
                *) [ -f "node/$d/$inc" ] ||
                    echo "node/ bare include of a header not in its folder: $f: \"$inc\"" ;;
            esac
        done
    done
done >"${TMPDIR:-/tmp}/parex-lint-$$" 2>&1
if [ -s "${TMPDIR:-/tmp}/parex-lint-$$" ]; then
    cat "${TMPDIR:-/tmp}/parex-lint-$$"; bad=1
fi
rm -f "${TMPDIR:-/tmp}/parex-lint-$$"
# No source file directly in node/: every one belongs to a folder.
for f in $(find node -maxdepth 1 -name '*.[ch]' 2>/dev/null); do
    echo "node/ source outside cli/, daemon/, formats/, bench/, cluster/: $f"; bad=1
done
[ $bad -eq 0 ] && echo "1..1" && echo "ok 1 - include boundaries hold"
exit $bad
