#!/usr/bin/env python3
"""What a restart keeps: a check's uptime over the last day (from the
store's hourly rollups) and its last sample, both there before the first
new run. Runs are triggered with POST /run so the schedule (interval 1h)
never adds samples of its own."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402


def config(t, path):
    return h.make_config([h.http_check("flip", t.url(path), interval="1h", timeout="2s"),
                          h.http_check("web", t.url("/ok"), interval="1h", timeout="2s")])


def run(o, cid, n, want):
    for _ in range(n):
        r = o.post_json(f"/api/v1/checks/{cid}/run")
        h.eq(r["sample"]["result"], want, f"run of {cid}")


def test_uptime_survives_a_restart():
    t = h.Target()
    try:
        o = h.track(h.Opshub(config(t, "/ok")))
        o.start()
        run(o, "flip", 3, "up")
        run(o, "web", 2, "up")
        # the same id now fails: a changed definition starts with fresh state,
        # but its stored samples stay the check's history
        o.reload(config(t, "/status/500"))
        h.wait_for(lambda: o.check_json("flip")["status"] == "unknown", 10, "the changed check to restart")
        run(o, "flip", 2, "down")
        h.eq(o.check_json("flip")["uptime_24h"], 0.0, "flip's uptime since the change")
        o.stop()   # flushes every sample and its rollup
        o.start()
        o.wait_log("restored the uptime of the last day", timeout=15)
        # the schedule is 1h, spread by the id's hash: no run of its own yet
        h.eq(o.check_json("flip")["uptime_24h"], 60.0, "flip: 3 up of 5 over the day, right after the restart")
        h.eq(o.check_json("web")["uptime_24h"], 100.0, "web right after the restart")
        h.eq(o.check_json("flip")["status"], "down", "flip's status from its last sample")
        # new runs count on top of the restored ones
        run(o, "flip", 1, "down")
        h.eq(o.check_json("flip")["uptime_24h"], 50.0, "flip: 3 up of 6")
        line = o.log_lines("restored the uptime of the last day")[-1]
        h.check(line.get("rows", 0) >= 2, f"rows restored: {line}")
        o.stop()
    finally:
        t.close()


def test_uptime_after_a_crash_reads_the_samples():
    """Rollups are added every few minutes; a SIGKILL before that leaves
    only the stored samples, and the restart reads those instead."""
    t = h.Target()
    try:
        o = h.track(h.Opshub(config(t, "/ok")))
        o.start()
        run(o, "flip", 3, "up")
        o.reload(config(t, "/status/500"))
        h.wait_for(lambda: o.check_json("flip")["status"] == "unknown", 10, "the changed check to restart")
        run(o, "flip", 1, "down")
        # every sample is in the store (the samples API reads it) before the kill
        h.wait_for(lambda: len(o.get_json("/api/v1/checks/flip/samples")["samples"]) == 4, 10,
                   "the four samples to be stored")
        o.kill()
        o.start()
        o.wait_log("restored the uptime of the last day", timeout=15)
        h.eq(o.check_json("flip")["uptime_24h"], 75.0, "flip: 3 up of 4, from the samples")
        h.eq(o.check_json("web")["uptime_24h"], None, "web never ran")
        o.stop()
    finally:
        t.close()


if __name__ == "__main__":
    h.run(h.collect(globals()))
