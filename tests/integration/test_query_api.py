"""
Integration tests of the series store and the Prometheus HTTP API (docs/promql.md) through the
real binary, with a page served on loopback that the test changes while opshub scrapes it:
- check samples become probe_success / probe_duration_seconds / opshub_check_status series with
  check, project and type labels; scraped series get job and instance (a scraped job label is
  kept as exported_job), plus up and scrape_* as Prometheus writes them;
- staleness: a series that leaves the page is gone at once (not after 5 minutes); a page that
  fails makes up 0 and every scraped series stale;
- /api/v1/query, /api/v1/query_range (GET and a POST form), /api/v1/series, /api/v1/labels,
  /api/v1/label/{name}/values answer in Prometheus' shapes;
- every bad parameter and query is a 400 bad_data naming the problem (LINE:COL for a query),
  an ambiguous match a 422 execution error; reads by POST leave no audit row; a viewer may
  query, nobody without credentials;
- bad series: settings are FILE:LINE:COL errors.
The values of PromQL itself are proven against Prometheus in test_promql_diff.py.
"""
import os
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, fmt, *args):  # quiet
        pass

    def do_GET(self):  # noqa: N802
        srv = self.server
        with srv.lock:
            body, code = srv.page, srv.code
            srv.scrapes += 1
        data = body.encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class Page:
    def __init__(self):
        self.srv = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.srv.lock = threading.Lock()
        self.srv.page = ""
        self.srv.code = 200
        self.srv.scrapes = 0
        self.port = self.srv.server_address[1]
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()
        h.track(self)

    def set(self, page, code=200):
        with self.srv.lock:
            self.srv.page, self.srv.code = page, code
            n = self.srv.scrapes
        return n

    def scrapes(self):
        with self.srv.lock:
            return self.srv.scrapes

    def log_text(self):
        return f"page served: {self.scrapes()} scrapes"

    def close(self):
        self.srv.shutdown()
        self.srv.server_close()


PAGE = ("# TYPE jobs_total counter\n"
        'jobs_total{queue="mail"} 10\n'
        'jobs_total{queue="sms"} 4\n'
        "# TYPE temp gauge\n"
        'temp{job="boiler"} 71.5\n')


def config(port):
    return h.make_config(
        [{"id": "app", "type": "prometheus", "url": f"http://127.0.0.1:{port}/metrics", "interval": "200ms",
          "project": "shop"},
         h.http_check("web", f"http://127.0.0.1:{port}/metrics", interval="200ms", timeout="150ms",
                      project="shop")],
        projects=[{"id": "shop", "name": "Shop"}])


def query(o, q, **params):
    params["query"] = q
    return o.get_json("/api/v1/query?" + urllib.parse.urlencode(params))


def vector(o, q):
    """{frozenset(labels): value} of an instant query now."""
    r = query(o, q)
    h.eq(r["status"], "success", "status")
    h.eq(r["data"]["resultType"], "vector", f"resultType of {q}")
    return {frozenset(s["metric"].items()): s["value"][1] for s in r["data"]["result"]}


def start():
    page = Page()
    page.set(PAGE)
    o = h.track(h.Opshub(config(page.port)))
    o.start()
    h.wait_for(lambda: vector(o, "up") and vector(o, "probe_success"), 15, "up and probe_success series")
    return page, o


def test_series_from_checks_and_scrapes():
    page, o = start()
    inst = f"127.0.0.1:{page.port}"
    up = vector(o, "up")
    h.eq(up, {frozenset({"__name__": "up", "job": "app", "instance": inst}.items()): "1"}, "up")
    ps = vector(o, 'probe_success{check="web"}')
    h.eq(ps, {frozenset({"__name__": "probe_success", "check": "web", "project": "shop",
                         "type": "http"}.items()): "1"}, "probe_success of the http check")
    h.check(vector(o, 'opshub_check_status{check="app"}'), "opshub_check_status")
    dur = vector(o, 'probe_duration_seconds{check="web"}')
    h.check(0 < float(list(dur.values())[0]) < 5, f"probe_duration_seconds {dur}")
    jobs = vector(o, "jobs_total")
    h.eq(jobs, {frozenset({"__name__": "jobs_total", "queue": "mail", "job": "app", "instance": inst}.items()): "10",
                frozenset({"__name__": "jobs_total", "queue": "sms", "job": "app", "instance": inst}.items()): "4"},
         "scraped counters with job and instance")
    h.eq(vector(o, "temp"), {frozenset({"__name__": "temp", "exported_job": "boiler", "job": "app",
                                        "instance": inst}.items()): "71.5"}, "a scraped job label kept as exported_job")
    h.eq(vector(o, 'scrape_samples_scraped{job="app"}'),
         {frozenset({"__name__": "scrape_samples_scraped", "job": "app", "instance": inst}.items()): "3"},
         "scrape_samples_scraped as Prometheus writes it (the check type's own value is beside it)")
    # a series that leaves the page is stale at once
    page.set("# TYPE jobs_total counter\n" 'jobs_total{queue="mail"} 12\n')
    h.wait_for(lambda: len(vector(o, "jobs_total")) == 1 and not vector(o, "temp"), 10,
               "the series gone from the page to be stale")
    h.eq(list(vector(o, "jobs_total").values()), ["12"], "the remaining series' new value")
    # a failing page: up 0, every scraped series stale
    page.set("oops\n", code=500)
    h.wait_for(lambda: list(vector(o, "up").values()) == ["0"], 10, "up 0 after a failed scrape")
    h.eq(vector(o, "jobs_total"), {}, "scraped series after a failed scrape")
    h.eq(list(vector(o, 'probe_success{check="app"}').values()), ["0"], "probe_success of the failing scrape")
    # a check that leaves the configuration: its series are stale at once
    page.set(PAGE)
    h.wait_for(lambda: list(vector(o, "up").values()) == ["1"], 10, "up 1 again")
    o.reload(h.make_config([h.http_check("web", f"http://127.0.0.1:{page.port}/metrics", interval="200ms",
                                         timeout="150ms", project="shop")], projects=[{"id": "shop", "name": "Shop"}]))
    h.wait_for(lambda: not vector(o, "up") and not vector(o, 'probe_success{check="app"}'), 10,
               "the removed check's series to be stale")
    h.eq(vector(o, "jobs_total"), {}, "scraped series of the removed check")
    h.eq(list(vector(o, 'probe_success{check="web"}').values()), ["1"], "the remaining check's series")
    m = o.metrics()
    h.check(m.get("opshub_series") >= 8, "opshub_series counts the series")
    h.check(m.get("opshub_series_appended_total") > 20, "opshub_series_appended_total")
    h.check(m.get("opshub_series_memory_bytes") > 1000, "opshub_series_memory_bytes")
    o.stop()


def test_query_api_shapes():
    page, o = start()
    now = time.time()
    r = query(o, "1 + 2", time=f"{now:.3f}")
    h.eq(r["data"]["resultType"], "scalar", "scalar result")
    h.eq(r["data"]["result"][1], "3", "scalar value")
    h.check(abs(r["data"]["result"][0] - round(now, 3)) < 0.002, f"scalar time {r['data']['result'][0]} vs {now}")
    r = query(o, '"text"')
    h.eq(r["data"], {"resultType": "string", "result": [r["data"]["result"][0], "text"]}, "string result")
    h.wait_for(lambda: len(query(o, "up[2s]")["data"]["result"][0]["values"]) >= 3, 10, "three scrapes")
    r = query(o, "up[2s]")
    h.eq(r["data"]["resultType"], "matrix", "a range selector's instant query")
    h.check(all(v[1] == "1" for v in r["data"]["result"][0]["values"]), "raw samples of up[2s]")
    r = query(o, "1 / 0")
    h.eq(r["data"]["result"][1], "+Inf", "+Inf as Prometheus writes it")
    r = query(o, "0 / 0")
    h.eq(r["data"]["result"][1], "NaN", "NaN")
    # query_range by GET with a duration step, and by POST with a form and a float step (once there
    # are 2 s of samples)
    started = time.time()
    h.wait_for(lambda: time.time() - started > 2.5, 5, "2 s of samples")
    end = time.time()
    qs = urllib.parse.urlencode({"query": 'probe_success{check="web"}', "start": f"{end - 2:.3f}",
                                 "end": f"{end:.3f}", "step": "500ms"})
    r = o.get_json(f"/api/v1/query_range?{qs}")
    h.eq(r["data"]["resultType"], "matrix", "query_range resultType")
    h.eq(len(r["data"]["result"][0]["values"]), 5, "points of 2 s at 500 ms")
    form = urllib.parse.urlencode({"query": "sum(probe_success)", "start": f"{end - 2:.3f}", "end": f"{end:.3f}",
                                   "step": "1"})
    rr = o.post("/api/v1/query_range", body=form, headers={"Content-Type": "application/x-www-form-urlencoded"})
    h.eq(rr.status, 200, f"POST query_range: {rr.body[:300]!r}")
    res = rr.json()["data"]["result"]
    h.eq(res[0]["metric"], {}, "sum() has no labels")
    h.eq([v[1] for v in res[0]["values"]], ["2", "2", "2"], "sum(probe_success) of two checks up")
    # series, labels, label values
    r = o.get_json("/api/v1/series?" + urllib.parse.urlencode({"match[]": "jobs_total"}))
    h.eq(sorted(s["queue"] for s in r["data"]), ["mail", "sms"], "series of jobs_total")
    r = o.get_json("/api/v1/series?" + urllib.parse.urlencode([("match[]", "up"), ("match[]", "temp")]))
    h.eq(sorted(s["__name__"] for s in r["data"]), ["temp", "up"], "series of two match[]")
    r = o.get_json("/api/v1/labels")
    for name in ("__name__", "check", "exported_job", "instance", "job", "project", "queue", "type"):
        h.contains(r["data"], name, "label names")
    h.eq(r["data"], sorted(r["data"]), "label names sorted")
    r = o.get_json("/api/v1/label/queue/values")
    h.eq(r["data"], ["mail", "sms"], "values of queue")
    r = o.get_json("/api/v1/label/__name__/values?" + urllib.parse.urlencode({"match[]": '{job="app"}'}))
    h.eq(r["data"], ["jobs_total", "scrape_duration_seconds", "scrape_samples_scraped", "temp", "up"],
         "metric names of job app")
    rr = o.post("/api/v1/labels", body="match[]=up", headers={"Content-Type": "application/x-www-form-urlencoded"})
    h.eq(rr.json()["data"], ["__name__", "instance", "job"], "POST labels with match[]")
    # a viewer may query; no credentials may not
    viewer = o.create_token("viewer")
    o.wait_token(viewer)
    h.eq(o.get("/api/v1/query?query=up", auth=viewer).status, 200, "viewer query")
    h.eq(o.get("/api/v1/query?query=up", auth=False).status, 401, "query without credentials")
    # reads by POST leave no audit row: a mutation after them is audited, they are not
    h.eq(o.post("/api/v1/checks/web/run").status, 200, "run now")
    entries = h.wait_for(lambda: [e for e in o.get_json("/api/v1/audit?limit=1000")["entries"]
                                  if e["action"] == "check.run"] and o.get_json("/api/v1/audit?limit=1000")["entries"],
                         10, "the audit row of run now")
    h.eq([e["action"] for e in entries if "/api/v1/query" in e["action"] or "/api/v1/labels" in e["action"]
          or "query" in e["action"]], [], "audit rows of POST reads")
    o.stop()


def bad(o, path, want_status, want_in, method="GET", body=None):
    if method == "GET":
        r = o.get(path)
    else:
        r = o.post(path, body=body, headers={"Content-Type": "application/x-www-form-urlencoded"})
    h.eq(r.status, want_status, f"{method} {path}: {r.body[:300]!r}")
    j = r.json()
    h.eq(j["status"], "error", "status")
    h.eq(j["errorType"], "bad_data" if want_status == 400 else "execution", f"errorType of {path}")
    h.contains(j["error"], want_in, f"error of {path}")


def test_query_api_errors():
    page, o = start()
    q = urllib.parse.quote
    bad(o, "/api/v1/query", 400, "no query given")
    bad(o, "/api/v1/query?query=" + q("rate(x[5m]"), 400, "1:11: parse error: unexpected end of input")
    bad(o, "/api/v1/query?query=" + q("sum by (a) ("), 400, "parse error")
    bad(o, "/api/v1/query?query=" + q('foo{a=~"("}'), 400, "missing closing parenthesis")
    bad(o, "/api/v1/query?query=" + q("nofunc(up)"), 400, 'unknown function with name "nofunc"')
    bad(o, "/api/v1/query?query=" + q("up\n + @"), 400, "2:4: parse error")
    bad(o, "/api/v1/query?query=up&time=yesterday", 400, 'invalid parameter "time"')
    bad(o, "/api/v1/query_range?query=up&start=10&end=5&step=1", 400, "end timestamp must not be before start")
    bad(o, "/api/v1/query_range?query=up&start=0&end=5&step=0", 400, "zero or negative query resolution")
    bad(o, "/api/v1/query_range?query=up&start=0&end=100000&step=1", 400, "11,000 points")
    bad(o, "/api/v1/query_range?query=up&end=5&step=1", 400, 'invalid parameter "start"')
    bad(o, "/api/v1/query_range?query=up&start=0&end=5&step=fast", 400, 'invalid parameter "step"')
    bad(o, "/api/v1/query_range?query=up[5m]&start=0&end=5&step=1", 400, 'invalid expression type "range vector"')
    bad(o, "/api/v1/series", 400, "no match[] parameter provided")
    bad(o, "/api/v1/series?" + urllib.parse.urlencode({"match[]": "up + 1"}), 400, "not a series selector")
    bad(o, "/api/v1/labels?" + urllib.parse.urlencode({"match[]": "{"}), 400, 'invalid parameter "match[]"')
    bad(o, "/api/v1/query", 400, "1:1: parse error", method="POST", body="query=%29")
    # ambiguous matching is an execution error (both sides have job="app" twice)
    bad(o, "/api/v1/query?query=" + q("jobs_total + on(job) jobs_total"), 422, "many-to-many matching not allowed")
    # the server keeps running and answering
    h.eq(list(vector(o, "up").values()), ["1"], "up after the errors")
    o.stop()


def test_series_settings_errors():
    tmp = h.TempDir("opshub-series-")
    path = tmp.join("opshub.yaml")
    with open(path, "w") as f:
        f.write("series:\n  window: 1s\n  max_series: 0\n  max_memory: 12\n  retention: 1h\n")
    r = h.run_cli(["config", "check", "--config", path])
    h.eq(r.returncode, 2, f"config check exit: {r.stderr}")
    errs = h.config_errors(r.stderr, path)
    h.contains(r.stderr, f"{path}:2:11: window must be from 1m to 7d", "window error")
    h.contains(r.stderr, f"{path}:3:15:", "max_series error")
    h.contains(r.stderr, f"{path}:4:15: max_memory must be at least 1MiB", "max_memory error")
    h.contains(r.stderr, f"{path}:5:3: unknown key 'retention'", "unknown key")
    h.check(len(errs) >= 4, f"four errors: {errs}")
    with open(path, "w") as f:
        f.write("series:\n  window: 2h\n  max_series: 5000\n  max_memory: 64MiB\n")
    r = h.run_cli(["config", "check", "--config", path])
    h.eq(r.returncode, 0, f"valid series settings: {r.stderr}")


if __name__ == "__main__":
    h.run(h.collect(globals()))
