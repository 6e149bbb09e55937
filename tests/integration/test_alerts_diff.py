"""
Alert timing against the reference: a real Prometheus (Debian's 2.42) and opshub load the same
rule file and scrape the same exporter every 250 ms; the test drives two gauges and a counter over
thresholds and back, polls both alert APIs every 50 ms, and compares, for each alert (name and
labels: eight of them, from thresholds per series, `for`, `keep_firing_for`, an aggregation, a
`rate` over the counter and a one-to-one ratio), that both raised the same ones, and activeAt,
when each was first seen firing and when it was last seen (resolution): within one evaluation
interval (1 s) plus one scrape interval, as the issue asks. It also checks the semantics on
both: `for: 3s` fires at least 3 s after activeAt, keep_firing_for holds an alert 2 s past its
condition, and a recording rule gives the same value.
# ctest: RUN_SERIAL
"""
# ctest: COST 22
import datetime
import os
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

RULES = """groups:
  - name: timing
    interval: 1s
    rules:
      - record: load:doubled
        expr: load * 2
      - alert: AnyLoad
        expr: load > 50
        labels: {severity: warning}
      - alert: HighLoad
        expr: load > 80
        for: 3s
        labels: {severity: critical}
      - alert: Sticky
        expr: load > 80
        keep_firing_for: 2s
      - alert: PerService
        expr: load > 40
        labels: {severity: info}
      - alert: TotalLoad
        expr: sum by (env) (load) > 120
        for: 2s
      - alert: BusyRate
        expr: rate(requests_total[2s]) > 20
      - alert: RatioHigh
        expr: load{svc="web"} / on(env) load{svc="api"} > 0.45
        for: 1s
"""
EVAL_S = 1.0
SCRAPE_S = 0.25
SLACK_S = EVAL_S + SCRAPE_S + 0.15   # one evaluation interval, one scrape, the polling


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, fmt, *args):
        pass

    def do_GET(self):  # noqa: N802
        with self.server.lock:
            v = self.server.load
            # a counter that grows 40/s while the load is high and 4/s otherwise
            now = time.time()
            self.server.count += (now - self.server.at) * (40 if v > 50 else 4)
            self.server.at = now
            c = self.server.count
        web = v / 2 if v > 50 else v / 4   # web/api: 0.5 while high, 0.25 otherwise
        body = (f'# TYPE load gauge\nload{{svc="api",env="prod"}} {v}\nload{{svc="web",env="prod"}} {web}\n'
                f'# TYPE requests_total counter\nrequests_total{{svc="api"}} {c:.3f}\n').encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class Exporter:
    def __init__(self):
        self.srv = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.srv.lock = threading.Lock()
        self.srv.load = 10
        self.srv.count = 0.0
        self.srv.at = time.time()
        self.port = self.srv.server_address[1]
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()
        h.track(self)

    def set(self, v):
        with self.srv.lock:
            self.srv.load = v

    def log_text(self):
        return f"exporter load {self.srv.load}"

    def close(self):
        self.srv.shutdown()
        self.srv.server_close()


def parse_time(s):
    s = s.rstrip("Z")
    if "." in s:
        head, frac = s.split(".")
        s = f"{head}.{frac[:6]}"
    else:
        s += ".0"
    return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%f").replace(tzinfo=datetime.timezone.utc).timestamp()


def test_alert_timing_matches_prometheus():
    exp = Exporter()
    tmp = h.TempDir("alerts-diff-")
    rules = tmp.join("rules.yml")
    with open(rules, "w") as f:
        f.write(RULES)
    prom = h.track(h.Prometheus(
        f"global: {{scrape_interval: 250ms, scrape_timeout: 200ms, evaluation_interval: 1s}}\n"
        f"rule_files: ['{rules}']\n"
        f"scrape_configs:\n  - job_name: timing\n    static_configs: [{{targets: ['127.0.0.1:{exp.port}']}}]\n"))
    prom.start()
    o = h.track(h.Opshub(h.make_config([{"id": "timing", "type": "prometheus",
                                          "url": f"http://127.0.0.1:{exp.port}/metrics",
                                          "interval": "250ms", "timeout": "200ms"}]) + f"rule_files: ['{rules}']\n"))
    o.start()
    token = o.ensure_token()

    def alerts_of(side):
        if side == "prometheus":
            st, j = prom.get_json("/api/v1/alerts")
        else:
            r = h.http_request(o.cur_port, "GET", "/api/v1/alerts", headers={"Authorization": f"Bearer {token}"})
            st, j = r.status, r.json()
        h.eq(st, 200, f"{side} /api/v1/alerts")
        return {(a["labels"]["alertname"], tuple(sorted(a["labels"].items()))): a for a in j["data"]["alerts"]}

    # both have evaluated the group with load 10: nothing active
    def evaluated(side):
        if side == "prometheus":
            groups = prom.get_json("/api/v1/rules")[1]["data"]["groups"]
        else:
            groups = o.get_json("/api/v1/rules")["data"]["groups"]
        return groups and all(r["health"] == "ok" for r in groups[0]["rules"])
    h.wait_for(lambda: evaluated("prometheus") and evaluated("opshub"), 20, "both to evaluate the rules")
    # Prometheus restores `for` state after its first evaluations following a start, and its
    # first ones may see no data: wait for two more of its evaluations
    # a warm-up round: Prometheus' first evaluations after a start see no data (it restores
    # `for` state then); measure only once both have raised and cleared an alert
    exp.set(60)
    def names(side):
        return {k[0] for k in alerts_of(side)}
    h.wait_for(lambda: "AnyLoad" in names("prometheus") and "AnyLoad" in names("opshub"), 30,
               "the warm-up alert on both")
    exp.set(10)
    h.wait_for(lambda: not alerts_of("prometheus") and not alerts_of("opshub"), 30, "the warm-up alerts to clear")
    time.sleep(0.3)
    seen = {side: {} for side in ("prometheus", "opshub")}
    t_up = time.time()
    exp.set(90)
    t_down = None
    end = t_up + 14
    while time.time() < end:
        now = time.time()
        if t_down is None and now - t_up >= 7:
            t_down = now
            exp.set(10)
        for side in seen:
            for key, a in alerts_of(side).items():
                s = seen[side].setdefault(key, {"labels": a["labels"], "activeAt": parse_time(a["activeAt"]),
                                                "first": now, "firing": None, "last": now})
                s["last"] = now
                if a["state"] == "firing" and s["firing"] is None:
                    s["firing"] = now
        time.sleep(0.05)
    h.eq(sorted(seen["opshub"]), sorted(seen["prometheus"]), "the same alerts (name and labels) on both")
    h.check(len(seen["prometheus"]) == 8, f"eight alerts raised ({sorted(k[0] for k in seen['prometheus'])})")
    for key in seen["prometheus"]:
        name = key[0]
        p, q = seen["prometheus"][key], seen["opshub"][key]
        for what in ("activeAt", "firing", "last"):
            h.check(p[what] is not None and q[what] is not None, f"{key}: {what} seen on both")
            diff = abs(p[what] - q[what])
            h.check(diff <= SLACK_S, f"{key}: {what} differs by {diff:.2f} s (Prometheus {p[what] - t_up:.2f}, "
                                     f"opshub {q[what] - t_up:.2f} s after the change)")
        for side in seen:
            s = seen[side][key]
            h.check(s["activeAt"] >= t_up - 0.05, f"{side} {key}: activeAt after the change")
            for_s = {"HighLoad": 3, "TotalLoad": 2, "RatioHigh": 1}.get(name, 0)
            h.check(s["firing"] - s["activeAt"] >= for_s - 0.05, f"{side} {name} fired before its for: {for_s}s")
    by_name = {side: {k[0]: v for k, v in seen[side].items()} for side in seen}
    for side in seen:
        gap = by_name[side]["Sticky"]["last"] - by_name[side]["AnyLoad"]["last"]
        h.check(gap >= 2 - SCRAPE_S - 0.1, f"{side}: Sticky outlived AnyLoad by {gap:.2f} s (keep_firing_for: 2s)")
    # the recording rule
    pq = prom.get_json("/api/v1/query?" + urllib.parse.urlencode({"query": "load:doubled"}))[1]["data"]["result"]
    oq = o.get_json("/api/v1/query?" + urllib.parse.urlencode({"query": "load:doubled"}))["data"]["result"]
    h.eq([(r["metric"], r["value"][1]) for r in oq], [(r["metric"], r["value"][1]) for r in pq], "load:doubled")
    o.stop()


if __name__ == "__main__":
    h.run(h.collect(globals()), test_timeout=120)
