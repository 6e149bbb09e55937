"""
Integration tests of the postgres check type: the real opshub probing a real PostgreSQL
started here (scripts/pg-test.sh through harness.Postgres) with max_connections 20 (17 open to
non-superusers) and a role `app` that logs in with a password (scram-sha-256; the superuser
keeps trust). Expected: a healthy server -> up with every value on the samples API, /metrics
and `opshub check --json`, the target host:port/dbname; a role without pg_monitor still counts
other roles' sessions; a wrong password -> down "password authentication failed", and neither
password appears in the API, /metrics, `opshub check` or the log; expect_rows not met -> down
naming both counts; a check created through the API has its URL sealed; an open transaction shows in longest_transaction_seconds; the server
stopped -> down "connection refused", up again when it returns; 14 of 17 connections ->
degraded, 17 of 17 -> down, up once released; a streaming replica (pg_basebackup -R) reports
in_recovery 1 and replication_lag_seconds, the primary has no lag value. Bad configuration
gives FILE:LINE:COL from `opshub config check` without the password.
"""
# ctest: COST 19
import json
import os
import secrets
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

ENV = {"held": []}
PSQL = f"{h.PGBIN}/psql"
VALUES = ["connections_used", "connections_max", "connections_used_ratio", "in_recovery", "database_size_bytes",
          "longest_transaction_seconds", "latency_seconds", "phase_connect_seconds", "phase_query_seconds",
          "query_rows"]
METRICS = {"connections_used": "opshub_postgres_connections_used",
           "connections_max": "opshub_postgres_connections_max",
           "connections_used_ratio": "opshub_postgres_connections_used_ratio",
           "in_recovery": "pg_replication_is_replica",
           "database_size_bytes": "pg_database_size_bytes",
           "longest_transaction_seconds": "opshub_postgres_longest_transaction_seconds",
           "latency_seconds": "opshub_postgres_latency_seconds",
           "query_rows": "opshub_postgres_query_rows"}


def pg_check(cid, url, interval="1s", timeout="900ms", **kw):
    c = {"id": cid, "type": "postgres", "url": url, "interval": interval, "timeout": timeout}
    c.update(kw)
    return c


def PG():
    return ENV["pg"]


def O():
    return ENV["o"]


def url(user="opshub", password=None, port=None):
    auth = f"{user}:{password}" if password else user
    return f"postgres://{auth}@127.0.0.1:{port or PG().port}/opshub_test"


def hold(n, sql="SELECT pg_sleep(300)"):
    """Opens n sessions (as the superuser) that stay busy until release()."""
    for _ in range(n):
        ENV["held"].append(subprocess.Popen(
            [PSQL, "-X", "-q", "-At", "-h", "127.0.0.1", "-p", str(PG().port), "-U", "opshub", "-d", "opshub_test",
             "-c", sql], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))


def sessions_sleeping():
    return int(PG().psql("SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(300)%' "
                         "AND pid <> pg_backend_pid()"))


def wait_held(n):
    h.wait_for(lambda: sessions_sleeping() >= n, 20, f"{n} sessions held")


def release():
    # a backend in pg_sleep does not notice its client leaving: end it on the server
    PG().psql("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
              "WHERE query LIKE '%pg_sleep(300)%' AND pid <> pg_backend_pid()")
    for p in ENV["held"]:
        p.terminate()
    for p in ENV["held"]:
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
    ENV["held"] = []
    h.wait_for(lambda: sessions_sleeping() == 0, 20, "held sessions to end")


def setup():
    pg = ENV["pg"] = h.Postgres().start()
    pw = ENV["pw"] = h.secret("app-" + secrets.token_hex(8))
    wrong = ENV["wrong"] = h.secret("wrong-" + secrets.token_hex(8))
    pg.psql("ALTER SYSTEM SET max_connections = 20")
    pg.psql(f"CREATE ROLE app LOGIN PASSWORD '{pw}'")
    hba = os.path.join(pg.dir, "data", "pg_hba.conf")
    with open(hba) as f:
        text = f.read()
    with open(hba, "w") as f:  # in place: the file keeps its owner
        f.write("host all app 127.0.0.1/32 scram-sha-256\n" + text)
    pg.stop()
    pg.start()
    h.eq(pg.psql("SHOW max_connections"), "20", "max_connections")
    checks = [
        pg_check("pg", url()),
        pg_check("app", url("app", pw)),
        pg_check("wrongpw", url("app", wrong)),
        pg_check("rows", url("app", pw), query="SELECT 1", expect_rows=2),
    ]
    o = ENV["o"] = h.track(h.Opshub(h.make_config(checks)))
    o.start()
    h.wait_for(lambda: all(c.get("last_sample") for c in o.get_json("/api/v1/checks")["checks"]), 20,
               "every check to have a sample")


def teardown():
    release_quietly()


def release_quietly():
    for p in ENV["held"]:
        p.kill()
        p.wait()
    ENV["held"] = []


def sample(cid, o=None):
    return (o or O()).check_json(cid)["last_sample"]


def test_healthy_server_is_up_with_every_value():
    c = O().check_json("pg")
    h.eq(c["status"], "up", f"pg status ({c})")
    h.eq(c["target"], f"127.0.0.1:{PG().port}/opshub_test", "target")
    v = c["last_sample"]["values"]
    missing = [n for n in VALUES if n not in v]
    h.check(not missing, f"values missing: {missing} in {v}")
    h.eq(v["connections_max"], 17, "connections_max (20 - 3 reserved)")
    h.eq(v["in_recovery"], 0, "in_recovery")
    h.check("replication_lag_seconds" not in v, f"a primary has no replication lag: {v}")
    h.check(1 <= v["connections_used"] <= 17, f"connections_used {v}")
    h.check(abs(v["connections_used_ratio"] - v["connections_used"] / 17) < 1e-9, f"ratio {v}")
    h.check(v["database_size_bytes"] > 1e6, f"database_size_bytes {v}")
    h.check(0 < v["latency_seconds"] < 0.9, f"latency_seconds {v}")
    h.eq(v["query_rows"], 1, "query_rows")
    samples = O().wait_samples("pg", 1)
    h.check(samples and all(n in samples[0]["values"] for n in VALUES), f"stored samples: {samples[:1]}")


def test_role_without_pg_monitor_counts_other_sessions():
    hold(3)
    wait_held(3)
    t0 = h.now_ms()
    s = h.wait_for(lambda: (lambda x: x if x["ts_ms"] > t0 and x["result"] == "up" else None)(sample("app")), 10,
                   "a fresh sample of app")
    h.check(s["values"]["connections_used"] >= 4, f"app counts the superuser's sessions too: {s['values']}")
    release()


def test_values_on_metrics():
    m = O().metrics()
    for name, metric in METRICS.items():
        got = m.find(metric, check="pg", type="postgres")
        h.check(got, f"{metric} of pg on /metrics")
    h.check(m.find("opshub_postgres_duration_seconds", check="pg", phase="connect"), "connect phase metric")
    h.check(m.find("opshub_postgres_duration_seconds", check="pg", phase="query"), "query phase metric")
    h.check(not m.find("pg_replication_lag_seconds", check="pg"), "no lag metric for a primary")
    h.eq(m.find("opshub_postgres_connections_max", check="pg")[0][1], 17, "connections_max metric")


def test_opshub_check_json_has_the_values_and_no_password():
    r = h.run_cli(["check", "--config", O().config_path, "--json", "pg", "app", "wrongpw", "rows"])
    h.eq(r.returncode, 2, f"exit code ({r.stderr})")
    for s in (ENV["pw"], ENV["wrong"]):
        h.check(s not in r.stdout + r.stderr, "a password in opshub check's output")
    doc = {c["id"]: c for c in json.loads(r.stdout)["checks"]}
    h.eq(doc["pg"]["status"], "up", f"pg ({doc['pg']})")
    missing = [n for n in VALUES if n not in doc["pg"]["values"]]
    h.check(not missing, f"opshub check values missing: {missing}")
    h.eq(doc["wrongpw"]["status"], "down", "wrongpw")
    h.eq(doc["wrongpw"]["error"], 'password authentication failed for user "app"', "wrongpw error")
    r = h.run_cli(["check", "--config", O().config_path, "wrongpw"])
    h.check(ENV["wrong"] not in r.stdout + r.stderr, "the password in the table output")
    h.contains(r.stdout, "password authentication failed", "table output")


def test_wrong_password_is_down_and_no_password_is_shown():
    c = O().check_json("wrongpw")
    h.eq(c["status"], "down", f"wrongpw ({c})")
    h.eq(c["last_sample"]["error"], 'password authentication failed for user "app"', "wrongpw error")
    h.eq(c["target"], f"127.0.0.1:{PG().port}/opshub_test", "wrongpw target")
    h.eq(O().check_json("app")["status"], "up", "app with the right password")
    texts = [O().get("/api/v1/checks").body.decode(), O().get("/api/v1/checks/wrongpw").body.decode(),
             O().get("/api/v1/checks/app/samples").body.decode(), O().get("/api/v1/checks/wrongpw/samples").body.decode(),
             O().metrics().text, O().log_text()]
    for t in texts:
        for s in (ENV["pw"], ENV["wrong"]):
            h.check(s not in t, "a password in the API, /metrics or the log")


def test_expect_rows_mismatch_is_down():
    s = sample("rows")
    h.eq(s["result"], "down", f"rows ({s})")
    h.eq(s["error"], "query returned 1 rows, expected 2", "rows error")
    h.eq(s["values"]["query_rows"], 1, "query_rows")


def test_long_transaction_shows():
    hold(1, "BEGIN; SELECT 1; SELECT pg_sleep(300)")
    h.wait_for(lambda: sessions_sleeping() >= 1, 20, "the transaction to start")
    s = h.wait_for(lambda: (lambda x: x if x["values"].get("longest_transaction_seconds", 0) >= 2 else None)(
        sample("pg")), 15, "longest_transaction_seconds >= 2")
    h.eq(s["result"], "up", "an old transaction alone is no failure")
    release()


def test_server_stopped_is_down_and_returns():
    PG().stop()
    c = h.wait_for(lambda: (lambda x: x if x["status"] == "down" else None)(O().check_json("pg")), 15, "pg down")
    h.eq(c["last_sample"]["error"], "connection refused", "reason with the server stopped")
    h.eq(c["last_sample"]["values"], {}, "no values without a connection")
    PG().start()
    O().wait_status("pg", "up", 20)
    O().wait_status("app", "up", 20)


def test_api_created_check_seals_the_url():
    o = O()
    r = o.post("/api/v1/checks", body=pg_check("api-pg", url("app", ENV["pw"])))
    h.eq(r.status, 201, f"create ({r.body[:300]!r})")
    o.wait_status("api-pg", "up", 15)
    row = h.sqlite_query(o.db_path, "SELECT definition || '|' || secret FROM api_objects WHERE id = 'api-pg'")
    h.contains(row, "|v1:", "the URL sealed in the stored row")
    texts = [r.text, row, o.get("/api/v1/checks/api-pg").body.decode(), o.get("/api/v1/audit").body.decode(),
             o.log_text()]
    for t in texts:
        h.check(ENV["pw"] not in t, "the password in an answer, the stored row, the audit log or the log")
    h.eq(o.check_json("api-pg")["target"], f"127.0.0.1:{PG().port}/opshub_test", "target of the API check")


def test_main_opshub_stops_cleanly():
    O().stop()


def test_pool_over_80_percent_is_degraded_then_down():
    # a daemon of its own with this one check, so that no other probe takes a connection
    o = ENV["o2"] = h.track(h.Opshub(h.make_config([pg_check("pool", url())])))
    o.start()
    o.wait_status("pool", "up", 15)
    hold(13)  # + the probe's own = 14 of 17
    wait_held(13)
    # exact counts: a sample taken while wait_held's psql was connected counts one more
    want = "connections_used_ratio 0.8235 is above connections_warn 0.8 (14 of 17)"
    s = h.wait_for(lambda: (lambda x: x if x["error"] == want else None)(sample("pool", o)), 15,
                   f"pool degraded with {want!r}")
    h.eq(s["result"], "degraded", "14 of 17")
    hold(3)  # 17 of 17
    wait_held(16)
    want = "connections_used_ratio 1 is above connections_crit 0.95 (17 of 17)"
    s = h.wait_for(lambda: (lambda x: x if x["error"] == want else None)(sample("pool", o)), 15,
                   f"pool down with {want!r}")
    h.eq(s["result"], "down", "17 of 17")
    h.eq(s["values"]["connections_used"], 17, "connections_used")
    r = h.run_cli(["check", "--config", o.config_path, "--json", "pool"])
    h.eq(r.returncode, 2, "opshub check exit code with the pool full")
    h.contains(r.stdout, "is above connections_crit 0.95", "opshub check reason")
    release()
    o.wait_status("pool", "up", 15)
    o.stop()


def test_replica_reports_replication_lag():
    pg = PG()
    rep = ENV["rep"] = h.Postgres()
    r = subprocess.run([f"{h.PGBIN}/pg_basebackup", "-D", os.path.join(rep.dir, "data"), "-R", "-X", "stream",
                        "-c", "fast", "-h", "127.0.0.1", "-p", str(pg.port), "-U", "opshub"],
                       capture_output=True, text=True, timeout=120)
    h.check(r.returncode == 0, f"pg_basebackup failed: {r.stderr}")
    rep.start()
    h.eq(rep.psql("SELECT pg_is_in_recovery()"), "t", "the copy is a replica")
    pg.psql("CREATE TABLE IF NOT EXISTS t (n int); INSERT INTO t VALUES (1)")
    h.wait_for(lambda: rep.psql("SELECT count(*) FROM t") == "1", 20, "the replica to replay the insert")
    o = h.track(h.Opshub(h.make_config([pg_check("primary", url()), pg_check("replica", url(port=rep.port))])))
    o.start()
    o.wait_status("replica", "up", 15)
    o.wait_status("primary", "up", 15)
    v = sample("replica", o)["values"]
    h.eq(v["in_recovery"], 1, "in_recovery of the replica")
    h.check("replication_lag_seconds" in v and 0 <= v["replication_lag_seconds"] < 30,
            f"replication_lag_seconds of the replica: {v}")
    p = sample("primary", o)["values"]
    h.check("replication_lag_seconds" not in p, f"the primary has no lag: {p}")
    h.eq(p["in_recovery"], 0, "in_recovery of the primary")
    m = o.metrics()
    h.check(m.find("pg_replication_lag_seconds", check="replica"), "lag metric of the replica")
    h.check(not m.find("pg_replication_lag_seconds", check="primary"), "no lag metric of the primary")
    o.stop()
    rep.close()


def test_bad_config_reports_file_line_col_without_the_password():
    tmp = h.TempDir("opshub-pg-conf-")
    path = tmp.join("bad.yaml")
    with open(path, "w") as f:
        f.write("checks:\n"
                "  - id: a\n"
                "    type: postgres\n"
                f"    url: http://app:{ENV['pw']}@db/x\n"
                "  - id: b\n"
                "    type: postgres\n"
                f"    url: postgres://app:{ENV['pw']}@db/x?nope=1\n"
                "    connections_warn: 0.9\n"
                "    connections_crit: 0.5\n"
                "    replication_lag_warn: 1m\n"
                "    replication_lag_crit: 10s\n"
                "    expect_rows: -3\n"
                "    query: ''\n")
    r = h.run_cli(["config", "check", "--config", path])
    h.eq(r.returncode, 2, f"exit code of config check ({r.stdout} {r.stderr})")
    out = r.stdout + r.stderr
    h.check(ENV["pw"] not in out, "the password in config check's output")
    h.contains(out, f"{path}:4:10: url must start with postgres:// or postgresql://, got 'http://app:***@db/x'",
               "scheme error")
    h.contains(out, f"{path}:7:10: url is not a valid PostgreSQL URL: invalid URI query parameter: \"nope\"",
               "URL error")
    h.contains(out, f"{path}:8:23: connections_warn (0.9) must not be above connections_crit (0.5)", "ratios")
    h.contains(out, f"{path}:10:27: replication_lag_warn (1m) must not be above replication_lag_crit (10s)", "lags")
    h.contains(out, f"{path}:12:18:", "expect_rows")
    h.contains(out, f"{path}:13:12: query must not be empty", "query")


if __name__ == "__main__":
    h.run(h.collect(globals()), setup=setup, teardown=teardown, test_timeout=90)
