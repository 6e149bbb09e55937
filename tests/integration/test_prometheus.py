"""
Integration tests of the `prometheus` check type (docs/checks.md) through the real binary,
against pages served on loopback by a small server in this file (what a client library
serves, gzip-encoded when asked, one behind a bearer token, a malformed one, 20,000 series) and
against opshub's own /metrics:
- values exact (series on the page, selected, dropped), selection by `match`;
- max_series: the excess is dropped and the sample degraded; max_body: down;
- a malformed page is down naming the line and column; 404 and a closed port are down;
- the series reach the event bus (opshub_events_published_total{kind="series"});
- the URL's password and the bearer token never appear in logs or API output;
- bad settings give FILE:LINE:COL errors.
"""
import gzip
import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

ENV = {}
TOKEN = h.secret("scrape-t0ken-0123456789")

PAGE = (
    "# HELP http_requests_total The total number of HTTP requests.\n"
    "# TYPE http_requests_total counter\n"
    'http_requests_total{method="get",code="200"} 1027\n'
    'http_requests_total{method="get",code="500"} 3\n'
    'http_requests_total{method="post",code="503"} 1\n'
    "# TYPE queue_depth gauge\n"
    "queue_depth 12\n"
    "# TYPE request_seconds histogram\n"
    'request_seconds_bucket{le="0.1"} 5\n'
    'request_seconds_bucket{le="+Inf"} 7\n'
    "request_seconds_sum 1.5\n"
    "request_seconds_count 7\n"
)
BAD = "ok_metric 1\nanother 2\nbroken{label=unquoted} 3\n"
MANY = "".join(f'series_{i // 100}{{n="{i}"}} {i}\n' for i in range(20000))


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, fmt, *args):  # quiet
        pass

    def do_GET(self):  # noqa: N802
        srv = self.server
        with srv.lock:
            srv.requests.append((self.path, self.headers.get("Accept-Encoding", ""),
                                 self.headers.get("Accept", ""), self.headers.get("Authorization", "")))
        body, code, gz = None, 200, False
        if self.path == "/metrics":
            body, gz = PAGE, "gzip" in self.headers.get("Accept-Encoding", "")
        elif self.path == "/bad":
            body = BAD
        elif self.path == "/many":
            body = MANY
        elif self.path == "/auth":
            if self.headers.get("Authorization", "") == f"Bearer {TOKEN}":
                body = PAGE
            else:
                body, code = "unauthorized\n", 401
        else:
            body, code = "not found\n", 404
        data = body.encode()
        if gz:
            data = gzip.compress(data)
        self.send_response(code)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        if gz:
            self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class Pages:
    def __init__(self):
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.server.lock = threading.Lock()
        self.server.requests = []
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1},
                                       daemon=True)
        self.thread.start()

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def setup():
    ENV["tmp"] = h.TempDir("opshub-prom-")
    ENV["pages"] = Pages()


def teardown():
    ENV["pages"].close()


def prom(cid, path, **kw):
    c = {"id": cid, "type": "prometheus", "url": ENV["pages"].url(path), "interval": "5s", "timeout": "3s"}
    c.update(kw)
    return c


def write(name, text):
    p = ENV["tmp"].join(name)
    with open(p, "w") as f:
        f.write(text)
    return p


def run_check(checks, name):
    p = write(name, h.make_config(checks))
    r = h.run_cli(["check", "--config", p, "--json"])
    h.check(r.stdout.strip(), f"no JSON from opshub check (rc {r.returncode}, stderr {r.stderr!r})")
    return r.returncode, {c["id"]: c for c in json.loads(r.stdout)["checks"]}


def counts(c):
    v = c["values"]
    return (v.get("scrape_samples_scraped"), v.get("scrape_samples_matched"), v.get("scrape_samples_dropped"))


# --------------------------------------------------------------------------------

def test_a_page_all_and_matched_gzip_and_bearer():
    rc, by = run_check([prom("all", "/metrics"),
                        prom("five", "/metrics", match=['http_requests_total{code=~"5.."}', "queue_depth"]),
                        prom("hist", "/metrics", match=['{__name__=~"request_seconds_.*", le!="0.1"}']),
                        prom("auth", "/auth", bearer_token=TOKEN),
                        prom("noauth", "/auth")], "page.yaml")
    h.eq((by["all"]["status"], by["all"]["code"], counts(by["all"])), ("up", 200, (8, 8, 0)), "the whole page")
    h.eq(by["all"]["values"]["scrape_body_bytes"], float(len(PAGE)), "body bytes after gzip is undone")
    h.eq(counts(by["five"]), (8, 3, 0), "two 5xx series and queue_depth")
    h.eq(counts(by["hist"]), (8, 3, 0), "the +Inf bucket, sum and count")
    h.eq((by["auth"]["status"], counts(by["auth"])), ("up", (8, 8, 0)), "with the bearer token")
    h.eq((by["noauth"]["status"], by["noauth"]["error"]), ("down", "unexpected status 401"), "without it")
    reqs = [r for r in ENV["pages"].server.requests if r[0] == "/metrics"]
    h.check(all("gzip" in enc for _, enc, _, _ in reqs), f"gzip asked for: {reqs}")
    h.check(all(acc.startswith("text/plain;version=0.0.4") for _, _, acc, _ in reqs), f"Accept: {reqs}")


def test_failures_and_limits():
    closed = h.closed_port()
    rc, by = run_check([prom("bad", "/bad"), prom("missing", "/nothing"),
                        {"id": "closed", "type": "prometheus", "url": f"http://127.0.0.1:{closed}/metrics",
                         "interval": "5s", "timeout": "3s"},
                        prom("many", "/many"), prom("many-some", "/many", match=["series_3"], max_series=50),
                        prom("small", "/many", max_body="4KiB")], "fail.yaml")
    got = {k: (c["status"], c["error"]) for k, c in by.items()}
    h.eq(got["bad"], ("down", "metrics line 3 col 14: expected '\"' to start the value of label label"),
         "a malformed page")
    h.eq(got["missing"], ("down", "unexpected status 404"), "404")
    h.eq(got["closed"], ("down", "connection refused"), "a closed port")
    h.eq(got["many"], ("degraded", "10000 series past max_series 10000 were dropped"), "the default max_series")
    h.eq(counts(by["many"]), (20000, 20000, 10000), "20,000 series, 10,000 kept")
    h.eq(got["many-some"], ("degraded", "50 series past max_series 50 were dropped"), "match then max_series")
    h.eq(counts(by["many-some"]), (20000, 100, 50), "series_3 is 100 series")
    h.eq(got["small"], ("down", "metrics body exceeds max_body (4096 bytes)"), "max_body")


def test_serve_scrapes_itself_and_publishes_series():
    port = h.free_port()
    pw = h.secret("scrape-pass-987654")
    cfg = h.make_config([
        {"id": "self", "type": "prometheus", "url": f"http://127.0.0.1:{port}/metrics", "interval": "500ms",
         "timeout": "400ms", "match": ["opshub_probes_total", '{__name__=~"process_.*"}']},
        prom("app", "/metrics", interval="500ms", timeout="400ms"),
        {"id": "withpw", "type": "prometheus",
         "url": f"http://scraper:{pw}@127.0.0.1:{ENV['pages'].port}/metrics?token={pw}",
         "interval": "500ms", "timeout": "400ms", "bearer_token": TOKEN},
    ])
    with h.Opshub(cfg, port=port) as o:
        o.start()
        s = o.wait_samples("self", 2)[0]
        h.eq(s["result"], "up", f"opshub reads its own /metrics: {s}")
        h.check(s["values"]["scrape_samples_matched"] >= 10, f"its probe and process series: {s['values']}")
        o.wait_samples("app", 2)
        o.wait_samples("withpw", 1)
        m = o.metrics()
        published = m.get("opshub_events_published_total", kind="series")
        h.check(published is not None and published >= 4, f"series batches on the bus: {published}")
        h.eq(m.get("scrape_samples_scraped", check="app", project="", type="prometheus"), 8.0, "/metrics value")
        c = o.check_json("withpw")
        h.eq(c["target"], f"http://***@127.0.0.1:{ENV['pages'].port}/metrics?***",
             "the target hides the password and the query")
        for path in ("/api/v1/checks/withpw", "/api/v1/checks", "/metrics"):
            h.assert_no_secret_in(o.get(path).text, path)
        o.stop()
        h.assert_no_secret_in(o.log_text(), "the log")


BAD_CFG = (
    "checks:\n"                                     # 1
    "  - id: a\n"                                   # 2
    "    type: prometheus\n"                        # 3
    "    url: http://127.0.0.1:9/metrics\n"         # 4
    "    match: ['up{job=~\"(\"}']\n"               # 5 bad regex
    "  - id: b\n"                                   # 6
    "    type: prometheus\n"                        # 7
    "    url: http://127.0.0.1:9/metrics\n"         # 8
    "    match: up\n"                               # 9 not a list
    "  - id: c\n"                                   # 10
    "    type: prometheus\n"                        # 11
    "    url: http://127.0.0.1:9/metrics\n"         # 12
    "    match: ['{}', 'up{job}']\n"                # 13 matches everything; no operator
    "    max_series: 0\n"                           # 14
    "  - id: d\n"                                   # 15
    "    type: prometheus\n"                        # 16 no url
)
BAD_WANT = [
    (5, 13, "match: bad regex for job: missing closing parenthesis at offset 1 (at character 4 of the selector)"),
    (9, 12, "match: expected a list of series selectors, got a string"),
    (13, 13, "match: the selector matches every series: give a metric name or a matcher that does not match the "
             "empty string (at character 1 of the selector)"),
    (13, 19, "match: expected =, !=, =~ or !~ after job (at character 7 of the selector)"),
    (14, 17, "0 is out of range (1 to 1000000)"),
    (15, 5, "prometheus check is missing 'url'"),
]


def test_bad_settings_give_file_line_col():
    p = write("bad.yaml", BAD_CFG)
    r = h.run_cli(["config", "check", "--config", p])
    h.eq(r.returncode, 2, "config check exit code")
    got = h.config_errors(r.stderr, p)
    h.eq(got, BAD_WANT, f"errors (stderr {r.stderr!r})")


if __name__ == "__main__":
    h.run(h.collect(globals()), setup=setup, teardown=teardown, test_timeout=90)
