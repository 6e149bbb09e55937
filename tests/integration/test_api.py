"""
Integration tests of opshub's HTTP surface against docs/api.md: health endpoints,
/metrics names, types and per-check series, the checks API (list, one, samples with
limit/from/to, run), error shapes (404, 405, 400 with field, 413), X-Request-Id and
security headers. One real opshub probing a real nginx and a TCP banner server.
"""
# ctest: RUN_SERIAL
# (CMakeLists.txt reads the line above: nothing else of the suite runs meanwhile)
# because probe_duration_seconds and run-now timestamps are asserted against wall time.
import datetime
import json
import os
import re
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

ENV = {}
h.secret("pw123secret")
CHECK_IDS = ["web", "web-down", "ssh", "paused", "secret"]


def setup():
    n = ENV["nginx"] = h.Nginx().start()
    b = ENV["banner"] = h.BannerServer()
    checks = [
        h.http_check("web", n.url("/health"), project="shop", labels={"team": "web"},
                     expect={"json": {"status": "ok"}}),
        h.http_check("web-down", n.url("/down")),
        h.tcp_check("ssh", b.address, project="shop", expect="SSH-2.0"),
        h.http_check("paused", n.url("/health"), enabled=False),
        h.http_check("secret", f"http://monitor:pw123secret@127.0.0.1:{n.port}/health", interval="2s",
                     timeout="1s"),
    ]
    cfg = h.make_config(checks, projects=[{"id": "shop", "name": "Shop"}])
    o = ENV["o"] = h.track(h.Opshub(cfg))
    o.start()
    o.wait_samples("web", 3, timeout=20)
    o.wait_status("web-down", "down", timeout=10)
    o.wait_status("ssh", "up", timeout=10)


def O():
    return ENV["o"]


def parse_iso_ms(s):
    d = datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
    return int(round(d.timestamp() * 1000))


def assert_json_response(r, what):
    ct = r.header("content-type") or ""
    h.check(ct.startswith("application/json"), f"{what}: Content-Type {ct!r} is not application/json")
    return r.json()


def assert_error(r, status, code, what, field=None):
    h.eq(r.status, status, f"{what} status")
    doc = assert_json_response(r, what)
    h.check(isinstance(doc.get("error"), dict), f"{what}: no error object in {doc}")
    h.eq(doc["error"].get("code"), code, f"{what} error.code")
    h.check(isinstance(doc["error"].get("message"), str) and doc["error"]["message"],
            f"{what}: error.message missing in {doc}")
    if field is not None:
        h.eq(doc["error"].get("field"), field, f"{what} error.field")
    return doc


def assert_sample(s, what):
    h.check(isinstance(s, dict), f"{what}: sample is not an object: {s!r}")
    for k in ("ts", "ts_ms", "result", "latency_ms", "code", "error", "timings"):
        h.check(k in s, f"{what}: sample lacks {k!r}: {s}")
    h.check(h.is_iso_ms(s["ts"]), f"{what}: ts {s['ts']!r} is not ISO 8601 UTC with ms")
    h.check(isinstance(s["ts_ms"], int), f"{what}: ts_ms {s['ts_ms']!r} not an integer")
    h.eq(parse_iso_ms(s["ts"]), s["ts_ms"], f"{what}: ts and ts_ms disagree")
    h.check(abs(s["ts_ms"] - h.now_ms()) < 3600_000, f"{what}: ts_ms {s['ts_ms']} is not recent")
    h.check(s["result"] in ("up", "degraded", "down"), f"{what}: result {s['result']!r}")
    h.check(h.is_num(s["latency_ms"]) and s["latency_ms"] >= 0, f"{what}: latency_ms {s['latency_ms']!r}")
    h.check(isinstance(s["code"], int), f"{what}: code {s['code']!r}")
    h.check(isinstance(s["error"], str), f"{what}: error {s['error']!r}")
    t = s["timings"]
    h.check(isinstance(t, dict), f"{what}: timings {t!r}")
    for k in ("dns_ms", "connect_ms", "tls_ms", "ttfb_ms"):
        h.check(k in t and (t[k] is None or h.is_num(t[k])), f"{what}: timings.{k} missing or not a number: {t}")


CHECK_KEYS = {"id", "name", "project", "type", "target", "interval", "timeout", "confirm", "enabled",
              "labels", "status", "since", "consecutive_failures", "last_sample", "uptime_24h", "source"}


def assert_check_shape(c, what):
    missing = CHECK_KEYS - set(c)
    h.check(not missing, f"{what}: CHECK lacks {sorted(missing)}: {c}")


# --------------------------------------------------------------------------------- health

def test_healthz():
    r = O().get("/healthz")
    h.eq(r.status, 200, "/healthz status")
    h.eq(assert_json_response(r, "/healthz"), {"ok": True}, "/healthz body")


def test_health_live():
    r = O().get("/health/live")
    h.eq(r.status, 200, "/health/live status")
    h.eq(assert_json_response(r, "/health/live"), {"live": True}, "/health/live body")


def test_health_ready():
    r = O().get("/health/ready")
    h.eq(r.status, 200, "/health/ready status")
    h.eq(assert_json_response(r, "/health/ready"), {"ready": True}, "/health/ready body")


def test_health_db():
    r = O().get("/health/db")
    h.eq(r.status, 200, "/health/db status")
    doc = assert_json_response(r, "/health/db")
    h.eq(doc.get("database"), "connected", "/health/db database")
    h.check(h.is_num(doc.get("responseTime")) and doc["responseTime"] >= 0,
            f"/health/db responseTime {doc.get('responseTime')!r}")


def test_health_full_shape():
    r = O().get("/health")
    h.eq(r.status, 200, "/health status")
    doc = assert_json_response(r, "/health")
    h.eq(doc.get("status"), "ok", "/health status field")
    h.check(h.is_iso_ms(doc.get("timestamp")), f"/health timestamp {doc.get('timestamp')!r}")
    h.check(abs(parse_iso_ms(doc["timestamp"]) - h.now_ms()) < 5000, "/health timestamp is not now")
    h.check(h.is_num(doc.get("uptime")) and doc["uptime"] > 0, f"/health uptime {doc.get('uptime')!r}")
    v = h.run_cli(["version"]).stdout.split()
    h.eq(doc.get("version"), v[1] if len(v) > 1 else None, "/health version vs `opshub version`")
    c = doc.get("checks") or {}
    h.eq(c.get("database", {}).get("status"), "up", "checks.database.status")
    h.check(h.is_num(c["database"].get("responseTime")), f"checks.database.responseTime {c['database']}")
    h.eq(c.get("memory", {}).get("status"), "up", "checks.memory.status")
    rss = c["memory"].get("rssBytes")
    h.check(isinstance(rss, int) and 1_000_000 < rss < 2_000_000_000, f"checks.memory.rssBytes {rss!r}")
    h.eq(c.get("loop", {}).get("status"), "up", "checks.loop.status")
    h.check(h.is_num(c["loop"].get("lagMs")), f"checks.loop.lagMs {c['loop']}")
    p = c.get("probes") or {}
    for k in ("up", "degraded", "down", "unknown"):
        h.check(isinstance(p.get(k), int), f"checks.probes.{k} {p}")
    h.check(p["up"] >= 3, f"probes.up should count web, ssh, secret: {p}")
    h.check(p["down"] >= 1, f"probes.down should count web-down: {p}")
    h.eq(p.get("status"), "up", "checks.probes.status (monitored checks do not change it)")


# --------------------------------------------------------------------------------- metrics

DOC_METRICS = {
    "opshub_build_info": "gauge", "opshub_checks_configured": "gauge", "opshub_probes_total": "counter",
    "opshub_probes_in_flight": "gauge", "opshub_probe_start_lateness_seconds": "histogram",
    "opshub_probes_skipped_total": "counter", "opshub_check_status_changes_total": "counter",
    "opshub_store_connected": "gauge", "opshub_store_samples_written_total": "counter",
    "opshub_store_samples_dropped_total": "counter", "opshub_store_buffered_samples": "gauge",
    "opshub_store_write_errors_total": "counter", "opshub_store_batch_duration_seconds": "gauge",
    "opshub_http_requests_total": "counter", "opshub_http_request_duration_seconds": "histogram",
    "opshub_http_connections_open": "gauge", "opshub_config_reloads_total": "counter",
    "opshub_http_connections": "gauge", "opshub_http_connections_max": "gauge",
    "opshub_http_connections_accepted_total": "counter", "opshub_http_connections_rejected_total": "counter",
    "opshub_http_rejected_total": "counter", "opshub_http_output_buffered_bytes": "gauge",
    "opshub_http_output_budget_bytes": "gauge",
    "opshub_loop_lag_seconds": "gauge", "process_cpu_seconds_total": "counter",
    "process_resident_memory_bytes": "gauge", "process_start_time_seconds": "gauge",
    "process_open_fds": "gauge", "probe_success": "gauge", "probe_duration_seconds": "gauge",
    "probe_http_status_code": "gauge", "opshub_check_status": "gauge",
}


def test_metrics_content_type_and_documented_names():
    r = O().get("/metrics")
    h.eq(r.status, 200, "/metrics status")
    ct = r.header("content-type") or ""
    h.check(ct.startswith("text/plain") and "0.0.4" in ct, f"/metrics Content-Type {ct!r}")
    m = h.Metrics(r.text)
    missing = [n for n in DOC_METRICS if not m.has(n)]
    h.check(not missing, f"documented metrics missing from /metrics: {missing}")
    wrong = {n: m.types.get(n) for n, t in DOC_METRICS.items() if m.types.get(n) != t}
    h.check(not wrong, f"# TYPE lines missing or wrong (name: got), expected per docs: {wrong}")
    for hist in ("opshub_probe_start_lateness_seconds", "opshub_http_request_duration_seconds"):
        h.check(m.find(hist + "_bucket", le="+Inf"), f"{hist}_bucket{{le=\"+Inf\"}} missing")
        h.check(m.find(hist + "_count") and m.find(hist + "_sum"), f"{hist}_count/_sum missing")


def promtool_check(text):
    """`promtool check metrics` (Debian package prometheus) on an exposition: (exit code, output)."""
    h.require(shutil.which("promtool"), "promtool (Debian package prometheus)")
    r = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True, timeout=60)
    return r.returncode, (r.stdout + r.stderr).strip()


def test_metrics_pass_promtool_check_metrics():
    # The exposition of a daemon with up, down, TCP, labelled and password-carrying checks:
    # parsable by Prometheus' own parser and clean for its linter (names, units, HELP).
    code, out = promtool_check(O().get("/metrics").text)
    h.eq((code, out), (0, ""), "promtool check metrics on /metrics")
    # and promtool is no rubber stamp: a counter without _total and without HELP is reported
    code, out = promtool_check("# TYPE opshub_broken counter\nopshub_broken 1\n")
    h.check(code != 0 and "opshub_broken" in out, f"promtool accepted a broken exposition ({code}): {out}")


def test_metrics_values():
    m = O().metrics()
    h.eq(m.get("opshub_checks_configured"), 5.0, "opshub_checks_configured")
    bi = m.find("opshub_build_info")
    h.check(len(bi) == 1 and bi[0][1] == 1.0 and {"version", "commit"} <= set(bi[0][0]),
            f"opshub_build_info{{version,commit}} 1: {bi}")
    h.check(m.sum("opshub_probes_total", type="http", result="up") >= 3, "opshub_probes_total{http,up} >= 3")
    h.check(m.sum("opshub_probes_total", type="http", result="down") >= 1, "opshub_probes_total{http,down} >= 1")
    h.check(m.sum("opshub_probes_total", type="tcp", result="up") >= 1, "opshub_probes_total{tcp,up} >= 1")
    h.eq(m.get("opshub_store_connected"), 1.0, "opshub_store_connected")
    h.check(m.get("opshub_store_samples_written_total") >= 3, "opshub_store_samples_written_total >= 3")
    h.check(m.sum("opshub_http_requests_total", code="200") >= 1, "opshub_http_requests_total{code=200}")
    h.check((m.get("process_resident_memory_bytes") or 0) > 1e6, "process_resident_memory_bytes")
    h.check((m.get("process_open_fds") or 0) > 2, "process_open_fds")
    st = m.get("process_start_time_seconds") or 0
    h.check(abs(st - time.time()) < 600, f"process_start_time_seconds {st} is not a recent unix time")


def test_metrics_per_check_series():
    m = O().metrics()
    web = {"check": "web", "project": "shop", "type": "http"}
    down = {"check": "web-down", "project": "", "type": "http"}
    ssh = {"check": "ssh", "project": "shop", "type": "tcp"}
    h.eq(m.get("probe_success", **web), 1.0, "probe_success{web}")
    h.eq(m.get("probe_success", **down), 0.0, "probe_success{web-down} (project label empty)")
    h.eq(m.get("probe_success", **ssh), 1.0, "probe_success{ssh}")
    h.eq(m.get("probe_http_status_code", **web), 200.0, "probe_http_status_code{web}")
    h.eq(m.get("probe_http_status_code", **down), 503.0, "probe_http_status_code{web-down}")
    d = m.get("probe_duration_seconds", **web)
    h.check(d is not None and 0 < d < 0.5, f"probe_duration_seconds{{web}} {d}")
    h.eq(m.get("opshub_check_status", **web), 0.0, "opshub_check_status{web}")
    h.eq(m.get("opshub_check_status", **down), 2.0, "opshub_check_status{web-down}")
    h.eq(m.get("opshub_check_status", check="paused", project="", type="http"), 4.0,
         "opshub_check_status{paused}")
    h.check(not m.find("probe_http_status_code", check="ssh"), "probe_http_status_code must not exist for tcp")
    h.check("pw123secret" not in m.text, "password of check 'secret' appears in /metrics")


# --------------------------------------------------------------------------------- checks API

def test_checks_list_label_and_text_filters_and_counts_over_pages():
    o = O()
    d = o.get_json("/api/v1/checks?label=team%3Dweb")
    h.eq([c["id"] for c in d["checks"]], ["web"], "label=key=value")
    h.eq([c["id"] for c in o.get_json("/api/v1/checks?label=team")["checks"]], ["web"], "label=key")
    h.eq(o.get_json("/api/v1/checks?label=team%3Dops")["checks"], [], "another value")
    h.eq([c["id"] for c in o.get_json("/api/v1/checks?q=WEB-D")["checks"]], ["web-down"], "q= ignores case")
    full = o.get_json("/api/v1/checks")
    page = o.get_json("/api/v1/checks?limit=1")
    h.eq(len(page["checks"]), 1, "one per page")
    h.eq(page["counts"], full["counts"], "counts cover every page")
    st = o.get_json("/api/v1/checks?status=up")
    h.eq(st["counts"], full["counts"], "counts ignore the status filter (they are what it selects from)")
    h.eq(len(st["checks"]), full["counts"]["up"], "status=up lists the up ones")


def test_checks_list_shape_and_order():
    r = O().get("/api/v1/checks")
    h.eq(r.status, 200, "GET /api/v1/checks status")
    doc = assert_json_response(r, "checks list")
    h.eq(list(doc), ["checks", "next_cursor", "counts"], "top-level keys of the list")
    want = {k: 0 for k in ("up", "degraded", "down", "unknown", "paused")}
    for c in doc["checks"]:
        want[c["status"]] += 1
    h.eq(doc["counts"], want, "counts by status of every check")
    h.eq(doc["next_cursor"], None, "one page holds every check")
    ids = [c["id"] for c in doc["checks"]]
    h.eq(ids, CHECK_IDS, "checks in configuration order")
    by = {c["id"]: c for c in doc["checks"]}
    for c in doc["checks"]:
        assert_check_shape(c, c["id"])
    w = by["web"]
    n = ENV["nginx"]
    h.eq(w["name"], "web", "name defaults to id")
    h.eq(w["project"], "shop", "web project")
    h.eq(w["type"], "http", "web type")
    h.eq(w["target"], n.url("/health"), "web target")
    h.eq((w["interval"], w["timeout"], w["confirm"], w["enabled"]), ("1s", "500ms", 1, True),
         "web interval/timeout/confirm/enabled")
    h.eq(w["labels"], {"team": "web"}, "web labels")
    h.eq(w["status"], "up", "web status")
    h.check(h.is_iso_ms(w["since"]), f"web since {w['since']!r}")
    h.eq(w["consecutive_failures"], 0, "web consecutive_failures")
    assert_sample(w["last_sample"], "web last_sample")
    h.eq(w["last_sample"]["result"], "up", "web last_sample.result")
    h.eq(w["last_sample"]["code"], 200, "web last_sample.code")
    h.eq(w["last_sample"]["error"], "", "web last_sample.error")
    h.eq(w["uptime_24h"], 100, "web uptime_24h")
    h.eq(w["source"], "config", "web source")
    d = by["web-down"]
    h.check(d["project"] in (None, ""), f"web-down project should be null/empty, got {d['project']!r}")
    h.eq(d["status"], "down", "web-down status")
    h.check(d["consecutive_failures"] >= 1, f"web-down consecutive_failures {d['consecutive_failures']}")
    h.eq(d["uptime_24h"], 0, "web-down uptime_24h")
    h.contains(d["last_sample"]["error"], "unexpected status 503", "web-down error")
    s = by["ssh"]
    h.eq((s["type"], s["target"], s["status"]), ("tcp", ENV["banner"].address, "up"), "ssh type/target/status")
    p = by["paused"]
    h.eq((p["status"], p["enabled"], p["last_sample"], p["uptime_24h"]), ("paused", False, None, None),
         "paused status/enabled/last_sample/uptime_24h")



def test_checks_list_pages_and_filters():
    o = O()
    page = o.get_json("/api/v1/checks?limit=2")
    h.eq([c["id"] for c in page["checks"]], CHECK_IDS[:2], "first page")
    h.eq(page["next_cursor"], CHECK_IDS[1], "cursor")
    ids = [c["id"] for c in page["checks"]]
    while page["next_cursor"]:
        page = o.get_json(f"/api/v1/checks?limit=2&cursor={page['next_cursor']}")
        ids += [c["id"] for c in page["checks"]]
    h.eq(ids, CHECK_IDS, "all pages in order")
    h.eq([c["id"] for c in o.get_json("/api/v1/checks?project=shop")["checks"]], ["web", "ssh"], "project filter")
    h.eq([c["id"] for c in o.get_json("/api/v1/checks?type=tcp")["checks"]], ["ssh"], "type filter")
    h.eq([c["id"] for c in o.get_json("/api/v1/checks?status=paused")["checks"]], ["paused"], "status filter")
    h.eq(o.get_json("/api/v1/checks?source=api")["checks"], [], "source filter")
    for q, field in (("limit=0", "limit"), ("cursor=nope", "cursor"), ("source=yaml", "source")):
        r = o.get(f"/api/v1/checks?{q}")
        h.eq(r.status, 400, f"?{q}")
        h.eq(r.json()["error"].get("field"), field, f"field of ?{q}")

def test_check_target_hides_password():
    c = O().check_json("secret")
    h.check("pw123secret" not in c["target"], f"password visible in target {c['target']!r}")
    h.eq(c["target"], f"http://monitor:***@127.0.0.1:{ENV['nginx'].port}/health", "target with password")
    h.check("pw123secret" not in O().log_text(), "password of check 'secret' appears in the log")


def test_check_get_one():
    c = O().check_json("web")
    assert_check_shape(c, "GET /api/v1/checks/web")
    h.eq(c["id"], "web", "id")
    h.eq(c["status"], "up", "status")
    lst = {x["id"]: x for x in O().get_json("/api/v1/checks")["checks"]}
    for k in ("id", "name", "project", "type", "target", "interval", "timeout", "labels", "source"):
        h.eq(c[k], lst["web"][k], f"GET one vs list field {k}")


def test_unknown_check_404():
    r = O().get("/api/v1/checks/nosuchcheck")
    doc = assert_error(r, 404, "not_found", "unknown check")
    h.contains(doc["error"]["message"], "nosuchcheck", "404 message names the id")
    assert_error(O().get("/api/v1/checks/nosuchcheck/samples"), 404, "not_found", "samples of unknown check")
    assert_error(O().post("/api/v1/checks/nosuchcheck/run"), 404, "not_found", "run of unknown check")


def test_unknown_route_404():
    for path in ("/nope", "/api/v1/nope", "/api/v2/checks", "/health/nope"):
        assert_error(O().get(path), 404, "not_found", f"GET {path}")


def test_wrong_method_405():
    for method, path, allowed in (("DELETE", "/api/v1/checks", "GET"), ("GET", "/api/v1/checks/web/run", "POST"),
                                  ("POST", "/metrics", "GET"), ("PUT", "/healthz", "GET")):
        r = O().request(method, path)
        assert_error(r, 405, "method_not_allowed", f"{method} {path}")
        allow = r.header("allow") or ""
        h.contains(allow, allowed, f"Allow header of {method} {path}")


# --------------------------------------------------------------------------------- samples

def test_samples_newest_first_and_shape():
    doc = O().samples("web")
    h.eq(doc.get("check"), "web", "samples.check")
    s = doc["samples"]
    h.check(len(s) >= 3, f"at least 3 samples expected, got {len(s)}")
    for i, x in enumerate(s):
        assert_sample(x, f"sample {i}")
    ts = [x["ts_ms"] for x in s]
    h.eq(ts, sorted(ts, reverse=True), "samples newest first")
    h.check(len(set(ts)) == len(ts), "duplicate samples")


def test_samples_limit():
    all_s = O().samples("web", "limit=1000")["samples"]
    h.check(len(all_s) >= 3, "need 3 samples")
    two = O().samples("web", "limit=2")["samples"]
    h.eq(len(two), 2, "limit=2 count")
    h.check(two[0]["ts_ms"] >= all_s[0]["ts_ms"], "limit=2 returns the newest")
    one = O().samples("web", "limit=1")["samples"]
    h.eq(len(one), 1, "limit=1 count")


def test_samples_from_to_filtering():
    snap = O().wait_samples("web", 5, timeout=15)
    n = len(snap)
    a, b = snap[n - 2], snap[1]      # a older, b newer
    lo, hi = a["ts_ms"], b["ts_ms"]

    def between(lo_ms, hi_ms):
        return [x["ts_ms"] for x in snap if lo_ms <= x["ts_ms"] <= hi_ms]

    got = [x["ts_ms"] for x in O().samples("web", f"from={a['ts']}&to={b['ts']}&limit=1000")["samples"]]
    h.eq(got, between(lo, hi), "ISO from/to (inclusive)")
    got = [x["ts_ms"] for x in O().samples("web", f"from={b['ts']}&to={b['ts']}")["samples"]]
    h.eq(got, [hi], "from == to == one sample's ts")
    sec = lo // 1000
    got = [x["ts_ms"] for x in O().samples("web", f"from={sec}&to={b['ts']}&limit=1000")["samples"]]
    h.eq(got, between(sec * 1000, hi), "unix-seconds from")
    hs = hi // 1000
    got = [x["ts_ms"] for x in O().samples("web", f"from={a['ts']}&to={hs}&limit=1000")["samples"]]
    h.check(got in (between(lo, hs * 1000), between(lo, hs * 1000 + 999)),
            f"unix-seconds to: got {got}, snapshot {between(lo, hs * 1000 + 999)}")
    r = O().get(f"/api/v1/checks/web/samples?from={b['ts']}&to={a['ts']}")
    assert_error(r, 400, "invalid_parameter", "from after to", field="from")


def test_samples_bad_parameters_400():
    for q, field in (("from=yesterday", "from"), ("to=12:00", "to"), ("limit=0", "limit"),
                     ("limit=10001", "limit"), ("limit=abc", "limit"), ("from=2026-13-45T00:00:00Z", "from")):
        r = O().get(f"/api/v1/checks/web/samples?{q}")
        assert_error(r, 400, "invalid_parameter", f"samples?{q}", field=field)
    r = O().get("/api/v1/checks/web/samples?limit=10000")
    h.eq(r.status, 200, "limit=10000 is allowed")


def test_run_now_returns_sample_and_stores_it():
    t0 = h.now_ms()
    doc = O().post_json("/api/v1/checks/web/run")
    t1 = h.now_ms()
    h.eq(doc.get("check"), "web", "run.check")
    h.eq(doc.get("status"), "up", "run.status")
    s = doc.get("sample")
    assert_sample(s, "run.sample")
    h.eq(s["result"], "up", "run sample result")
    h.check(t0 - 1000 <= s["ts_ms"] <= t1 + 1000, f"run sample ts {s['ts_ms']} outside [{t0}, {t1}]")
    h.wait_for(lambda: s["ts_ms"] in [x["ts_ms"] for x in O().samples("web", "limit=50")["samples"]],
               10, "the run's sample in the store")
    d = O().post_json("/api/v1/checks/web-down/run")
    h.eq((d["status"], d["sample"]["result"], d["sample"]["code"]), ("down", "down", 503), "run of web-down")


def test_run_paused_check_409():
    assert_error(O().post("/api/v1/checks/paused/run"), 409, "paused", "run of a paused check")


# --------------------------------------------------------------------------------- headers, limits

SEC_HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
}


def test_request_id_echo_and_generation():
    r = O().get("/api/v1/checks", headers={"X-Request-Id": "it-req-0042"})
    h.eq(r.header("x-request-id"), "it-req-0042", "echoed X-Request-Id")
    r = O().get("/api/v1/checks/nosuchcheck", headers={"X-Request-Id": "it-req-404"})
    h.eq(r.header("x-request-id"), "it-req-404", "echoed X-Request-Id on a 404")
    a, b = O().get("/healthz").header("x-request-id"), O().get("/healthz").header("x-request-id")
    h.check(a and b and a != b, f"generated X-Request-Id missing or not unique: {a!r} {b!r}")
    lines = h.wait_for(lambda: O().log_lines("request", request_id="it-req-0042"), 5,
                       "a request log line with request_id it-req-0042")
    ln = lines[0]
    h.eq((ln.get("method"), ln.get("path"), ln.get("status")), ("GET", "/api/v1/checks", 200), "request log fields")
    h.check(h.is_num(ln.get("duration_ms")) and ln.get("remote"), f"request log line lacks duration_ms/remote: {ln}")


def test_security_headers_everywhere():
    for method, path in (("GET", "/healthz"), ("GET", "/metrics"), ("GET", "/api/v1/checks"),
                         ("GET", "/nope"), ("DELETE", "/healthz"), ("GET", "/api/v1/checks/web/samples?limit=0")):
        r = O().request(method, path)
        for k, v in SEC_HEADERS.items():
            h.eq(r.header(k), v, f"{k} on {method} {path} ({r.status})")
        h.check(r.header("x-request-id"), f"X-Request-Id missing on {method} {path}")


def test_payload_too_large_413():
    size = 10 * 1024 * 1024
    head = (f"POST /api/v1/checks/web/run HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {size}\r\nConnection: close\r\n\r\n").encode()
    status, hdrs, body = h.http_raw(O().cur_port, head, body_len=size, timeout=15)
    h.eq(status, 413, f"status of a 10 MB POST (body {body[:200]!r})")
    doc = json.loads(body) if body else {}
    h.eq(doc.get("error", {}).get("code"), "payload_too_large", "413 error code")
    h.eq(O().get("/healthz").status, 200, "opshub still answers after the 413")


def test_process_still_healthy_at_end():
    h.check(O().running(), "opshub died during the API tests")
    bad = [ln for ln in O().logs() if "_raw" in ln]
    h.check(not bad, f"non-JSON log lines on stderr: {bad[:3]}")
    for ln in O().logs():
        h.check({"ts", "level", "msg"} <= set(ln), f"log line lacks ts/level/msg: {ln}")
    O().stop()


if __name__ == "__main__":
    h.run(h.collect(globals()), setup=setup, test_timeout=60)
