"""
The standing attack suite: what a hostile client on the network tries, against the real
binary, bounded in time and count, on loopback only. Each test prints the figures it saw.

- Request smuggling: byte streams that RFC 9112 says to reject, sent to opshub and to a real
  nginx. Where nginx rejects a stream, opshub must reject it too (400 or 501, then close),
  and no request after the bad one is ever served.
"""
import os
import re
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


def test_zz_stops_cleanly():
    h.eq(ENV["o"].stop(), 0, "exit code after SIGTERM")


def teardown():
    for k in ("o", "nginx"):
        if k in ENV:
            ENV[k].close()


if __name__ == "__main__":
    h.run(h.collect(globals()), setup=setup, teardown=teardown)
