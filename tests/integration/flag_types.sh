#!/usr/bin/env bash
# labels: unit
# Flags shared with a signal handler or between threads have a type that
# makes the sharing defined (C11): a flag a signal handler writes is a
# volatile sig_atomic_t (7.14.1.1), a flag another thread reads is
# _Atomic (volatile orders nothing between threads: 5.1.2.4). So every
# `volatile` declaration in cli/ and server/ must be sig_atomic_t or be
# listed below with why a plain volatile int is right there. Before this
# test: server/srv_ask.c `volatile int stopping` (set by srv_stop's thread,
# read by request threads) and cli/main.c `volatile int g_cancel` (set by
# the SIGINT handler).
set -u
SRC=${ODX_SOURCE_DIR:?run through ctest (ODX_SOURCE_DIR)}

# file: declared name
ALLOWED=$(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' <<'EOF2'
# odx_ask's cancel flag (the API's volatile int *): set and read on the
# one request thread that runs odx_ask (its on_piece and writers)
server/srv_ask.c cancel
EOF2
)

found=$(cd "$SRC" && grep -nE '\bvolatile\b' cli/*.c server/*.c server/*.h 2>/dev/null |
    grep -vE '^[^:]+:[0-9]+:[[:space:]]*(/?\*|//)' |
    grep -vE '\bvolatile[[:space:]]+sig_atomic_t\b' |
    grep -vE '\bvolatile[[:space:]]+int[[:space:]]*\*' |
    sed -nE 's/^([^:]+):([0-9]+):.*\bvolatile\b[^;(]*[[:space:]*]([A-Za-z_][A-Za-z0-9_]*)[[:space:]]*(\[[^]]*\])?[[:space:]]*(=[^;]*)?;.*/\1 \3 \2/p')
# a volatile the pattern above cannot name still fails
unnamed=$(cd "$SRC" && grep -nE '\bvolatile\b' cli/*.c server/*.c server/*.h 2>/dev/null |
    grep -vE '^[^:]+:[0-9]+:[[:space:]]*(/?\*|//)' |
    grep -vE '\bvolatile[[:space:]]+sig_atomic_t\b' |
    grep -vE '\bvolatile[[:space:]]+int[[:space:]]*\*' | wc -l)
fails=0
n=0
while read -r file sym line; do
    [ -n "$file" ] || continue
    n=$((n + 1))
    if grep -qxF "$file $sym" <<<"$ALLOWED"; then
        echo "ok   $file:$line $sym (listed)"
    else
        echo "FAIL $file:$line $sym: volatile but not sig_atomic_t (signal handler) or _Atomic (threads)"
        fails=$((fails + 1))
    fi
done <<<"$found"
if [ "$unnamed" -ne "$n" ]; then
    echo "FAIL $unnamed volatile declarations, $n of them read by name: a new form to look at"
    fails=$((fails + 1))
fi
# the signal handler's flag: still there and of the signal type
if grep -qE '^static volatile sig_atomic_t g_cancel;' "$SRC/cli/main.c"; then
    echo "ok   cli/main.c g_cancel is volatile sig_atomic_t"
else
    echo "FAIL cli/main.c g_cancel (set by on_signal) is not a volatile sig_atomic_t"
    fails=$((fails + 1))
fi
echo "$n volatile declarations looked at, $fails failed"
exit $((fails > 0))
