"""
Integration tests of storage durability: opshub on a real PostgreSQL that goes away and
comes back (readiness flips, probing goes on, outage samples are written later, no
password in the log); kill -9 during heavy SQLite writes (store stays intact); SIGTERM
(exit 0, the samples taken just before are stored).
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

ENV = {}
PASSWORD = "s3cretpw"


def setup():
    ENV["nginx"] = h.Nginx().start()


def nginx_checks(n, prefix, interval="1s"):
    return [h.http_check(f"{prefix}{i:03d}", ENV["nginx"].url("/health"), interval=interval, timeout="500ms")
            for i in range(n)]


# --------------------------------------------------------------------------------

def test_postgres_outage_and_recovery():
    pg = h.Postgres().start()
    o = h.track(h.Opshub(h.make_config(nginx_checks(3, "pg"), storage_url=pg.url(PASSWORD))))
    try:
        o.start()
        h.wait_for(lambda: o.get("/health/db").status == 200, 10, "/health/db 200")
        h.eq(o.get_json("/health/db").get("database"), "connected", "/health/db database")
        h.wait_for(lambda: int(pg.psql("SELECT count(*) FROM samples")) >= 3, 15, "samples in PostgreSQL")
        h.eq(o.get("/health/ready").status, 200, "ready with PostgreSQL up")

        t_stop = h.now_ms()
        pg.stop("fast")
        h.wait_for(lambda: o.get("/health/ready").status == 503, 12, "/health/ready 503 after PostgreSQL stopped")
        r = o.get("/health/ready")
        h.eq(r.json(), {"ready": False, "reason": "database unavailable"}, "/health/ready body when the db is down")
        r = o.get("/health/db")
        h.eq(r.status, 503, "/health/db status when the db is down")
        h.eq(r.json().get("database"), "disconnected", "/health/db body when the db is down")
        r = o.get("/health")
        h.eq((r.status, r.json().get("status")), (503, "down"), "/health when the db is down")
        h.eq(r.json()["checks"]["database"]["status"], "down", "/health checks.database.status")
        h.eq(o.get("/health/live").status, 200, "/health/live while the db is down")
        r = o.get("/api/v1/checks/pg000/samples")
        h.eq(r.status, 503, "samples endpoint while the db is down")
        h.eq(r.json().get("error", {}).get("code"), "unavailable", "samples error code while the db is down")

        p1 = o.metrics().sum("opshub_probes_total")
        h.wait_for(lambda: o.metrics().sum("opshub_probes_total") >= p1 + 6, 8, "probing to go on during the outage")
        m = o.metrics()
        h.eq(m.get("opshub_store_connected"), 0.0, "opshub_store_connected during the outage")
        h.check((m.get("opshub_store_buffered_samples") or 0) > 0, "no samples buffered during the outage")
        h.eq(o.check_json("pg000")["status"], "up", "check status during the outage (in memory)")

        t_restart = h.now_ms()
        pg.start()   # same dir, same port
        h.wait_for(lambda: o.get("/health/ready").status == 200, 25, "/health/ready 200 after PostgreSQL is back")
        h.eq(o.get_json("/health/db").get("database"), "connected", "/health/db after recovery")
        q = f"SELECT count(*) FROM samples WHERE ts >= {t_stop} AND ts <= {t_restart}"
        n = h.wait_for(lambda: int(pg.psql(q)), 15, "outage samples written to PostgreSQL")
        print(f"# samples taken during the {(t_restart - t_stop) / 1000:.1f}s outage and stored later: {n}")
        got = o.samples("pg000", f"from={t_stop // 1000}&to={t_restart // 1000}")["samples"]
        h.check(got, "samples endpoint shows no samples of the outage window")
        h.wait_for(lambda: (o.metrics().get("opshub_store_buffered_samples") or 0) < 10, 10, "the buffer to drain")
        o.stop()
        for name, text in (("log", o.log_text()), ("stdout", open(o.stdout_path, errors="replace").read())):
            h.check(PASSWORD not in text, f"the database password appears in opshub's {name}")
    finally:
        o.close()
        pg.close()


def test_kill_9_during_heavy_sqlite_writes():
    o = h.track(h.Opshub(h.make_config(nginx_checks(200, "k"))))
    try:
        o.start()
        h.wait_for(lambda: (o.metrics().get("opshub_store_samples_written_total") or 0) >= 400, 15,
                   "400 samples written")
        written = o.metrics().get("opshub_store_samples_written_total")
        o.kill()
        h.check(o.proc.returncode == -9, f"opshub exit after SIGKILL: {o.proc.returncode}")
        n = int(o.sqlite("SELECT count(*) FROM samples"))
        print(f"# samples_written_total before kill -9: {written:.0f}; rows on disk after it: {n}")
        h.check(n >= written, f"acknowledged samples lost: written_total {written} > rows {n}")
        o.start()
        h.wait_for(lambda: o.get("/health/ready").status == 200, 15, "ready after kill -9 and restart")
        h.eq(o.sqlite("PRAGMA integrity_check"), "ok", "PRAGMA integrity_check after kill -9")
        s = o.samples("k000", "limit=10")["samples"]
        h.check(s, "samples query after restart returns nothing for k000")
        h.wait_for(lambda: o.samples("k199", "limit=1")["samples"][0]["ts_ms"] > h.now_ms() - 3000, 10,
                   "probing and storing resumes after restart")
        o.stop()
        h.eq(o.sqlite("PRAGMA integrity_check"), "ok", "PRAGMA integrity_check after clean stop")
    finally:
        o.close()


def test_sigterm_stores_samples_taken_just_before():
    o = h.track(h.Opshub(h.make_config(nginx_checks(20, "t"))))
    try:
        o.start()
        h.wait_for(lambda: all(c["last_sample"] for c in o.get_json("/api/v1/checks")["checks"]), 10,
                   "every check sampled")
        h.wait_for(lambda: min(c["last_sample"]["ts_ms"] for c in o.get_json("/api/v1/checks")["checks"])
                   > h.now_ms() - 1500, 10, "a fresh round of samples")
        last = {c["id"]: c["last_sample"]["ts_ms"] for c in o.get_json("/api/v1/checks")["checks"]}
        code = o.stop(timeout=15)
        h.eq(code, 0, "exit code after SIGTERM")
        missing = []
        for cid, ts in last.items():
            if int(o.sqlite(f"SELECT count(*) FROM samples WHERE check_id='{cid}' AND ts={ts}")) != 1:
                missing.append((cid, ts))
        h.check(not missing, f"samples shown by the API just before SIGTERM are not stored: {missing}")
        o.start()
        got = [x["ts_ms"] for x in o.samples("t000", "limit=100")["samples"]]
        h.check(last["t000"] in got, f"sample {last['t000']} of t000 missing after restart")
        o.stop()
    finally:
        o.close()


if __name__ == "__main__":
    h.run(h.collect(globals()), setup=setup, test_timeout=120)
