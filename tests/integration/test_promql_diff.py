"""
Differential test of opshub's PromQL against the reference implementation: a real Prometheus
(Debian's 2.42) and opshub scrape the same exporter, and every expression below is evaluated by
both, at instants and over ranges, and compared value by value (1e-9 relative, NaN equals NaN,
infinities exact).

How the two stores get exactly the same samples: the exporter plays a fixed script of STEPS.
Each step's series carry an explicit timestamp, T0 + step * 15 s, with T0 45 minutes in the past
(Prometheus takes samples within an hour of its newest). Both scrape every 200 ms, and the
exporter moves to the next step only once both have fetched the current one (it tells them
apart by User-Agent), so each stores each step's sample once, at the same time. The script has
counters growing irregularly, a counter reset, a series gone for longer than the 5 minute
lookback, gauges (negative, constant, flapping, NaN), histograms over two label sets, info
series for group_left, a series that appears late.

The expressions cover every operator, aggregation and function opshub supports (the COVERAGE
table at the end is checked against them). The malformed queries must be refused by both with
HTTP 400 bad_data.
"""
# ctest: COST 33
import json
import math
import os
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

STEPS = 120
STEP_MS = 15000
SCRAPE = "200ms"


def page(k, t_ms):
    """The exposition of step k, every sample at t_ms."""
    lines = []

    def s(name, labels, v):
        lab = ",".join(f'{a}="{b}"' for a, b in labels.items())
        val = "NaN" if isinstance(v, float) and math.isnan(v) else ("+Inf" if v == math.inf else repr(float(v)))
        lines.append(f"{name}{{{lab}}} {val} {t_ms}" if lab else f"{name} {val} {t_ms}")

    lines.append("# TYPE req_total counter")
    a = sum((i * 7 % 11) + 1 for i in range(k + 1))
    s("req_total", {"svc": "api", "code": "200", "method": "get"}, a)
    b = sum(i % 3 for i in range(k + 1)) if k < 60 else sum(i % 3 for i in range(60, k + 1))  # reset at 60
    s("req_total", {"svc": "api", "code": "500", "method": "get"}, b)
    if not 40 <= k < 65:  # a gap of 25 steps (6.25 min)
        s("req_total", {"svc": "web", "code": "200", "method": "post"}, 3 * k + (k * k) % 7)
    s("req_total", {"svc": "web", "code": "503", "method": "post"}, k // 9)
    lines.append("# TYPE temp gauge")
    s("temp", {"room": "a"}, 20 + ((k * 37) % 17 - 8) / 4)
    s("temp", {"room": "b"}, -5 - ((k * 13) % 11) / 3)
    s("temp", {"room": "c"}, 42)
    s("flap", {"svc": "api"}, k % 2)
    s("flap", {"svc": "web"}, 1 if (k // 5) % 2 else 0)
    s("nan_g", {}, math.nan if k % 10 == 0 else k / 4)
    s("vals", {"svc": "api"}, k % 4)
    s("vals", {"svc": "web"}, (k + 1) % 4)
    if k >= 50:
        s("late", {"svc": "api"}, k - 50)
    lines.append("# TYPE lat histogram")
    for svc, mult in (("api", 1), ("web", 3)):
        cum = 0
        for le, share in (("0.1", 5), ("0.5", 3), ("1", 2), ("+Inf", 1)):
            cum += share * mult * k + (k % 3) * (mult if le != "0.1" else 0)
            s("lat_bucket", {"svc": svc, "le": le}, cum)
        s("lat_count", {"svc": svc}, cum)
        s("lat_sum", {"svc": svc}, 0.25 * cum)
    s("info", {"svc": "api", "version": "1.2.3"}, 1)
    s("info", {"svc": "web", "version": "2.0.0"}, 1)
    return "\n".join(lines) + "\n"


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, fmt, *args):
        pass

    def do_GET(self):  # noqa: N802
        srv = self.server
        ua = self.headers.get("User-Agent", "")
        who = "prometheus" if ua.startswith("Prometheus") else "opshub" if ua.startswith("opshub") else None
        with srv.lock:
            k = srv.step
            body = page(k, srv.t0 + k * STEP_MS).encode()
            if who:
                srv.seen[who] = k
            if srv.seen.get("prometheus") == k and srv.seen.get("opshub") == k and k < STEPS - 1:
                srv.step += 1
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class Exporter:
    def __init__(self, t0):
        self.srv = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.srv.lock = threading.Lock()
        self.srv.step = 0
        self.srv.seen = {}
        self.srv.t0 = t0
        self.port = self.srv.server_address[1]
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()
        h.track(self)

    def done(self):
        with self.srv.lock:
            k = self.srv.step
            return k == STEPS - 1 and self.srv.seen.get("prometheus") == k and self.srv.seen.get("opshub") == k

    def step(self):
        with self.srv.lock:
            return self.srv.step

    def log_text(self):
        return f"exporter at step {self.step()} of {STEPS}, seen {self.srv.seen}"

    def close(self):
        self.srv.shutdown()
        self.srv.server_close()


# (expression, what it covers). Instants are compared at every time of INSTANTS, ranges over
# the timeline.
EXPRS = [
    ("42", "number literal"),
    ("-1.5e3 + 0x10", "number literals, unary minus, hex"),
    ('"hello"', "string literal"),
    ("req_total", "instant selector"),
    ('req_total{svc="api"}', "="),
    ('req_total{code!="200"}', "!="),
    ('req_total{code=~"5.."}', "=~"),
    ('req_total{method!~"get|put"}', "!~"),
    ('{__name__=~"temp|flap"}', "__name__ regex"),
    ("req_total offset 2m", "offset"),
    ("temp offset -1m", "negative offset"),
    ("rate(req_total[1m])", "rate"),
    ("rate(req_total[5m] offset 3m)", "rate with offset"),
    ("irate(req_total[1m])", "irate"),
    ("increase(req_total[2m])", "increase (reset, gap)"),
    ("delta(temp[3m])", "delta"),
    ("idelta(temp[2m])", "idelta"),
    ("deriv(temp[5m])", "deriv"),
    ("predict_linear(req_total[5m], 600)", "predict_linear"),
    ("avg_over_time(temp[2m])", "avg_over_time"),
    ("min_over_time(temp[3m])", "min_over_time"),
    ("max_over_time(nan_g[3m])", "max_over_time with NaN"),
    ("sum_over_time(vals[4m])", "sum_over_time"),
    ("count_over_time(req_total[5m])", "count_over_time (gap)"),
    ("quantile_over_time(0.75, temp[5m])", "quantile_over_time"),
    ("stddev_over_time(temp[5m])", "stddev_over_time"),
    ("stdvar_over_time(temp[5m])", "stdvar_over_time"),
    ("last_over_time(req_total[10m])", "last_over_time (keeps the name)"),
    ("present_over_time(late[2m])", "present_over_time"),
    ("absent_over_time(late[1m])", "absent_over_time"),
    ('absent(nope{svc="x", code=~"5.."})', "absent with labels"),
    ("absent(temp)", "absent of a present vector"),
    ("changes(flap[5m])", "changes"),
    ("resets(req_total[10m])", "resets"),
    ("histogram_quantile(0.9, lat_bucket)", "histogram_quantile"),
    ("histogram_quantile(0.5, sum by (le) (rate(lat_bucket[5m])))", "histogram_quantile of rates"),
    ("histogram_quantile(0.99, rate(lat_bucket[2m]))", "histogram_quantile, high q"),
    ("abs(temp)", "abs"),
    ("ceil(temp)", "ceil"),
    ("floor(temp)", "floor"),
    ("round(temp)", "round"),
    ("round(temp, 0.25)", "round to_nearest"),
    ("clamp(temp, -6, 21)", "clamp"),
    ("clamp_min(temp, 0)", "clamp_min"),
    ("clamp_max(temp, 20)", "clamp_max"),
    ("exp(flap)", "exp"),
    ("ln(req_total)", "ln"),
    ("log2(req_total + 1)", "log2"),
    ("log10(req_total + 1)", "log10"),
    ("sqrt(req_total)", "sqrt"),
    ("sgn(temp - 20)", "sgn"),
    ("time()", "time"),
    ("timestamp(req_total)", "timestamp"),
    ("vector(1) + time() * 0", "vector"),
    ('scalar(temp{room="c"}) * 2', "scalar"),
    ("scalar(temp)", "scalar of many"),
    ("sort(temp)", "sort"),
    ("sort_desc(req_total)", "sort_desc"),
    ('label_replace(req_total, "family", "$1xx", "code", "(.).*")', "label_replace"),
    ('label_replace(temp, "room", "", "room", "b")', "label_replace deleting a label"),
    ('label_join(req_total, "key", "/", "svc", "code", "method")', "label_join"),
    ("sum(req_total)", "sum"),
    ("sum by (svc) (rate(req_total[5m]))", "sum by"),
    ("sum without (code) (req_total)", "sum without"),
    ("avg by (svc) (temp * 0 + req_total)", "avg"),
    ("min(temp)", "min"),
    ("max by (svc) (req_total)", "max"),
    ("count(req_total)", "count"),
    ("count by (code) (req_total)", "count by"),
    ("stddev(temp)", "stddev"),
    ("stdvar(temp)", "stdvar"),
    ("quantile(0.3, temp)", "quantile"),
    ("quantile by (svc) (0.5, req_total)", "quantile by"),
    ("topk(2, req_total)", "topk"),
    ("bottomk(1, temp)", "bottomk"),
    ("topk by (svc) (1, req_total)", "topk by"),
    ('count_values("v", vals)', "count_values"),
    ('count_values by (svc) ("v", vals)', "count_values by"),
    ("group by (svc) (req_total)", "group"),
    ("req_total + 1", "vector + scalar"),
    ("2 - req_total", "scalar - vector"),
    ("req_total * 2 / 4", "* and /"),
    ("req_total % 7", "%"),
    ("2 ^ 3 ^ 2", "^ right-associative"),
    ("-2 ^ 2", "unary minus below ^"),
    ("1 + 2 * 3 - 4 / 2", "precedence"),
    ("temp ^ 2", "vector ^ scalar"),
    ("req_total atan2 100", "atan2"),
    ('req_total{code="200"} / ignoring(code) req_total{code="500"}', "ignoring"),
    ("rate(req_total[5m]) / on(svc, code, method) req_total", "on, one-to-one"),
    ("req_total * on(svc) group_left(version) info", "group_left"),
    ("info * on(svc) group_right(version) req_total", "group_right"),
    ('sum by (svc) (rate(req_total{code=~"5.."}[5m])) / sum by (svc) (rate(req_total[5m]))', "error ratio"),
    ("temp > 20", "> filter"),
    ("temp < 0", "< filter"),
    ("temp >= 42", ">= filter"),
    ("temp <= -6", "<= filter"),
    ("flap == 1", "== filter"),
    ("flap != 1", "!= filter"),
    ("temp > bool 20", "> bool"),
    ("1 < bool 2", "scalar < bool"),
    ("20 < temp", "scalar on the left of a filter"),
    ("req_total > on(svc) group_left info", "comparison with matching"),
    ("req_total and flap == 1", "and"),
    ('req_total or on(svc) late', "or with on"),
    ("temp or vector(5)", "or"),
    ('req_total unless req_total{code="200"}', "unless"),
    ("req_total unless on(svc) flap == 0", "unless with on"),
    ("max_over_time(rate(req_total[1m])[5m:1m])", "subquery"),
    ("avg_over_time(temp[10m:])", "subquery with the default step"),
    ("rate(req_total[5m:30s] offset 1m)", "subquery with offset"),
    ("nope_metric", "a metric that does not exist"),
    ("late", "a series that appears late"),
    ('day_of_week(vector(time())) >= 0', "date functions"),
]

# Evaluation times (ms after T0): on a step, between steps, in the gap, past the end within
# the lookback, and past the lookback.
INSTANTS = [0, 37_500, 150_000, 607_500, 700_000, 825_000, 901_000, 1_200_000, 1_785_000, 1_905_000,
            1_785_000 + 301_000]
BAD = ["rate(x[5m]", "sum by (a) (", 'foo{a=~"("}', "nofunc(x)", "1 > 2", "rate(x)", "x[5m] + 1",
       "{}"]


def close(a, b):
    if a == b:
        return True
    fa, fb = float(a), float(b)
    if math.isnan(fa) and math.isnan(fb):
        return True
    if math.isinf(fa) or math.isinf(fb):
        return fa == fb
    return abs(fa - fb) <= max(1e-12, 1e-9 * max(abs(fa), abs(fb)))


def normalise(data):
    """{labels: [(t, v), ...]} of any result type."""
    kind, res = data["resultType"], data["result"]
    if kind in ("scalar", "string"):
        return kind, {(): [(res[0], res[1])]}
    out = {}
    for s in res:
        key = tuple(sorted(s["metric"].items()))
        pts = [s["value"]] if kind == "vector" else s["values"]
        out[key] = [(p[0], p[1]) for p in pts]
    return kind, out


def diff(expr, where, ref, got):
    """The differences between two answers, as lines."""
    rk, rv = normalise(ref)
    gk, gv = normalise(got)
    if rk != gk:
        return [f"{expr} @ {where}: result type {gk}, Prometheus {rk}"]
    lines = []
    for key in sorted(set(rv) | set(gv)):
        a, b = rv.get(key), gv.get(key)
        if a is None or b is None:
            lines.append(f"{expr} @ {where}: series {dict(key)} only in {'opshub' if a is None else 'Prometheus'}")
            continue
        if len(a) != len(b):
            lines.append(f"{expr} @ {where}: {dict(key)}: {len(b)} points, Prometheus {len(a)} "
                         f"(first times {b[:1]} / {a[:1]})")
            continue
        for (ta, va), (tb, vb) in zip(a, b):
            if abs(float(ta) - float(tb)) > 1e-6 or not (close(va, vb) if rk != "string" else va == vb):
                lines.append(f"{expr} @ {where}: {dict(key)} at {tb}: opshub {vb}, Prometheus {va} (t {ta})")
                break
    return lines


class Side:
    def __init__(self, name, port, token=None):
        self.name, self.port, self.token = name, port, token

    def get(self, path, params):
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        r = h.http_request(self.port, "GET", path + "?" + urllib.parse.urlencode(params), headers=headers,
                           timeout=60)
        try:
            return r.status, json.loads(r.body)
        except ValueError:
            return r.status, {"raw": r.body[:300]}


def setup_pair():
    t0 = (int(time.time()) - 45 * 60) * 1000
    exp = Exporter(t0)
    prom = h.track(h.Prometheus(
        "global: {scrape_interval: %s, scrape_timeout: 150ms, evaluation_interval: 1m}\n"
        "scrape_configs:\n"
        "  - job_name: diff\n"
        "    static_configs: [{targets: ['127.0.0.1:%d']}]\n" % (SCRAPE, exp.port)))
    prom.start()
    o = h.track(h.Opshub(h.make_config([{"id": "diff", "type": "prometheus",
                                          "url": f"http://127.0.0.1:{exp.port}/metrics",
                                          "interval": SCRAPE, "timeout": "150ms"}])))
    o.start()
    o.ensure_token()
    h.wait_for(exp.done, 240, f"both scrapers through {STEPS} steps (Prometheus and opshub)", interval=0.5)
    ref = Side("prometheus", prom.port)
    cand = Side("opshub", o.cur_port, o.token)
    # both stores hold the last step
    last = {"query": "count(req_total)", "time": f"{(t0 + (STEPS - 1) * STEP_MS) / 1000:.3f}"}
    for side in (ref, cand):
        h.wait_for(lambda side=side: side.get("/api/v1/query", last)[1].get("data", {}).get("result", [None, "0"])
                   [0] is not None, 20, f"{side.name} to answer over the last step")
    return t0, ref, cand, o


def test_promql_matches_prometheus():
    t0, ref, cand, o = setup_pair()
    problems = []
    compared = nonempty = 0
    for expr, _ in EXPRS:
        for off in INSTANTS:
            params = {"query": expr, "time": f"{(t0 + off) / 1000:.3f}"}
            rs, rj = ref.get("/api/v1/query", params)
            cs, cj = cand.get("/api/v1/query", params)
            if rs != 200 or cs != 200:
                if rs != cs:
                    problems.append(f"{expr} @ +{off}ms: HTTP {cs} {cj}, Prometheus {rs} {rj}")
                continue
            problems += diff(expr, f"+{off}ms", rj["data"], cj["data"])
            compared += 1
            nonempty += bool(rj["data"]["result"])
        if expr.startswith('"') or "[" in expr and not any(f in expr for f in ("(", ")")):
            continue  # strings and bare range selectors have no range query
        for step in (30_000, 37_000):
            params = {"query": expr, "start": f"{(t0 + 300_000) / 1000:.3f}",
                      "end": f"{(t0 + 1_900_000) / 1000:.3f}", "step": f"{step / 1000:g}"}
            rs, rj = ref.get("/api/v1/query_range", params)
            cs, cj = cand.get("/api/v1/query_range", params)
            if rs != 200 or cs != 200:
                if rs != cs:
                    problems.append(f"{expr} range step {step}: HTTP {cs} {cj}, Prometheus {rs} {rj}")
                continue
            problems += diff(expr, f"range step {step}ms", rj["data"], cj["data"])
            compared += 1
            nonempty += bool(rj["data"]["result"])
    print(f"compared {compared} answers of {len(EXPRS)} expressions, {nonempty} not empty", file=sys.stderr)
    if problems:
        print("\n".join(problems[:200]), file=sys.stderr)
    h.eq(len(problems), 0, f"differences from Prometheus (of {compared} answers)")
    h.check(compared >= len(EXPRS) * len(INSTANTS), f"too few answers compared: {compared}")
    h.check(nonempty >= compared * 0.8, f"most answers hold data ({nonempty} of {compared})")
    for q in BAD:
        rs, rj = ref.get("/api/v1/query", {"query": q})
        cs, cj = cand.get("/api/v1/query", {"query": q})
        h.eq((cs, cj.get("errorType")), (400, "bad_data"), f"opshub refuses {q!r} ({cj})")
        h.eq((rs, rj.get("errorType")), (400, "bad_data"), f"Prometheus refuses {q!r}")
    o.stop()


# Every construct the issue lists, and the expression that covers it.
COVERAGE = {
    "number literal": "42", "string literal": '"hello"', "=": '{svc="api"}', "!=": "!=", "=~": "=~", "!~": "!~",
    "offset": "offset", "+": "+ 1", "-": "2 -", "*": "*", "/": "/", "%": "%", "^": "^", "==": "==",
    "!=op": "!= 1", ">": "> 20", "<": "< 0", ">=": ">=", "<=": "<=", "bool": "bool", "and": " and ",
    "or": " or ", "unless": " unless ", "on": "on(", "ignoring": "ignoring(", "group_left": "group_left",
    "group_right": "group_right", "sum": "sum(", "avg": "avg by", "min": "min(", "max": "max by", "count": "count(",
    "stddev": "stddev(", "stdvar": "stdvar(", "quantile": "quantile(", "topk": "topk(", "bottomk": "bottomk(",
    "count_values": "count_values(", "by": "by (", "without": "without (", "rate": "rate(", "irate": "irate(",
    "increase": "increase(", "delta": "delta(", "idelta": "idelta(", "deriv": "deriv(",
    "avg_over_time": "avg_over_time(", "min_over_time": "min_over_time(", "max_over_time": "max_over_time(",
    "sum_over_time": "sum_over_time(", "count_over_time": "count_over_time(",
    "quantile_over_time": "quantile_over_time(", "last_over_time": "last_over_time(",
    "present_over_time": "present_over_time(", "absent": "absent(", "absent_over_time": "absent_over_time(",
    "changes": "changes(", "resets": "resets(", "histogram_quantile": "histogram_quantile(", "abs": "abs(",
    "ceil": "ceil(", "floor": "floor(", "round": "round(", "clamp": "clamp(", "clamp_min": "clamp_min(",
    "clamp_max": "clamp_max(", "time": "time()", "timestamp": "timestamp(", "vector": "vector(",
    "scalar": "scalar(", "label_replace": "label_replace(", "label_join": "label_join(",
    "predict_linear": "predict_linear(", "subquery": ":1m]", "stddev_over_time": "stddev_over_time(",
    "stdvar_over_time": "stdvar_over_time(", "sort": "sort(", "sort_desc": "sort_desc(", "exp": "exp(",
    "ln": "ln(", "log2": "log2(", "log10": "log10(", "sqrt": "sqrt(", "sgn": "sgn(",
}


def test_coverage_table():
    text = "\n".join(e for e, _ in EXPRS)
    missing = [k for k, needle in COVERAGE.items() if needle not in text]
    h.eq(missing, [], "constructs no expression covers")
    h.check(len(EXPRS) >= 60, f"at least 60 expressions, got {len(EXPRS)}")


if __name__ == "__main__":
    h.run(h.collect(globals()), test_timeout=280)
