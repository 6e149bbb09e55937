"""
The standing attack suite: what a hostile client on the network tries, against the real
binary, bounded in time and count, on loopback only. Each test prints the figures it saw.

- Request smuggling: byte streams that RFC 9112 says to reject, sent to opshub and to a real
  nginx. Where nginx rejects a stream, opshub must reject it too (400 or 501, then close),
  and no request after the bad one is ever served.
- An idle-connection flood under `ulimit -n 1024`: opshub's own HTTP check of a healthy
  nginx stays up all along; the flood meets the connection cap sized from the limit, and
  the refusals are counted and logged.
- Non-reading pipeliners: 4,000 connections pipeline requests for a large response and
  never read; opshub's RSS stays under a ceiling and comes back down after they leave.
- Slowloris: connections that trickle a header byte by byte while /healthz stays quick.
- Hostile paths (invalid UTF-8, terminal escapes, 1,400 x %01, 8 KB, traversal, NUL): after
  them and every attack above, each log line is strict UTF-8 JSON with its key fields.
"""
# ctest: COST 25
import json
import os
import re
import resource
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

ENV = {}

NEXT = b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"

# (name, bytes): each is followed on the same connection by NEXT.
STREAMS = [
    ("good: two pipelined GETs", b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"),
    ("good: chunked body with extension and trailer",
     b"POST /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
     b"5;ext=\"q\"\r\nhello\r\n0\r\nX-T: 1\r\n\r\n"),
    ("good: Content-Length body", b"POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"),
    ("TE with space before colon",
     b"POST /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n"),
    ("CL with space before colon", b"POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length : 5\r\n\r\nhello"),
    ("chunk data not followed by CRLF",
     b"POST /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n"),
    ("control byte in chunk extension",
     b"POST /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5;a=\x01\r\nhello\r\n0\r\n\r\n"),
    ("bare LF in chunk extension",
     b"POST /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5;a\nb\r\nhello\r\n0\r\n\r\n"),
    ("bare LF line endings", b"GET /healthz HTTP/1.1\nHost: x\n\n"),
    ("bare CR in a header", b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n"),
    ("obs-fold", b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n  folded\r\n\r\n"),
    ("HTTP/1.1 without Host", b"GET /healthz HTTP/1.1\r\n\r\n"),
    ("two Host headers", b"GET /healthz HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n"),
    ("two Authorization headers",
     b"GET /healthz HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer a\r\nAuthorization: Bearer b\r\n\r\n"),
    ("TE on kept-alive HTTP/1.0",
     b"POST /healthz HTTP/1.0\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
    ("CL and TE", b"POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
    ("two Content-Length", b"POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello"),
    ("Content-Length list", b"POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 5\r\n\r\nhello"),
    ("Content-Length with sign", b"POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\nhello"),
    ("Content-Length in hex", b"POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 0x5\r\n\r\nhello"),
    ("two TE headers",
     b"POST /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
    ("TE gzip, chunked", b"POST /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n"),
    ("TE xchunked", b"POST /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n"),
    ("TE with VT", b"POST /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: \x0bchunked\r\n\r\n0\r\n\r\n"),
    ("chunk size with 0x", b"POST /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n"),
    ("chunk size overflow",
     b"POST /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000005\r\nhello\r\n0\r\n\r\n"),
    ("space in header name", b"GET /healthz HTTP/1.1\r\nHost: x\r\nX A: 1\r\n\r\n"),
    ("NUL in header value", b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n"),
    ("space in request target", b"GET /health z HTTP/1.1\r\nHost: x\r\n\r\n"),
    ("HTTP/2.0 request line", b"GET /healthz HTTP/2.0\r\nHost: x\r\n\r\n"),
    ("lower-case version", b"GET /healthz http/1.1\r\nHost: x\r\n\r\n"),
]


def exchange(port, data, idle=2.0):
    """Sends data, reads until the server closes or is quiet for `idle` seconds.
    Returns ([status, ...] of every response start seen, closed: bool)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=idle)
    got = bytearray()
    closed = False
    try:
        s.sendall(data)
        while len(got) < 1 << 20:
            b = s.recv(65536)
            if not b:
                closed = True
                break
            got.extend(b)
    except ConnectionResetError:
        closed = True
    except (socket.timeout, OSError):
        pass
    finally:
        s.close()
    statuses = [int(m.group(1)) for m in re.finditer(rb"HTTP/1\.[01] (\d{3}) ", bytes(got))]
    return statuses, closed


def setup():
    nginx = ENV["nginx"] = (h.Nginx(locations="""
        client_max_body_size 1k;
        location / { default_type text/plain; return 200 'ok'; }
"""))
    nginx.start()
    o = ENV["o"] = h.track(h.Opshub(h.make_config([]), auth=False))
    o.start()


def rejected(statuses, closed):
    """A stream refused at its first request: a framing error's answer (a route's own
    answer, such as 405 for POST /healthz on opshub, is a request served) or a silent close."""
    return bool((statuses[:1] and statuses[0] in (400, 411, 413, 431, 501, 505)) or (not statuses and closed))


def test_smuggling_where_nginx_rejects_opshub_rejects_and_serves_nothing_after():
    o, nginx = ENV["o"], ENV["nginx"]
    rows, bad = [], []
    for name, data in STREAMS:
        ns, nclosed = exchange(nginx.port, data + NEXT)
        os_, oclosed = exchange(o.cur_port, data + NEXT)
        n_rej, o_rej = rejected(ns, nclosed), rejected(os_, oclosed)
        rows.append((name, ns, "rejects" if n_rej else "accepts", os_, "rejects" if o_rej else "accepts"))
        if name.startswith("good:"):
            if len(ns) != 2 or len(os_) != 2:
                bad.append(f"{name}: well-formed stream not served twice (nginx {ns}, opshub {os_})")
            continue
        if not o_rej:
            # opshub is the stricter one everywhere the issue lists a case
            bad.append(f"{name}: opshub accepted {os_} (nginx {ns})")
            continue
        if os_ and (os_[0] not in (400, 501) or len(os_) != 1 or not oclosed):
            bad.append(f"{name}: opshub answered {os_}, closed={oclosed}: want one 400/501 then close")
    print("# smuggling streams: nginx | opshub (statuses of every response on the connection)")
    for name, ns, nv, os_, ov in rows:
        print(f"#   {name:<48} nginx {nv:<7} {str(ns):<12} opshub {ov:<7} {os_}")
    h.check(not bad, "; ".join(bad))


def test_http09_gets_400_at_once():
    o = ENV["o"]
    t0 = time.monotonic()
    statuses, closed = exchange(o.cur_port, b"GET /healthz\r\n", idle=5.0)
    ms = (time.monotonic() - t0) * 1000
    print(f"# HTTP/0.9 request line: {statuses} closed={closed} after {ms:.0f} ms")
    h.eq(statuses, [400], "HTTP/0.9 answered with 400")
    h.check(closed, "closed after the 400")


def raise_own_fd_limit(n):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < n:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(n, hard), hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def open_idle(port, n):
    """n TCP connections to port that send nothing; those the server refuses are closed."""
    socks = []
    for _ in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        try:
            s.connect_ex(("127.0.0.1", port))
        except OSError:
            s.close()
            continue
        socks.append(s)
    return socks


FLOOD_LIMIT = 1024      # ulimit -n of the flooded opshub
FLOOD_CONNS = 1100      # more idle connections than that limit allows
FLOOD_SECONDS = 5


def test_idle_flood_under_a_low_fd_limit_leaves_the_checks_up():
    nginx = ENV["nginx"]
    own = raise_own_fd_limit(FLOOD_CONNS + 256)
    h.check(own >= FLOOD_CONNS + 64, f"the test process cannot open {FLOOD_CONNS} sockets (limit {own})")
    cfg = h.make_config([h.http_check("web", nginx.url("/health"), interval="1s", timeout="800ms")])
    o = h.track(h.Opshub(cfg))
    o.nofile = FLOOD_LIMIT
    o.start()
    try:
        m = o.metrics()
        cap = m.get("opshub_http_connections_max")
        print(f"# ulimit -n {FLOOD_LIMIT}: connection cap {cap:.0f}")
        h.check(cap is not None and cap < FLOOD_LIMIT - 64, f"connection cap {cap} not sized from the fd limit")
        o.wait_samples("web", 1)
        t0 = int(time.time() * 1000)
        socks = open_idle(o.cur_port, FLOOD_CONNS)
        time.sleep(FLOOD_SECONDS)
        t1 = int(time.time() * 1000)
        for s in socks:
            s.close()
        h.wait_for(lambda: o.metrics().get("opshub_http_connections_open") < 50, 15, "the flood to close")
        samples = [x for x in o.samples("web", "limit=100")["samples"] if t0 <= x["ts_ms"] <= t1]
        results = [x["result"] for x in samples]
        m = o.metrics()
        refused = m.get("opshub_http_rejected_total", reason="connection_cap") or 0
        print(f"# {FLOOD_CONNS} idle connections for {FLOOD_SECONDS}s: check results {results}, "
              f"refused at the cap {refused:.0f}, max fds {m.get('process_max_fds')}")
        h.check(len(samples) >= FLOOD_SECONDS - 2, f"too few samples during the flood: {results}")
        h.check(all(r == "up" for r in results), f"the check went down during the flood: "
                f"{[(x['result'], x.get('error')) for x in samples]}")
        h.check(refused >= FLOOD_CONNS - cap - 5, f"refusals at the cap not counted: {refused}")
        h.check(m.get("opshub_http_connections_rejected_total") >= refused, "connections_rejected_total")
        h.contains(o.log_text(), '"reason":"connection_cap"', "a refusal at the cap is logged")
        h.eq(o.stop(), 0, "exit code of the flooded opshub")
    finally:
        o.close()


PIPE_CONNS = 4000
PIPE_REQUESTS = 64
PIPE_SECONDS = 6
# Above idle while 4,000 non-reading pipeliners are connected (docs/security.md). The
# AddressSanitizer build keeps freed memory in quarantine and adds redzones: its own ceiling.
PIPE_CEILING_MB = 192 if h.sanitized() else 64


def test_non_reading_pipeliners_stay_within_the_memory_ceiling():
    own = raise_own_fd_limit(PIPE_CONNS + 256)
    h.check(own >= PIPE_CONNS + 64, f"the test process cannot open {PIPE_CONNS} sockets (limit {own})")
    o = ENV["o"]
    pid = o.pid
    size = len(o.get("/api/v1/openapi.json").body)
    idle_kb = h.read_rss_kb(pid)
    one = b"GET /api/v1/openapi.json HTTP/1.1\r\nHost: x\r\n\r\n" * PIPE_REQUESTS
    socks = []
    peak_kb = idle_kb
    t_connect = time.monotonic()
    for _ in range(PIPE_CONNS):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # read nothing, take little
        try:
            s.connect(("127.0.0.1", o.cur_port))
            s.setblocking(False)
            s.send(one)
        except OSError:
            pass
        socks.append(s)
        if len(socks) % 500 == 0:
            peak_kb = max(peak_kb, h.read_rss_kb(pid))
    connect_s = time.monotonic() - t_connect
    peak_kb = max(peak_kb, h.read_rss_kb(pid))
    health_ms = []
    t0 = time.monotonic()
    while time.monotonic() - t0 < PIPE_SECONDS:
        peak_kb = max(peak_kb, h.read_rss_kb(pid))
        t = time.monotonic()
        try:
            r = o.get("/healthz", timeout=5)
            if r.status == 200:
                health_ms.append((time.monotonic() - t) * 1000)
        except OSError:
            pass
        time.sleep(0.1)
    m = o.metrics()
    peak_kb = max(peak_kb, h.read_hwm_kb(pid))  # the peak between two reads too
    for s in socks:
        s.close()
    h.wait_for(lambda: o.metrics().get("opshub_http_connections_open") < 50, 20, "the pipeliners to be closed")
    time.sleep(0.5)
    after_kb = h.read_rss_kb(pid)
    budget = m.get("opshub_http_rejected_total", reason="output_budget") or 0
    health_ms.sort()
    p50 = health_ms[len(health_ms) // 2] if health_ms else None
    print(f"# {PIPE_CONNS} connections (opened in {connect_s:.1f} s) x {PIPE_REQUESTS} pipelined GETs "
          f"of {size} bytes, never read: "
          f"RSS idle {idle_kb / 1024:.1f} MiB, peak {peak_kb / 1024:.1f} MiB "
          f"(+{(peak_kb - idle_kb) / 1024:.1f}), after {after_kb / 1024:.1f} MiB; "
          f"closed over the output budget {budget:.0f}; /healthz during it: {len(health_ms)} answers, "
          f"p50 {p50 if p50 is None else round(p50, 1)} ms")
    h.check((peak_kb - idle_kb) / 1024 < PIPE_CEILING_MB,
            f"RSS grew {(peak_kb - idle_kb) / 1024:.1f} MiB (ceiling {PIPE_CEILING_MB})")
    h.check(health_ms, "/healthz never answered during the flood")
    h.check(budget > 0, "no connection met the output budget: the flood did not fill it")
    # Freed memory goes back to the system (malloc_trim) in the release build; ASan's allocator
    # keeps it in quarantine, so there it must only not have grown past the flood's ceiling.
    after_ceiling = PIPE_CEILING_MB if h.sanitized() else PIPE_CEILING_MB / 2
    h.check((after_kb - idle_kb) / 1024 < after_ceiling,
            f"memory not returned after the flood: {after_kb / 1024:.1f} MiB vs idle {idle_kb / 1024:.1f}")


def test_slowloris_does_not_slow_healthz():
    o = ENV["o"]
    socks = []
    for _ in range(200):
        s = socket.create_connection(("127.0.0.1", o.cur_port), timeout=5)
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        socks.append(s)
    times = []
    t0 = time.monotonic()
    i = 0
    while time.monotonic() - t0 < 3:
        for s in socks:
            try:
                s.send(b"X-%d: 1\r\n" % i)
            except OSError:
                pass
        i += 1
        t = time.monotonic()
        r = o.get("/healthz", timeout=5)
        h.eq(r.status, 200, "/healthz during slowloris")
        times.append((time.monotonic() - t) * 1000)
        time.sleep(0.1)
    for s in socks:
        s.close()
    times.sort()
    print(f"# 200 slowloris connections for 3 s: /healthz p50 {times[len(times) // 2]:.1f} ms, "
          f"max {times[-1]:.1f} ms over {len(times)} requests")


HOSTILE_PATHS = [
    "/nosuch%ff%fe", "/esc%1b[2J%0b%0c%07", "/" + "%01" * 1400, "/" + "a" * 8000,
    "/healthXYZ", "/../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/api/v1/checks/%00",
    "/api/v1/checks/" + "%c0%af" * 50, "/\u2603/%e2%98%83", "//double//slash", "/a?q=%ff&b=\x7f",
]


def test_zy_hostile_paths_and_every_attack_leave_the_log_valid():
    """After every attack above and these paths, each log line is strict UTF-8 JSON, and each
    request line keeps path, status, remote, request_id and actor."""
    o = ENV["o"]
    routed = set()
    for i, path in enumerate(HOSTILE_PATHS):
        raw = f"GET {path} HTTP/1.1\r\nHost: x\r\nX-Request-Id: hostile-{i}\r\nConnection: close\r\n\r\n"
        statuses, _ = exchange(o.cur_port, raw.encode("utf-8", "surrogateescape"))
        h.check(statuses and statuses[0] in (400, 401, 404, 414), f"GET {path[:40]!r}: {statuses}")
        if statuses[0] in (401, 404):
            routed.add(f"hostile-{i}")  # reached the API: a request line is due
    time.sleep(0.3)
    with open(o.log_path, "rb") as f:
        lines = [ln for ln in f.read().split(b"\n") if ln]
    seen, refusals = set(), 0
    for raw in lines:
        text = raw.decode("utf-8")  # strict: raises on invalid UTF-8
        try:
            line = json.loads(text)
        except ValueError:
            raise AssertionError(f"a log line is not JSON: {raw[:300]!r}")
        h.check("msg" in line and "level" in line, f"msg/level missing: {text[:200]}")
        refusals += line["msg"] in ("request refused", "connection refused")
        if line["msg"] == "request":
            for key in ("path", "status", "remote", "request_id", "actor"):
                h.check(key in line, f"{key} missing from a request line: {text[:300]}")
            if line["request_id"].startswith("hostile-"):
                seen.add(line["request_id"])
    print(f"# log after the attack suite: {len(lines)} lines, all JSON; {refusals} refusal lines "
          f"(at most one per reason per 10 s); {len(routed)} hostile paths answered by the API (401/404), "
          f"{len(HOSTILE_PATHS) - len(routed)} refused by the server (400/414)")
    h.eq(seen, routed, "every routed hostile path has its request line")
    h.check(refusals >= 1, "no refusal was logged")


def test_zz_stops_cleanly():
    h.eq(ENV["o"].stop(), 0, "exit code after SIGTERM")


def teardown():
    for k in ("o", "nginx"):
        if k in ENV:
            ENV[k].close()


if __name__ == "__main__":
    h.run(h.collect(globals()), setup=setup, teardown=teardown)
