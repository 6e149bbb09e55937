"""
Integration tests of GET /api/v1/events (Server-Sent Events, docs/api.md) through the real
binary: a check against a real HTTP target goes down and up and the stream says so live;
reconnecting with Last-Event-ID replays exactly the events after it; an id the process never
issued gets a `reset`; filters; credentials and roles; and shutdown with streams open.
"""
import json
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

ENV = {}


class Sse:
    """A raw SSE client: the head is parsed, then events are read as they come."""

    def __init__(self, port, path, token=None, headers=None, timeout=10):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        lines = [f"GET {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Accept: text/event-stream"]
        if token:
            lines.append(f"Authorization: Bearer {token}")
        for k, v in (headers or {}).items():
            lines.append(f"{k}: {v}")
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            h.check(chunk, f"connection closed before the head: {self.buf!r}")
            self.buf += chunk
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        head = head.decode()
        self.status = int(head.split(" ", 2)[1])
        self.headers = {}
        for ln in head.split("\r\n")[1:]:
            k, v = ln.split(":", 1)
            self.headers[k.strip().lower()] = v.strip()
        self.closed = False

    def next(self, timeout=10):
        """The next event as {"event", "id", "data", "retry"} (comments skipped); None when
        the server closed the stream."""
        deadline = time.monotonic() + timeout
        while True:
            if b"\n\n" in self.buf:
                block, self.buf = self.buf.split(b"\n\n", 1)
                ev = {"event": "message", "id": None, "data": None}
                fields = 0
                for ln in block.decode().split("\n"):
                    if ln.startswith(":"):
                        continue
                    k, _, v = ln.partition(": ")
                    ev[k] = v
                    fields += 1
                if fields and ev.get("data") is not None:
                    ev["json"] = json.loads(ev["data"])
                    return ev
                continue
            left = deadline - time.monotonic()
            if left <= 0:
                raise h.WaitTimeout(f"no event in {timeout}s; buffered {self.buf[-300:]!r}")
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                continue
            if not chunk:
                self.closed = True
                return None
            self.buf += chunk

    def until(self, pred, timeout=15, what="event"):
        deadline = time.monotonic() + timeout
        seen = []
        while time.monotonic() < deadline:
            ev = self.next(timeout=max(0.1, deadline - time.monotonic()))
            h.check(ev is not None, f"stream closed while waiting for {what}; seen {seen[-5:]}")
            seen.append(ev)
            if pred(ev):
                return ev, seen
        raise h.WaitTimeout(f"no {what} in {timeout}s; seen {[(e['event'], e['id']) for e in seen[-10:]]}")

    def close(self):
        self.sock.close()


def seq_of(ev):
    return int(ev["id"].split("-")[1])


def setup():
    ENV["target"] = h.Target()
    t = ENV["target"]
    checks = [h.http_check("web", t.url("/flip"), interval="300ms", timeout="250ms", project="shop"),
              h.http_check("other", t.url("/ok"), interval="300ms", timeout="250ms")]
    projects = [{"id": "shop", "name": "Shop"}]
    ENV["o"] = o = h.Opshub(h.make_config(checks, projects=projects))
    o.start()
    ENV["viewer"] = o.create_token(role="viewer")
    o.wait_token(ENV["viewer"])


def teardown():
    if "o" in ENV:
        ENV["o"].stop()


def stream(path="/api/v1/events", token=None, **kw):
    o = ENV["o"]
    return Sse(o.cur_port, path, token=token or ENV["viewer"], **kw)


def test_head_hello_and_samples():
    s = stream()
    try:
        h.eq(s.status, 200, "status")
        h.eq(s.headers.get("content-type"), "text/event-stream; charset=utf-8", "content type")
        h.check("content-length" not in s.headers, f"a stream has no Content-Length: {s.headers}")
        h.eq(s.headers.get("cache-control"), "no-store", "cache-control")
        h.eq(s.headers.get("x-accel-buffering"), "no", "nginx buffering off")
        hello = s.next()
        h.eq(hello["event"], "hello", "first event")
        h.eq(hello.get("retry"), "3000", "retry hint")
        h.eq(hello["json"]["id"], hello["id"], "hello names its id")
        ev, _ = s.until(lambda e: e["event"] == "sample" and e["json"]["check"] == "web", what="a sample of web")
        d = ev["json"]
        for k in ("check", "name", "project", "status", "previous", "result", "latency_ms", "at", "ts_ms",
                  "values", "uptime_24h"):
            h.check(k in d, f"event data has {k}: {d}")
        h.eq(d["project"], "shop", "project")
        h.eq(d["result"], "up", "result")
        h.eq(d["error"], None, "no error on an up sample")
        h.check(seq_of(ev) > seq_of(hello), "ids increase")
    finally:
        s.close()


def test_a_check_going_down_arrives_live_then_back_up():
    t = ENV["target"]
    s = stream()
    try:
        s.until(lambda e: e["event"] == "hello")
        t.flip_status = 500
        ev, seen = s.until(lambda e: e["event"] == "status" and e["json"]["check"] == "web", what="web going down")
        h.eq(ev["json"]["status"], "down", "new status")
        h.eq(ev["json"]["previous"], "up", "previous status")
        h.check(ev["json"]["error"], "a down sample carries its error")
        # The status event follows the sample event that caused it, with the next id.
        prior = [e for e in seen if e["event"] == "sample" and e["json"]["check"] == "web"]
        h.check(prior and prior[-1]["json"]["result"] == "down", "the down sample came first")
        h.eq(seq_of(ev), seq_of(prior[-1]) + 1, "status right after its sample")
        t.flip_status = 200
        ev, _ = s.until(lambda e: e["event"] == "status" and e["json"]["check"] == "web", what="web back up")
        h.eq((ev["json"]["previous"], ev["json"]["status"]), ("down", "up"), "recovery")
    finally:
        t.flip_status = 200
        s.close()


def test_last_event_id_replays_exactly_what_was_missed():
    s = stream()
    ev, _ = s.until(lambda e: e["event"] == "sample", what="a sample")
    last = ev["id"]
    s.close()
    time.sleep(1.5)  # several samples happen while no one listens
    s = stream(headers={"Last-Event-ID": last})
    try:
        hello = s.next()
        h.eq((hello["event"], hello["id"]), ("hello", last), "hello restates the resume point")
        got = [s.next() for _ in range(4)]
        h.eq([e["event"] in ("sample", "status") for e in got], [True] * 4, "replayed events")
        want = list(range(seq_of(ev) + 1, seq_of(ev) + 5))
        h.eq([seq_of(e) for e in got], want, "the events right after Last-Event-ID, in order, none missing")
    finally:
        s.close()
    # The same through ?last_event_id= (a page that reloads).
    s = stream(path=f"/api/v1/events?last_event_id={last}")
    try:
        s.next()
        h.eq(seq_of(s.next()), seq_of(ev) + 1, "query parameter resumes the same way")
    finally:
        s.close()


def test_an_id_from_another_process_or_malformed_gets_reset():
    for bad in ("00000000-5", "zz", "1-", "-1", "ffffffff-18446744073709551615", "x" * 60):
        s = stream(headers={"Last-Event-ID": bad})
        try:
            h.eq(s.next()["event"], "hello", f"hello first ({bad})")
            r = s.next()
            h.eq(r["event"], "reset", f"reset after unknown id {bad!r}")
            h.eq(r["json"], {}, "reset data")
            nxt = s.next()
            h.check(nxt["event"] in ("sample", "status"), f"live events follow the reset ({bad})")
        finally:
            s.close()


def test_filters():
    s = stream(path="/api/v1/events?check=other")
    try:
        s.next()
        for _ in range(5):
            h.eq(s.next()["json"]["check"], "other", "check filter")
    finally:
        s.close()
    s = stream(path="/api/v1/events?project=shop")
    try:
        s.next()
        for _ in range(4):
            h.eq(s.next()["json"]["project"], "shop", "project filter")
    finally:
        s.close()
    o = ENV["o"]
    r = o.get("/api/v1/events?check=nope", auth=ENV["viewer"])
    h.eq(r.status, 404, "unknown check")
    h.eq(r.json()["error"]["field"], "check", "error names the parameter")


def test_credentials_are_required():
    o = ENV["o"]
    r = o.get("/api/v1/events", auth=False)
    h.eq(r.status, 401, "no credentials")
    r = o.get("/api/v1/events", auth="not-a-token")
    h.eq(r.status, 401, "bad token")


def test_many_streams_get_every_status_change_and_metrics_count_them():
    t = ENV["target"]
    streams = [stream() for _ in range(20)]
    try:
        for s in streams:
            h.eq(s.next()["event"], "hello", "hello")
        t.flip_status = 503
        for s in streams:
            ev, _ = s.until(lambda e: e["event"] == "status" and e["json"]["check"] == "web", what="down")
            h.eq(ev["json"]["status"], "down", "every stream sees the change")
        t.flip_status = 200
        m = ENV["o"].metrics()
        h.check(m.get("opshub_events_streams") >= 20, f"open streams gauge {m.get('opshub_events_streams')}")
        h.check(m.get("opshub_events_total") > 0, "events counted")
    finally:
        t.flip_status = 200
        for s in streams:
            s.close()


def test_zz_shutdown_ends_open_streams_promptly():
    s = stream()
    try:
        s.next()
        t0 = time.monotonic()
        ENV["o"].stop()
        while s.next(timeout=10) is not None:
            pass
        h.check(time.monotonic() - t0 < 5, "the stream ended with the shutdown")
    finally:
        s.close()
        del ENV["o"]


if __name__ == "__main__":
    h.run(h.collect(globals()), setup=setup, teardown=teardown, test_timeout=60)
