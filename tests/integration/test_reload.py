"""
Integration tests of SIGHUP reload: an added check starts, a removed one stops (no new
samples, gone from the API and /metrics), an unchanged one keeps its status, since and
sample history, a changed one restarts; a broken file is rejected with a FILE:LINE:COL
`config error` log line, the old checks keep running and the failure is counted.
"""
# ctest: RUN_SERIAL
# (CMakeLists.txt reads the line above: nothing else of the suite runs meanwhile)
# because the 1 s schedule's gaps across a reload are asserted in milliseconds.
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

ENV = {}


def v1_checks():
    n = ENV["nginx"]
    return [
        h.http_check("keep", n.url("/health"), labels={"tier": "1"}),
        h.http_check("gone", n.url("/health")),
        h.http_check("changed", n.url("/health")),
    ]


def v2_checks():
    n = ENV["nginx"]
    return [
        h.http_check("added", n.url("/health")),
        h.http_check("changed", n.url("/down")),
        h.http_check("keep", n.url("/health"), labels={"tier": "1"}),   # same definition, new position
    ]


def setup():
    ENV["nginx"] = h.Nginx().start()
    o = ENV["o"] = h.track(h.Opshub(h.make_config(v1_checks())))
    o.start()
    o.wait_samples("keep", 3, timeout=20)
    o.wait_samples("gone", 2, timeout=10)
    o.wait_status("changed", "up", timeout=10)


def O():
    return ENV["o"]


def log_prefix(o, prefix):
    return [x for x in o.logs() if str(x.get("msg", "")).startswith(prefix)]


def count_of(v):
    return len(v) if isinstance(v, list) else v


def sqlite_count(cid, since_ms=0):
    return int(O().sqlite(f"SELECT count(*) FROM samples WHERE check_id='{cid}' AND ts >= {since_ms}"))


# --------------------------------------------------------------------------------

def test_reload_adds_removes_and_keeps():
    o = O()
    before = o.check_json("keep")
    before_samples = o.samples("keep", "limit=1000")["samples"]
    oldest_before = before_samples[-1]["ts_ms"]
    changed_before = o.check_json("changed")
    m0 = o.metrics()
    ok0 = m0.get("opshub_config_reloads_total", result="success") or 0

    o.reload(h.make_config(v2_checks()))
    t_reload = h.now_ms()
    line = o.wait_log("config reloaded", timeout=10)[0]
    h.eq({k: count_of(line.get(k)) for k in ("added", "removed", "changed", "unchanged")},
         {"added": 1, "removed": 1, "changed": 1, "unchanged": 1}, "config reloaded log fields")

    # the list follows the new file
    ids = [c["id"] for c in o.get_json("/api/v1/checks")["checks"]]
    h.eq(ids, ["added", "changed", "keep"], "checks after reload, in the new configuration order")

    # added starts
    o.wait_status("added", "up", timeout=8)
    o.wait_samples("added", 1, timeout=8)

    # removed is gone from the API and /metrics
    r = o.get("/api/v1/checks/gone")
    h.eq(r.status, 404, "GET a removed check")
    m = o.metrics()
    h.check(not m.find("probe_success", check="gone") and not m.find("opshub_check_status", check="gone"),
            "series of the removed check still in /metrics")
    h.eq(m.get("opshub_checks_configured"), 3.0, "opshub_checks_configured after reload")
    h.eq(m.get("opshub_config_reloads_total", result="success"), ok0 + 1, "reloads_total{success}")

    # unchanged keeps status, since and history
    after = o.check_json("keep")
    h.eq(after["status"], before["status"], "keep status across reload")
    h.eq(after["since"], before["since"], "keep since across reload (no reset)")
    h.check(after["uptime_24h"] is not None, "keep uptime_24h reset to null")
    after_samples = o.samples("keep", "limit=1000")["samples"]
    h.check(len(after_samples) >= len(before_samples), "keep sample history shrank")
    h.check(oldest_before in [x["ts_ms"] for x in after_samples], "keep's oldest sample vanished")

    # changed restarts with fresh state and its new definition
    c = o.wait_status("changed", "down", timeout=8)
    h.check(c["since"] != changed_before["since"], "changed check kept its old since")
    h.eq(c["last_sample"]["code"], 503, "changed check probes its new URL")

    # unchanged keeps its schedule: no gap around the reload
    time.sleep(1.5)   # collect samples after the reload (nothing to await: absence of gaps)
    ts = sorted(x["ts_ms"] for x in o.samples("keep", "limit=1000")["samples"]
                if t_reload - 4000 <= x["ts_ms"])
    gaps = [b - a for a, b in zip(ts, ts[1:])]
    h.check(gaps and max(gaps) <= 1700, f"keep's 1s schedule was disturbed by the reload: gaps {gaps}")

    # removed one takes no more samples (allow an in-flight run to land first)
    time.sleep(1.5)
    n1 = sqlite_count("gone")
    time.sleep(2.5)
    n2 = sqlite_count("gone")
    h.eq(n2, n1, "samples of the removed check keep coming")
    h.check(sqlite_count("keep", t_reload + 2000) >= 2, "keep stopped taking samples")


def test_broken_config_is_rejected_and_old_checks_keep_running():
    o = O()
    good = h.make_config(v2_checks())
    n_lines = good.count("\n")
    bad = good + ("  - id: broken\n"
                  "    type: http\n"
                  f"    url: {ENV['nginx'].url('/health')}\n"
                  "    bogus_key: 1\n")
    bad_line = n_lines + 4
    fail0 = o.metrics().get("opshub_config_reloads_total", result="failure") or 0
    errors0 = len(o.log_lines("config error"))
    keep0 = o.check_json("keep")
    t0 = h.now_ms()

    o.reload(bad)
    lines = h.wait_for(lambda: (lambda l: l if len(l) > errors0 else None)(o.log_lines("config error")),
                       10, "a 'config error' log line")
    errs = [str(x.get("error", "")) for x in lines[errors0:]]
    want = f"{o.config_path}:{bad_line}:5:"
    h.check(any(e.startswith(want) for e in errs), f"config error lines {errs} lack {want!r}")
    h.check(any("bogus_key" in e for e in errs), f"config error does not name the key: {errs}")
    h.wait_for(lambda: log_prefix(o, "config reload rejected"), 5, "'config reload rejected' log line")
    h.wait_for(lambda: (o.metrics().get("opshub_config_reloads_total", result="failure") or 0) == fail0 + 1,
               5, f"opshub_config_reloads_total{{result=failure}} == {fail0 + 1}")

    h.check(o.running(), "opshub exited on a broken config")
    ids = [c["id"] for c in o.get_json("/api/v1/checks")["checks"]]
    h.eq(ids, ["added", "changed", "keep"], "checks after a rejected reload")
    h.wait_for(lambda: sqlite_count("keep", t0 + 1500) >= 2, 8, "keep to go on probing after the rejection")
    h.eq(o.check_json("keep")["since"], keep0["since"], "keep since after a rejected reload")

    # a file that is not even YAML is rejected the same way
    o.reload("checks: [ {id: x, type: http\n  url: [\n")
    h.wait_for(lambda: (o.metrics().get("opshub_config_reloads_total", result="failure") or 0) == fail0 + 2,
               5, "second failure counted")
    h.check(o.running(), "opshub exited on an unparsable config")
    h.eq(o.get("/health/ready").status, 200, "ready after rejected reloads")

    # and a good file is accepted again afterwards
    o.reload(h.make_config(v1_checks()))
    h.wait_for(lambda: o.get("/api/v1/checks/gone").status == 200, 8, "gone to be back after a good reload")
    o.stop()


if __name__ == "__main__":
    h.run(h.collect(globals()), setup=setup, test_timeout=90)
