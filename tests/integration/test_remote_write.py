"""
Integration tests of remote_write (docs/alerts.md, remote_write) through the real binary:
- against a real Prometheus started with --web.enable-remote-write-receiver: check series and
  ALERTS arrive, with the external_labels (which templates see as $externalLabels); the raw samples Prometheus holds are the ones
  opshub holds, timestamp for timestamp and value for value;
- Prometheus killed and started again on the same port: the requests are retried with backoff
  (counted), the samples wait in the queue, and afterwards Prometheus holds every sample of the
  outage (nothing lost, nothing out of order);
- a remote that answers 400: the batch is dropped and counted, never retried; the request has
  the protocol's headers (snappy, protobuf, version 0.1.0), the bearer token and the custom
  header; the other remote goes on;
- a remote that is away with a small queue: the oldest samples are dropped and counted, the
  queue stays within its capacity;
- bad remote_write entries are refused with FILE:LINE:COL; credentials never reach the log.
"""
import os
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
from test_query_api import Page  # noqa: E402

PASSWORD = h.secret("rw-basic-password-5521")
TOKEN = h.secret("rw-bearer-token-7731")


class Recorder:
    """Answers every POST with `code` and records (path, headers, body length)."""

    def __init__(self, code):
        rec = self
        self.code, self.requests, self.lock = code, [], threading.Lock()

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with rec.lock:
                    rec.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}, len(body)))
                msg = b"bad labels: out of order sample\n"
                self.send_response(rec.code)
                self.send_header("Content-Length", str(len(msg)))
                self.end_headers()
                self.wfile.write(msg)

        self.srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.port = self.srv.server_address[1]
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def count(self):
        with self.lock:
            return len(self.requests)

    def close(self):
        self.srv.shutdown()
        self.srv.server_close()


EXTERNAL = {"replica": "a", "region": "eu-1"}


def raw(get_json, sel, at, window="6s", drop=()):
    """The raw samples of a range selector at `at`: {labels: [(t, v), ...]}, without the
    labels named in drop (Prometheus holds the external labels too)."""
    q = urllib.parse.urlencode({"query": f"{sel}[{window}]", "time": f"{at:.3f}"})
    r = get_json("/api/v1/query?" + q)
    h.eq(r["status"], "success", f"query {sel}")
    return {tuple(sorted((k, v) for k, v in s["metric"].items() if k not in drop)):
            [(float(t), v) for t, v in s["values"]] for s in r["data"]["result"]}


def config(page_port, prom_port, rec_port):
    return h.make_config(
        [h.http_check("api", f"http://127.0.0.1:{page_port}/", interval="200ms", timeout="150ms", project="shop")],
        projects=[{"id": "shop", "name": "Shop"}]) + (
        "evaluation_interval: 300ms\n"
        "external_labels: {replica: a, region: eu-1}\n"
        "alerts:\n"
        "  - {alert: AlwaysOn, expr: 'vector(1)', labels: {severity: info},\n"
        "     annotations: {where: '{{ $externalLabels.replica }} in {{ $externalLabels.region }}'}}\n"
        "remote_write:\n"
        f"  - url: http://127.0.0.1:{prom_port}/api/v1/write\n"
        "    name: prom\n"
        "    headers: {X-Scope-OrgID: team-a}\n"
        "    basic_auth: {username: opshub, password: '${RW_PASS}'}\n"
        "    queue_config: {batch_send_deadline: 200ms, min_backoff: 50ms, max_backoff: 400ms}\n"
        f"  - url: http://127.0.0.1:{rec_port}/receive\n"
        "    name: refuser\n"
        "    bearer_token: '${RW_TOKEN}'\n"
        "    headers: {X-Scope-OrgID: team-b}\n"
        "    queue_config: {batch_send_deadline: 200ms}\n")


def test_remote_write_to_a_real_prometheus():
    prom = h.Prometheus("global: {scrape_interval: 1h}\n", extra=["--web.enable-remote-write-receiver"]).start()
    rec = Recorder(400)
    page = Page()
    page.set("ok\n")
    o = h.track(h.Opshub(config(page.port, prom.port, rec.port), env={"RW_PASS": PASSWORD, "RW_TOKEN": TOKEN}))
    try:
        o.start()

        def pq(path):
            status, body = prom.get_json(path)
            return body

        def prom_has(q):
            r = pq("/api/v1/query?" + urllib.parse.urlencode({"query": q}))
            return r["status"] == "success" and len(r["data"]["result"]) > 0

        h.wait_for(lambda: prom_has('probe_success{check="api"} == 1'), 15, "probe_success in Prometheus")
        # every series carries the external labels there; the alert's template sees them
        h.check(prom_has('probe_success{check="api",replica="a",region="eu-1"}'), "external labels on the series")
        h.check(not prom_has('probe_success{check="api",replica=""}'), "no series without them")
        h.wait_for(lambda: any(a["labels"]["alertname"] == "AlwaysOn"
                               for a in o.get_json("/api/v1/alerts")["data"]["alerts"]), 10, "AlwaysOn in opshub")
        ann = [a["annotations"] for a in o.get_json("/api/v1/alerts")["data"]["alerts"]
               if a["labels"]["alertname"] == "AlwaysOn"][0]
        h.eq(ann, {"where": "a in eu-1"}, "$externalLabels in an annotation")
        h.wait_for(lambda: prom_has('opshub_check_status{check="api",project="shop"}'), 5, "the status series")
        h.wait_for(lambda: prom_has('ALERTS{alertname="AlwaysOn",alertstate="firing",severity="info"}'), 10,
                   "ALERTS written by the rule engine")
        # sample for sample, the same data
        time.sleep(3)
        at = time.time() - 1.0
        for sel in ('probe_success{check="api"}', 'probe_duration_seconds{check="api"}',
                    'ALERTS_FOR_STATE{alertname="AlwaysOn"}'):
            mine = raw(o.get_json, sel, at)
            theirs = raw(pq, sel, at, drop=EXTERNAL)
            h.check(len(next(iter(mine.values()), [])) >= 5, f"{sel}: opshub holds samples ({mine})")
            h.eq(theirs, mine, f"{sel}: Prometheus holds exactly opshub's samples")
        m = o.metrics()
        h.check(m.get("opshub_remote_write_samples_total", remote="prom") > 50, "samples sent counted")
        h.check(m.get("opshub_remote_write_last_success_timestamp_seconds", remote="prom") > time.time() - 10,
                "last success")
        h.eq(m.get("opshub_remote_write_retries_total", remote="prom"), 0, "no retry while Prometheus is up")

        # the refuser: 400 drops the batch, no retry; the protocol's headers, the token
        h.wait_for(lambda: rec.count() >= 3, 10, "batches to the refuser")
        path, headers, n = rec.requests[0]
        h.eq(path, "/receive", "the remote's path")
        h.eq(headers.get("content-encoding"), "snappy", "Content-Encoding")
        h.eq(headers.get("content-type"), "application/x-protobuf", "Content-Type")
        h.eq(headers.get("x-prometheus-remote-write-version"), "0.1.0", "the protocol's version header")
        h.eq(headers.get("authorization"), f"Bearer {TOKEN}", "the bearer token")
        h.eq(headers.get("x-scope-orgid"), "team-b", "a custom header")
        h.check(headers.get("user-agent", "").startswith("opshub/"), "User-Agent")
        h.check(n > 10, "a body")
        m = o.metrics()
        h.eq(m.get("opshub_remote_write_retries_total", remote="refuser"), 0, "400 is not retried")
        h.check(m.get("opshub_remote_write_samples_failed_total", remote="refuser") > 0, "refused samples counted")
        h.eq(m.get("opshub_remote_write_requests_total", remote="refuser"), float(rec.count()),
             "one request per batch")
        h.contains(o.log_text(), "bad labels: out of order sample", "the remote's answer in the log")

        # Prometheus goes away for a while, then comes back: every sample of the outage arrives
        t_kill = time.time()
        prom.kill()
        h.wait_for(lambda: o.metrics().get("opshub_remote_write_retries_total", remote="prom") >= 3, 10,
                   "retries with backoff while Prometheus is away")
        time.sleep(2)
        h.check(o.metrics().get("opshub_remote_write_queue_samples", remote="prom") > 20, "samples wait in the queue")
        prom.start(port=prom.port)
        t_back = time.time()
        h.wait_for(lambda: o.metrics().get("opshub_remote_write_queue_samples", remote="prom") < 50
                   and prom_has('probe_success{check="api"}'), 20, "the queue drained after Prometheus returned")
        time.sleep(1.5)
        window = f"{int(time.time() - t_kill + 2)}s"
        at = time.time() - 1.0
        mine = raw(o.get_json, 'probe_success{check="api"}', at, window)
        theirs = raw(pq, 'probe_success{check="api"}', at, window, drop=EXTERNAL)
        got = next(iter(mine.values()))
        h.check(sum(1 for t, _ in got if t_kill <= t <= t_back) >= 10, "samples during the outage in opshub")
        h.eq(theirs, mine, "Prometheus holds every sample of the outage")
        m = o.metrics()
        h.eq(m.get("opshub_remote_write_samples_dropped_total", remote="prom", reason="queue_full"), 0, "none dropped")
        h.eq(m.get("opshub_remote_write_samples_failed_total", remote="prom"), 0, "none refused")
        o.stop()
    finally:
        o.kill()
        prom.close()
        rec.close()
        page.close()


def test_a_full_queue_drops_the_oldest():
    page = Page()
    page.set("ok\n")
    port = h.free_port()   # nothing listens there
    cfg = h.make_config([h.http_check("api", f"http://127.0.0.1:{page.port}/", interval="100ms", timeout="90ms")]) + (
        "remote_write:\n"
        f"  - url: http://127.0.0.1:{port}/api/v1/write\n"
        "    queue_config: {capacity: 100, max_samples_per_send: 50, batch_send_deadline: 50ms,\n"
        "                   min_backoff: 20ms, max_backoff: 100ms}\n")
    o = h.track(h.Opshub(cfg))
    try:
        o.start()
        name = f"127.0.0.1:{port}"
        h.wait_for(lambda: (o.metrics().get("opshub_remote_write_samples_dropped_total", remote=name,
                                            reason="queue_full") or 0) > 0, 15, "the oldest dropped")
        m = o.metrics()
        h.check(m.get("opshub_remote_write_queue_samples", remote=name) <= 100 + 50,
                "the queue within its capacity (plus the batch being retried)")
        h.check(m.get("opshub_remote_write_retries_total", remote=name) >= 2, "connection refused is retried")
        h.eq(m.get("opshub_remote_write_samples_total", remote=name), 0, "nothing sent")
        o.stop()
    finally:
        o.kill()
        page.close()


BAD = """checks:
  - {id: api, type: http, url: 'http://127.0.0.1:9/'}
remote_write:
  - name: nourl
  - url: 'ftp://127.0.0.1/write'
  - url: 'http://127.0.0.1:9/write'
    write_relabel_configs: []
    headers: {Content-Type: text/plain}
    basic_auth: {username: a}
    queue_config: {capacity: 10, max_shards: 4}
  - url: 'http://127.0.0.1:9/write'
    basic_auth: {username: a, password: b}
    bearer_token: c
    remote_timeout: 1h
"""


def test_bad_remote_write_is_refused_with_its_place():
    tmp = h.TempDir("opshub-rw-bad-")
    path = tmp.join("opshub.yaml")
    with open(path, "w") as f:
        f.write(BAD)
    r = h.run_cli(["config", "check", "--config", path])
    h.eq(r.returncode, 2, f"config check exit code: {r.stdout}{r.stderr}")
    out = r.stdout + r.stderr
    for line, col, text in ((4, 5, "remote_write is missing 'url'"),
                            (5, 10, "http"),
                            (7, 5, "remote_write.write_relabel_configs is not supported"),
                            (8, 15, "this header is set by opshub"),
                            (9, 5, "basic_auth needs username and password"),
                            (10, 30, "10 is out of range (100 to 10000000)"),
                            (10, 34, "queue_config.max_shards is not supported"),
                            (13, 5, "give basic_auth or bearer_token, not both"),
                            (14, 21, "remote_timeout must be from 100ms to 10m")):
        h.contains(out, f"{path}:{line}:{col}", f"an error at {line}:{col} ({text})")
        h.contains(out, text, f"the error at {line}:{col}")


BAD_EXTERNAL = """checks:
  - {id: api, type: http, url: 'http://127.0.0.1:9/'}
external_labels: {__replica: a, 9x: b, ok: ''}
"""


def test_bad_external_labels_are_refused():
    tmp = h.TempDir("opshub-ext-bad-")
    path = tmp.join("opshub.yaml")
    with open(path, "w") as f:
        f.write(BAD_EXTERNAL)
    r = h.run_cli(["config", "check", "--config", path])
    out = r.stdout + r.stderr
    h.eq(r.returncode, 2, f"config check: {out}")
    for text in ("reserved", "starts with a letter", "an empty value"):
        h.contains(out, text, f"the error about {text}")
    h.contains(out, f"{path}:3:", "errors at line 3")


if __name__ == "__main__":
    h.run(h.collect(globals()))
