"""
Integration test of queries that reach before the series window (docs/promql.md, "Older than
the window"): the checks' probe_success and probe_duration_seconds of that span are answered
from the minute rollups in the store (the share of samples not down, the average latency, at
each minute's end), merged under the samples the window holds; instant queries over long ranges
(avg_over_time over 2 h) see both.

The rollups of the past are written into the store (as opshub writes them: partial sums per
minute) while opshub is stopped; the series window is set to its minimum (1m), so that nearly
everything the queries read comes from them.
"""
import os
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
from test_query_api import Page  # noqa: E402

MIN = 60000


def query(o, path, **params):
    r = o.get_json(path + "?" + urllib.parse.urlencode(params))
    h.eq(r["status"], "success", f"{path} {params}")
    return r["data"]["result"]


def test_queries_before_the_window_read_the_rollups():
    page = Page()
    page.set("ok\n")
    cfg = h.make_config(
        [h.http_check("api", f"http://127.0.0.1:{page.port}/", interval="500ms", timeout="400ms", project="shop")],
        projects=[{"id": "shop", "name": "Shop"}]) + "series: {window: 1m}\n"
    o = h.track(h.Opshub(cfg))
    try:
        o.start()
        o.wait_status("api", "up")
        o.stop()
        # the past: minutes 120..11 ago; every 10th minute half down; latency 100 ms + the minute's index
        now_min = int(time.time() * 1000) // MIN
        rows, want = [], {}
        for k in range(11, 121):
            bucket = (now_min - k) * MIN
            down = 3 if k % 10 == 0 else 0
            lat = 100 + k
            rows.append(f"('api', {bucket}, 6, {6 - down}, 0, {down}, {6 - down}, {lat * (6 - down)}, {lat}, {lat}, 'v1;0;')")
            want[bucket + MIN - 1] = ((6 - down) / 6, lat / 1000)
        h.sqlite_query(o.db_path, "INSERT INTO rollup_minutes (check_id, bucket, total, up, degraded, down, lat_n, "
                                  "lat_sum, lat_min, lat_max, sketch) VALUES " + ", ".join(rows) + ";")
        o.start()
        o.wait_status("api", "up")
        time.sleep(1)
        end = time.time()
        start = end - 2 * 3600
        # a range query at the rollups' own times: one point per minute, the minute's value
        res = query(o, "/api/v1/query_range", query='probe_success{check="api"}', start=f"{start:.3f}",
                    end=f"{end:.3f}", step="60")
        h.eq(len(res), 1, "one series")
        h.eq(res[0]["metric"], {"__name__": "probe_success", "check": "api", "project": "shop", "type": "http"},
             "the check's labels")
        got = {round(float(t) * 1000): float(v) for t, v in res[0]["values"]}
        h.check(len(got) >= 100, f"points over the two hours ({len(got)})")
        # each point is the last value at or before it: the minute whose end came last
        for t_ms, v in got.items():
            older = [b for b in want if b <= t_ms]
            if older and t_ms < (now_min - 10) * MIN:
                h.eq(v, want[max(older)][0], f"probe_success at {t_ms}")
        half = sum(1 for v in got.values() if v == 0.5)
        h.check(half >= 10, f"the half-down minutes are there ({half})")
        # latency: the minute's average
        dur = query(o, "/api/v1/query", query='probe_duration_seconds{check="api"}',
                    time=f"{((now_min - 50) * MIN + MIN - 1) / 1000:.3f}")
        h.eq([float(s["value"][1]) for s in dur], [want[(now_min - 50) * MIN + MIN - 1][1]],
             "probe_duration_seconds 50 minutes ago")
        # over the whole span: the rollups and the window together
        avg = query(o, "/api/v1/query", query='avg_over_time(probe_success{check="api"}[2h])',
                    time=f"{end:.3f}")
        values = [v[0] for v in want.values()]
        n_live = float(query(o, "/api/v1/query", query='count_over_time(probe_success{check="api"}[2h])',
                             time=f"{end:.3f}")[0]["value"][1]) - len(values)
        h.check(n_live >= 1, f"samples of the window too ({n_live})")
        expected = (sum(values) + n_live) / (len(values) + n_live)
        h.check(abs(float(avg[0]["value"][1]) - expected) < 1e-9,
                f"avg_over_time over 2h: {avg[0]['value'][1]} != {expected}")
        # a query inside the window reads no rollup
        recent = query(o, "/api/v1/query", query='count_over_time(probe_success{check="api"}[30s])',
                       time=f"{end:.3f}")
        h.check(float(recent[0]["value"][1]) <= 61, "inside the window: only the window's samples")
        o.stop()
    finally:
        o.kill()
        page.close()


if __name__ == "__main__":
    h.run(h.collect(globals()))
