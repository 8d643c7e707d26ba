#!/usr/bin/env bash
# labels: integration
# The HTTP layer of `omnidex serve` under malformed and hostile requests,
# over raw sockets: every refusal is one status line and a JSON error body
# (libmicrohttpd answered 414/431/400/505 with HTML, a 1000-argument URL
# with nothing, Content-Length: -1 with two status lines); smuggling
# framings refused; slow and idle clients cannot take the request threads
# (slowloris); pipelined keep-alive requests are answered in order; the
# Host header is checked (DNS rebinding); a token with control characters
# is refused; the access log escapes control characters.
set -u
BIN=${1:?usage: srv_http.sh /path/to/omnidex}
SRC=${ODX_SOURCE_DIR:?}
T=$(mktemp -d)
SRV_PID=
cleanup() {
    [ -n "$SRV_PID" ] && kill "$SRV_PID" 2>/dev/null && wait "$SRV_PID" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT
fails=0
check() {
    local what=$1
    shift
    if "$@"; then echo "ok   $what"; else echo "FAIL $what"; fails=$((fails + 1)); fi
}

mkdir -p "$T/imgs"
cp "$SRC/samples/bar_rainfall.png" "$SRC/samples/table_cities.png" "$T/imgs/"
"$BIN" --db "$T/db" index --quiet "$T/imgs" >"$T/index.out" 2>&1
check "index exits 0" test $? -eq 0

# a token with control characters is refused (the help promises printable)
timeout 10 "$BIN" --db "$T/db" serve --port 0 --token "$(printf 'ab\033[31mc')" >/dev/null 2>"$T/tok.err"
rc=$?
check "--token with ESC is a usage error (rc=$rc)" test $rc -eq 2
check "  ... saying why" grep -q "printable" "$T/tok.err"
OMNIDEX_TOKEN="$(printf 'line\nbreak')" timeout 10 "$BIN" --db "$T/db" serve --port 0 >/dev/null 2>&1
rc=$?
check "OMNIDEX_TOKEN with a newline is a usage error (rc=$rc)" test $rc -eq 2
timeout 10 "$BIN" --db "$T/db" serve --port 0 --allow-host 'a:80' >/dev/null 2>&1
check "--allow-host with a port is a usage error" test $? -eq 2

start() { # start ARGS...: sets PORT, SRV_PID
    "$BIN" --db "$T/db" serve --port 0 "$@" 2>"$T/serve.err" &
    SRV_PID=$!
    PORT=
    for _ in $(seq 1 300); do
        PORT=$(sed -n 's|^omnidex: serving .* on http://127\.0\.0\.1:\([0-9]*\)$|\1|p' "$T/serve.err")
        [ -n "$PORT" ] && break
        kill -0 "$SRV_PID" 2>/dev/null || break
        sleep 0.1
    done
    test -n "$PORT"
}
stop() {
    kill -TERM "$SRV_PID"
    wait "$SRV_PID"
    local rc=$?
    SRV_PID=
    return $rc
}

check "server starts" start --threads 2 --token tok --access-log --allow-host omnidex.lan
[ -n "$PORT" ] || { cat "$T/serve.err"; exit 1; }

python3 - "$PORT" <<'EOF'
import json, socket, sys, threading, time
PORT = int(sys.argv[1])
fails = 0

def check(what, cond):
    global fails
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        fails += 1

def conn(timeout=30):
    s = socket.create_connection(("127.0.0.1", PORT), timeout=timeout)
    return s

def read_all(s):
    out = b""
    try:
        while True:
            d = s.recv(65536)
            if not d:
                break
            out += d
    except (socket.timeout, ConnectionResetError):
        pass
    return out

def raw(data, timeout=30):
    s = conn(timeout)
    try:
        s.sendall(data)
    except (BrokenPipeError, ConnectionResetError):
        pass
    out = read_all(s)
    s.close()
    return out

def responses(data):
    """Splits a byte stream into (status, headers, body) by Content-Length."""
    res = []
    while data:
        head, sep, rest = data.partition(b"\r\n\r\n")
        if not sep:
            res.append((None, {}, data))
            break
        lines = head.decode("latin1").split("\r\n")
        parts = lines[0].split(" ", 2)
        status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
        hdr = {}
        for l in lines[1:]:
            k, _, v = l.partition(":")
            hdr[k.strip().lower()] = v.strip()
        n = int(hdr.get("content-length", "0"))
        res.append((status, hdr, rest[:n]))
        data = rest[n:]
    return res

def json_error(what, data, status, code):
    rs = responses(data)
    ok = len(rs) == 1 and rs[0][0] == status
    body = None
    if ok:
        try:
            body = json.loads(rs[0][2])
        except ValueError:
            ok = False
    ok = ok and isinstance(body, dict) and body.get("error") == code and \
        isinstance(body.get("message"), str) and len(body["message"]) > 0 and \
        rs[0][1].get("content-type", "").startswith("application/json")
    got = [r[0] for r in rs]
    check("%s -> one %d JSON %s (got %s %r)" % (what, status, code, got,
          rs[0][2][:80] if rs else b""), ok)

H = b"Host: 127.0.0.1\r\nAuthorization: Bearer tok\r\n"
def get(path, extra=b""):
    return b"GET " + path + b" HTTP/1.1\r\n" + H + extra + b"Connection: close\r\n\r\n"

many = b"&".join(b"a%d=1" % i for i in range(1000))
cases = [
    ("a 20 KB URL", b"GET /search?q=" + b"a" * 20000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414, "too_large"),
    ("a 9 KB header", b"GET /stats HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 9000 + b"\r\n\r\n", 431, "too_large"),
    ("100 headers", b"GET /stats HTTP/1.1\r\nHost: x\r\n" + b"X-A: 1\r\n" * 100 + b"\r\n", 431, "too_large"),
    ("a malformed request line", b"HELLO\r\n\r\n", 400, "bad_request"),
    ("HTTP/2.0", b"GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505, "version_not_supported"),
    ("HTTP/3.1", b"GET / HTTP/3.1\r\nHost: x\r\n\r\n", 505, "version_not_supported"),
    ("1000 arguments", b"GET /search?" + many + b" HTTP/1.1\r\n" + H + b"\r\n", 414, "too_large"),
    ("Content-Length: -1", b"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400, "bad_request"),
    ("Content-Length: abc", b"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n", 400, "bad_request"),
    ("two Content-Lengths", b"POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", 400, "bad_request"),
    ("CL + chunked (smuggling)", b"POST /search HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /stats HTTP/1.1\r\n\r\n", 400, "bad_request"),
    ("Transfer-Encoding alone", b"POST /search HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, "bad_request"),
    ("space before a header colon", b"GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\n\r\n", 400, "bad_request"),
    ("a folded header", b"GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n 2\r\n\r\n", 400, "bad_request"),
    ("no Host on HTTP/1.1", b"GET /healthz HTTP/1.1\r\n\r\n", 400, "bad_request"),
    ("path traversal", get(b"/images/../../../etc/passwd"), 400, "bad_request"),
    ("encoded traversal", get(b"/images/1/%2E%2E/%2e%2e/etc/passwd"), 400, "bad_request"),
    ("%00 in the path", get(b"/stats%00.png"), 400, "bad_request"),
    ("ESC in the target", b"GET /\x1b[2J HTTP/1.1\r\nHost: x\r\n\r\n", 400, "bad_request"),
    ("Expect: magic", b"GET /stats HTTP/1.1\r\nHost: x\r\nExpect: magic\r\n\r\n", 417, "expectation_failed"),
    ("a 200 KB body", b"POST /search HTTP/1.1\r\nHost: x\r\nContent-Length: 200000\r\n\r\n" + b"c" * 200000, 413, "too_large"),
    ("DELETE", get(b"/stats").replace(b"GET", b"DELETE", 1), 405, "method_not_allowed"),
    ("Host: evil.example (rebinding)", b"GET /stats HTTP/1.1\r\nHost: evil.example:%d\r\nAuthorization: Bearer tok\r\nConnection: close\r\n\r\n" % PORT, 421, "misdirected"),
    ("absolute target to evil.example", b"GET http://evil.example/stats HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer tok\r\nConnection: close\r\n\r\n", 421, "misdirected"),
    ("no token", b"GET /stats HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", 401, "unauthorized"),
]
for what, data, status, code in cases:
    json_error(what, raw(data), status, code)

def status_of(data):
    rs = responses(data)
    return [r[0] for r in rs]

check("Host: localhost:PORT is answered", status_of(raw(get(b"/stats").replace(b"Host: 127.0.0.1", b"Host: localhost:%d" % PORT))) == [200])
check("Host: [::1] is answered", status_of(raw(get(b"/stats").replace(b"Host: 127.0.0.1", b"Host: [::1]:%d" % PORT))) == [200])
check("Host named by --allow-host is answered", status_of(raw(get(b"/stats").replace(b"Host: 127.0.0.1", b"Host: omnidex.lan"))) == [200])
check("HTTP/1.0 without Host is answered", status_of(raw(b"GET /healthz HTTP/1.0\r\n\r\n")) == [200])
check("a small body on GET is skipped and answered", status_of(raw(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello")) == [200])

# keep-alive: three pipelined requests, answered in order on one connection
s = conn()
s.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n" +
          b"GET /stats HTTP/1.1\r\n" + H + b"\r\n" +
          b"GET /nope HTTP/1.1\r\n" + H + b"Connection: close\r\n\r\n")
rs = responses(read_all(s))
s.close()
check("pipelined: 200, 200, 404 in order (got %s)" % [r[0] for r in rs],
      [r[0] for r in rs] == [200, 200, 404] and json.loads(rs[1][2]).get("images") == 2)
# HEAD: headers with the length of the body, no body
rs = responses(raw(b"HEAD /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"))
check("HEAD gives a Content-Length and no body",
      len(rs) == 1 and rs[0][0] == 200 and rs[0][1].get("content-length") == "16" and rs[0][2] == b"")

# slowloris: clients that trickle or send nothing hold no request thread
# (two of them); searches are answered meanwhile, the trickler gets a 408
slow = []
for i in range(20):
    c = conn(60)
    c.sendall(b"GET /stats HTTP/1.1\r\n")
    slow.append(c)
idle = [conn(60) for _ in range(20)]
t0 = time.time()
worst = 0
for i in range(10):
    a = time.time()
    st = status_of(raw(get(b"/search?q=rainfall&k=3")))
    worst = max(worst, time.time() - a)
    if st != [200]:
        break
    for c in slow:
        try:
            c.sendall(b"X-a: b\r\n")
        except OSError:
            pass
    time.sleep(0.2)
check("searches answered while 40 slow/idle clients are connected (status %s, slowest %.2f s)"
      % (st, worst), st == [200] and worst < 5)
c = slow[0]
c.settimeout(30)
t0 = time.time()
got = read_all(c)
took = time.time() - t0
rs = responses(got)
check("the trickling client is cut off with a 408 JSON error after the head deadline (%.1f s)" % took,
      len(rs) == 1 and rs[0][0] == 408 and json.loads(rs[0][2]).get("error") == "timeout")
for c in slow + idle:
    c.close()
check("still healthy after", status_of(raw(get(b"/healthz"))) == [200])
sys.exit(1 if fails else 0)
EOF
check "raw-socket probes (see above)" test $? -eq 0

# the access log: control characters never reach the terminal raw
printf 'GET /search?q=%%1B%%5B2J HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer tok\r\nConnection: close\r\n\r\n' |
    timeout 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$PORT; cat >&3; cat <&3" >/dev/null 2>&1
sleep 0.3
check "access log lines were written" grep -q 'GET /search' "$T/serve.err"
check "  ... with no ESC, CR or other control byte" sh -c "! LC_ALL=C grep -q \"\$(printf '[\001-\010\013-\037\177]')\" '$T/serve.err'"
check "SIGTERM stops the server (exit 0)" stop

# with file descriptors exhausted the server neither spins on its
# listening socket nor falls over, and answers again once they are freed
( ulimit -n 200 && exec "$BIN" --db "$T/db" serve --port 0 2>"$T/serve3.err" ) &
SRV_PID=$!
PORT=
for _ in $(seq 1 300); do
    PORT=$(sed -n 's|^omnidex: serving .* on http://127\.0\.0\.1:\([0-9]*\)$|\1|p' "$T/serve3.err" 2>/dev/null)
    [ -n "$PORT" ] && break
    sleep 0.1
done
check "server starts under ulimit -n 200" test -n "$PORT"
SPID=$SRV_PID
python3 - "$PORT" "$SPID" <<'EOF2'
import json, os, socket, sys, time
port, pid = int(sys.argv[1]), int(sys.argv[2])
fails = 0
def check(what, cond):
    global fails
    print(("ok   " if cond else "FAIL ") + what)
    fails += 0 if cond else 1
def cpu():
    f = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
socks = []
for i in range(400):
    try:
        socks.append(socket.create_connection(("127.0.0.1", port), timeout=5))
    except OSError:
        break
c0 = cpu()
time.sleep(3)
used = cpu() - c0
check("with descriptors exhausted (%d connections open) the server does not spin (%.2f CPU s in 3 s)"
      % (len(socks), used), used < 1.0)
for s in socks:
    s.close()
time.sleep(0.5)
s = socket.create_connection(("127.0.0.1", port), timeout=10)
s.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
got = b""
while True:
    d = s.recv(4096)
    if not d:
        break
    got += d
check("and answers once they are closed", got.startswith(b"HTTP/1.1 200"))
sys.exit(1 if fails else 0)
EOF2
check "descriptor exhaustion probes (see above)" test $? -eq 0
kill -TERM "$SRV_PID" 2>/dev/null
wait "$SRV_PID" 2>/dev/null
SRV_PID=

echo "$fails failed"
test $fails -eq 0
