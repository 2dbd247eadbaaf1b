#!/bin/sh
# Dependencies point one way: only state/ includes <lmdb.h>, only crypto/
# includes libsecp256k1's headers. Fails, naming the files, otherwise.
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
[ $bad -eq 0 ] && echo "1..1" && echo "ok 1 - include boundaries hold"
exit $bad
