#!/usr/bin/env python3
# ctest: RUN_SERIAL
# ctest: COST 20
"""Check types' named values end to end, and /metrics at scale.

- An http check against a real nginx and a tcp check: their samples carry
  the values their types declare; the API returns them ("values", and the
  older "timings" derived from them), they survive a restart (read back from
  the store), and /metrics exports them under blackbox_exporter's names;
  per-type sample counters and the event bus counters move.
- 30,000 checks whose last samples are restored from the store at start:
  one scrape is formatted in slices across loop turns (the counter says it
  yielded), yet holds every check exactly once, each metric family's lines
  together (the text format's rule), and /healthz keeps answering meanwhile.
"""
import os
import sqlite3
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

ENV = {}


def test_values_reach_the_api_the_store_and_metrics():
    ng = h.Nginx()
    ng.start()
    try:
        cfg = h.make_config([h.http_check("web", ng.url("/health"), interval="300ms", timeout="250ms"),
                             h.tcp_check("port", f"127.0.0.1:{ng.port}", interval="300ms", timeout="250ms")])
        o = h.track(h.Opshub(cfg))
        o.start()
        o.wait_samples("web", 2)
        o.wait_samples("port", 2)
        s = o.samples("web", "?limit=1")["samples"][0]
        v = s["values"]
        h.eq(v["http_status_code"], 200, "http_status_code value")
        h.eq(v["http_ssl"], 0, "http_ssl value")
        h.eq(v["http_version"], 1.1, "http_version value")
        for phase in ("phase_connect_seconds", "phase_processing_seconds", "phase_transfer_seconds"):
            h.check(h.is_num(v.get(phase)) and 0 <= v[phase] < 1, f"{phase} of web: {v}")
        h.check("phase_tls_seconds" not in v, f"no TLS phase over plain http: {v}")
        t = s["timings"]
        h.check(t["connect_ms"] is not None and t["ttfb_ms"] >= t["connect_ms"], f"timings from values: {t}")
        h.eq(t["tls_ms"], None, "no tls timing")
        pv = o.samples("port", "?limit=1")["samples"][0]["values"]
        h.check(pv.get("phase_connect_seconds", -1) >= 0, f"tcp connect value: {pv}")
        h.check("phase_resolve_seconds" not in pv, f"an IP address resolves nothing: {pv}")
        m = o.metrics()
        h.eq(m.get("probe_http_status_code", check="web", project="", type="http"), 200, "probe_http_status_code")
        phases = {lab["phase"] for lab, _ in m.find("probe_http_duration_seconds", check="web")}
        h.check({"connect", "processing", "transfer"} <= phases, f"probe_http_duration_seconds phases {phases}")
        h.check(m.get("opshub_tcp_duration_seconds", check="port", project="", type="tcp", phase="connect")
                is not None, "opshub_tcp_duration_seconds{phase=connect}")
        h.eq(m.types.get("probe_http_duration_seconds"), "gauge", "family type")
        h.check(m.sum("opshub_probes_total", type="http", result="up") >= 2, "opshub_probes_total http up")
        h.check(m.sum("opshub_probes_total", type="tcp", result="up") >= 2, "opshub_probes_total tcp up")
        h.check(m.get("opshub_events_published_total", kind="sample") >= 4, "sample events published")
        h.check(m.get("opshub_events_published_total", kind="status") >= 2, "status events published")
        seen = set(v) | set(pv)
        h.check(m.get("opshub_sample_value_names") >= len(seen), f"the names of the values seen are known: {seen}")
        h.eq(m.get("opshub_sample_values_refused_total"), 0.0, "no value refused")
        # read back from the store after a restart: the same values
        o.stop()
        cfg_slow = h.make_config([h.http_check("web", ng.url("/health"), interval="1h", timeout="1s"),
                                  h.tcp_check("port", f"127.0.0.1:{ng.port}", interval="1h", timeout="1s")])
        o.write_config(cfg_slow)
        o.start()
        stored = o.samples("web", "?limit=1")["samples"][0]
        h.eq(stored["values"]["http_status_code"], 200, "stored http_status_code")
        h.eq(set(stored["values"]), set(v), "stored value names")
        last = o.check_json("web")["last_sample"]
        h.check(last is not None and last["values"].get("http_status_code") == 200,
                f"restored last sample carries values: {last}")
        o.stop()
    finally:
        ng.close()


N = 30000


def seed(db, n):
    con = sqlite3.connect(db, timeout=30)
    now = int(time.time() * 1000)
    con.executemany("INSERT INTO samples (check_id, ts, result, latency_ms, code, error, values_json)"
                    " VALUES (?,?,?,?,?,?,?)",
                    ((f"c{i:05d}", now - 500, 2, 0.1, 0, "connection refused",
                      '{"phase_connect_seconds":0.0001,"extra_ratio":0.5}') for i in range(n)))
    con.commit()
    con.close()


def test_a_big_scrape_is_sliced_complete_and_grouped():
    refuse = h.closed_port()
    lines = ["checks:"]
    lines += [f"- {{id: c{i:05d}, type: tcp, address: '127.0.0.1:{refuse}', interval: 365d}}" for i in range(N)]
    o = h.track(h.Opshub("\n".join(lines) + "\n"))
    o.start(timeout=60)
    o.stop()
    seed(os.path.join(o.data_dir, "opshub.db"), N)
    o.start(timeout=60)
    o.wait_log("restored the last samples", timeout=60)
    stop = threading.Event()
    lat = []

    def ping():
        while not stop.is_set():
            t0 = time.monotonic()
            r = h.http_request(o.cur_port, "GET", "/healthz")
            lat.append((t0, time.monotonic() - t0, r.status))

    th = threading.Thread(target=ping, daemon=True)
    th.start()
    t0 = time.monotonic()
    r = o.request("GET", "/metrics", timeout=60)
    t1 = time.monotonic()
    stop.set()
    th.join(10)
    h.eq(r.status, 200, "/metrics status")
    text = r.text
    m = h.Metrics(text)   # raises on a duplicate series or a bad line
    # every check exactly once in each per-check family
    for name in ("probe_success", "probe_duration_seconds", "opshub_check_status"):
        h.eq(len(m.find(name)), N, f"{name} series")
    h.eq(len(m.find("opshub_tcp_duration_seconds", phase="connect")), N, "declared value series")
    h.eq(len([1 for lab, _ in m.find("opshub_check_value") if lab.get("name") == "extra_ratio"]), N,
         "undeclared value series")
    # a family's lines stay together: once another family starts, it never comes back
    seen, current = set(), None
    for ln in text.splitlines():
        if not ln or ln.startswith("#"):
            continue
        name = ln.split("{", 1)[0].split(" ", 1)[0]
        for suffix in ("_bucket", "_sum", "_count"):
            if name.endswith(suffix) and m.types.get(name[:-len(suffix)]) == "histogram":
                name = name[:-len(suffix)]
        if name != current:
            h.check(name not in seen, f"family {name} is split")
            seen.add(name)
            current = name
    h.check(m.get("opshub_metrics_slices_total") >= 1, "the scrape yielded the loop at least once")
    during = [x for x in lat if t0 <= x[0] < t1]
    h.check(all(st == 200 for _, _, st in during), "healthz answered 200 during the scrape")
    h.check(len(during) >= 2, f"healthz was answered during the scrape ({len(during)} times in {t1 - t0:.2f} s)")
    print(f"  /metrics: {len(text) / 1e6:.1f} MB for {N} checks in {t1 - t0:.2f} s; /healthz answered "
          f"{len(during)} times meanwhile, slowest {max(d for _, d, _ in during) * 1000:.1f} ms")
    o.stop()


if __name__ == "__main__":
    h.run(h.collect(globals()), test_timeout=240)
