"""
Integration tests of the redis check type: the real opshub probing real redis-servers this
file starts on free loopback ports (harness.Redis). Expected: a healthy server is up with every
value in the samples API, on /metrics and in `opshub check --json` (all but the eviction rate,
which needs a previous run); requirepass: the right password (AUTH pass, and an ACL user with
AUTH user pass) is up, a wrong one down with the server's WRONGPASS, none down with NOAUTH, and
the password is in no log, API answer, CLI output or stored definition; /5 sends SELECT (the
server counts it), /99 is down "SELECT 99: ERR DB index is out of range"; a server at
maxmemory 2mb with allkeys-lru, filled by the test until it evicts, reports
evicted_keys_per_second > 0 and a memory_used_ratio over the thresholds (degraded or down);
GETs of missing keys bring the hit ratio to 0.6: degraded (and down with hit_ratio_crit 0.7);
a stopped server is down "connection refused" and up again once restarted; rediss:// against
redis-server's own --tls-port (Debian's build has TLS) with a CA and leaf made here with
openssl: up with ca_file, down without it (an untrusted root) and with a server_name the
certificate lacks. Bad configuration gives FILE:LINE:COL from `opshub config check` without
quoting the URL.
"""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

ENV = {}
PASSWORD = h.secret("redis-Pa55-for-opshub")
ACL_PASSWORD = h.secret("acl-user-Pa55word")
TLS_PASSWORD = h.secret("tls-redis-Pa55word")
WRONG = h.secret("not-the-Pa55word")

VALUES = ["used_memory_bytes", "maxmemory_bytes", "memory_used_ratio", "keyspace_hit_ratio",
          "evicted_keys_per_second", "connected_clients", "rdb_last_save_age_seconds", "rdb_last_bgsave_ok",
          "latency_seconds", "uptime_seconds"]
METRICS = {"used_memory_bytes": "redis_memory_used_bytes", "maxmemory_bytes": "redis_memory_max_bytes",
           "memory_used_ratio": "opshub_redis_memory_used_ratio",
           "keyspace_hit_ratio": "opshub_redis_keyspace_hit_ratio",
           "evicted_keys_per_second": "opshub_redis_evicted_keys_per_second",
           "connected_clients": "redis_connected_clients",
           "rdb_last_save_age_seconds": "opshub_redis_rdb_last_save_age_seconds",
           "rdb_last_bgsave_ok": "redis_rdb_last_bgsave_status", "latency_seconds": "opshub_redis_latency_seconds",
           "uptime_seconds": "redis_uptime_in_seconds"}


def openssl(*args, cwd):
    r = subprocess.run(["openssl"] + list(args), cwd=cwd, capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise AssertionError(f"openssl {' '.join(args)} failed: {r.stderr}")


def make_certs(d):
    """A test CA and a leaf for 127.0.0.1/localhost signed by it, in directory d."""
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", "ca.key", "-out", "ca.pem", "-days", "30", "-subj", "/CN=opshub redis test CA", cwd=d)
    openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", "leaf.key", "-out", "leaf.csr", "-subj", "/CN=redis.opshub.test", cwd=d)
    with open(os.path.join(d, "leaf.ext"), "w") as f:
        f.write("basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                "extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n")
    openssl("x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-days", "30", "-extfile", "leaf.ext", "-out", "leaf.pem", cwd=d)
    return {"cert": f"{d}/leaf.pem", "key": f"{d}/leaf.key", "ca": f"{d}/ca.pem"}


def redis_check(cid, url, interval="1s", timeout="800ms", **kw):
    c = {"id": cid, "type": "redis", "url": url, "interval": interval, "timeout": timeout}
    c.update(kw)
    return c


def setup():
    tmp = ENV["tmp"] = h.TempDir("opshub-redis-it-")
    certs = make_certs(tmp.path)
    plain = ENV["plain"] = h.Redis(maxmemory="100mb").start()
    auth = ENV["auth"] = h.Redis(password=PASSWORD).start()
    evict = ENV["evict"] = h.Redis(maxmemory="2mb", policy="allkeys-lru").start()
    hits = ENV["hits"] = h.Redis().start()
    bounce = ENV["bounce"] = h.Redis().start()
    tls = ENV["tls"] = h.Redis(password=TLS_PASSWORD, tls=certs).start()
    auth.cli("ACL", "SETUSER", "opshub", "on", ">" + ACL_PASSWORD, "+ping", "+info", "+select")
    plain.pipeline([["SET", "present", "1"], ["GET", "present"]])  # a lookup: the hit ratio exists
    ca = certs["ca"]
    dead = h.closed_port()
    checks = [
        redis_check("healthy", plain.url()),
        redis_check("selectdb", plain.url(db=5)),
        redis_check("nodb", plain.url(db=99)),
        redis_check("auth-ok", auth.url(password=PASSWORD)),
        redis_check("auth-acl", auth.url().replace("redis://", f"redis://opshub:{ACL_PASSWORD}@")),
        redis_check("auth-wrong", auth.url(password=WRONG)),
        redis_check("auth-none", auth.url()),
        redis_check("evict", evict.url(), evictions_warn=0),
        redis_check("hits", hits.url()),
        redis_check("hits-strict", hits.url(), hit_ratio_warn=0.9, hit_ratio_crit=0.7),
        redis_check("bounce", bounce.url()),
        redis_check("tls-ok", tls.url(password=TLS_PASSWORD, tls=True), ca_file=ca, timeout="1500ms",
                    interval="2s"),
        redis_check("tls-untrusted", tls.url(password=TLS_PASSWORD, tls=True), timeout="1500ms", interval="2s"),
        redis_check("tls-othername", tls.url(password=TLS_PASSWORD, tls=True), ca_file=ca,
                    server_name="cache.example.com", timeout="1500ms", interval="2s"),
        redis_check("refused", f"redis://127.0.0.1:{dead}"),
    ]
    ENV["config"] = h.make_config(checks)
    o = ENV["o"] = h.track(h.Opshub(ENV["config"]))
    o.start()

    def all_sampled():
        cs = o.get_json("/api/v1/checks")["checks"]
        return all(c.get("last_sample") for c in cs)
    h.wait_for(all_sampled, 20, "every check to have a sample")


def O():
    return ENV["o"]


def sample(cid):
    return O().check_json(cid)["last_sample"]


def wait_sample(cid, cond, what, timeout=20):
    def ok():
        s = sample(cid)
        return s if s and cond(s) else None
    return h.wait_for(ok, timeout, f"{cid}: {what}")


def test_healthy_has_every_value_in_api_metrics_and_cli():
    o = O()
    # two runs: the second has the eviction rate
    s = wait_sample("healthy", lambda s: "evicted_keys_per_second" in s["values"], "a second run")
    h.eq(s["result"], "up", f"healthy ({s})")
    h.eq(s["error"], "", "healthy's error")
    stored = o.wait_samples("healthy", 2)
    v = stored[0]["values"] if "evicted_keys_per_second" in stored[0]["values"] else stored[-1]["values"]
    missing = [k for k in VALUES if k not in v]
    h.check(not missing, f"values missing from the samples API: {missing} in {v}")
    h.eq(v["maxmemory_bytes"], 100 * 1024 * 1024, "maxmemory_bytes")
    h.check(0 < v["memory_used_ratio"] < 0.1, f"memory_used_ratio {v['memory_used_ratio']}")
    h.eq(v["keyspace_hit_ratio"], 1, "keyspace_hit_ratio")
    h.eq(v["evicted_keys_per_second"], 0, "evicted_keys_per_second")
    h.check(v["connected_clients"] >= 1, f"connected_clients {v}")
    h.eq(v["rdb_last_bgsave_ok"], 1, "rdb_last_bgsave_ok")
    h.check(0 < v["latency_seconds"] < 0.8, f"latency_seconds {v['latency_seconds']}")
    h.check(v["rdb_last_save_age_seconds"] >= 0, f"rdb_last_save_age_seconds {v}")
    m = o.metrics()
    for name, metric in METRICS.items():
        got = m.find(metric, check="healthy")
        h.check(got, f"/metrics has no {metric} for healthy")
    h.eq(m.find("probe_success", check="healthy")[0][1], 1, "probe_success")
    # opshub check --json: one run, so no previous reading and no eviction rate
    cfg = ENV["tmp"].join("cli.yaml")
    with open(cfg, "w") as f:
        f.write(ENV["config"])
    r = h.run_cli(["check", "--config", cfg, "--json", "healthy"])
    h.eq(r.returncode, 0, f"opshub check exit ({r.stdout} {r.stderr})")
    doc = json.loads(r.stdout)
    cv = doc["checks"][0]["values"]
    h.eq(doc["checks"][0]["status"], "up", "CLI status")
    missing = [k for k in VALUES if k not in cv and k != "evicted_keys_per_second"]
    h.check(not missing, f"values missing from opshub check --json: {missing} in {cv}")
    h.check("evicted_keys_per_second" not in cv, "a single run has no eviction rate")


def test_password_right_wrong_missing_and_never_shown():
    checks = {c["id"]: c for c in O().get_json("/api/v1/checks")["checks"]}
    for cid in ("auth-ok", "auth-acl"):
        h.eq(checks[cid]["last_sample"]["result"], "up", f"{cid}: {checks[cid]['last_sample']}")
    s = checks["auth-wrong"]["last_sample"]
    h.eq(s["result"], "down", "auth-wrong")
    h.contains(s["error"], "AUTH: WRONGPASS invalid username-password pair", "auth-wrong's error")
    s = checks["auth-none"]["last_sample"]
    h.eq(s["result"], "down", "auth-none")
    h.eq(s["error"], "PING: NOAUTH Authentication required.", "auth-none's error")
    h.eq(checks["auth-ok"]["target"], f"redis://127.0.0.1:{ENV['auth'].port}", "target without credentials")
    # nowhere: API (list, one check, samples), /metrics, the CLI (table and JSON), config check
    texts = {"GET /api/v1/checks": O().get("/api/v1/checks").text,
             "/metrics": O().get("/metrics").text}
    for cid in ("auth-ok", "auth-acl", "auth-wrong", "tls-ok"):
        texts[f"GET /api/v1/checks/{cid}"] = O().get(f"/api/v1/checks/{cid}").text
        texts[f"samples of {cid}"] = O().get(f"/api/v1/checks/{cid}/samples").text
    cfg = ENV["tmp"].join("cli.yaml")
    with open(cfg, "w") as f:
        f.write(ENV["config"])
    for args in (["check", "--config", cfg, "auth-ok", "auth-wrong", "auth-acl"],
                 ["check", "--config", cfg, "--json", "auth-ok", "auth-wrong", "tls-ok"]):
        r = h.run_cli(args)
        texts[" ".join(args)] = r.stdout + r.stderr
        h.eq(r.returncode, 2, f"{args}: exit code (one is down)")
    bad = ENV["tmp"].join("bad-url.yaml")
    with open(bad, "w") as f:
        f.write(f"checks:\n  - id: x\n    type: redis\n    url: 'redis://:{PASSWORD}@127.0.0.1:0'\n")
    r = h.run_cli(["config", "check", "--config", bad])
    h.eq(r.returncode, 2, "config check of a bad url")
    h.contains(r.stdout + r.stderr, f"{bad}:4:10: url port must be a number from 1 to 65535", "bad url error")
    texts["config check"] = r.stdout + r.stderr
    for where, text in texts.items():
        for p in (PASSWORD, ACL_PASSWORD, TLS_PASSWORD, WRONG):
            h.check(p not in text, f"a password appears in {where}")
    # the opshub log is searched for every h.secret() when it stops (test_opshub_stops_cleanly)


def test_api_created_check_keeps_its_password_sealed():
    o = O()
    url = ENV["auth"].url(password=PASSWORD, db=2)
    r = o.post("/api/v1/checks", body={"id": "api-redis", "type": "redis", "url": url, "interval": "1s",
                                         "timeout": "800ms"})
    h.eq(r.status, 201, f"create: {r.body[:300]!r}")
    h.check(PASSWORD not in r.text, "the create answer holds no password")
    o.wait_status("api-redis", "up", timeout=15)
    h.check(PASSWORD not in o.get("/api/v1/checks/api-redis").text, "GET shows no password")
    row = h.sqlite_query(o.db_path, "SELECT definition || '|' || secret FROM api_objects WHERE id = 'api-redis'")
    h.check(PASSWORD not in row and "|v1:" in row, f"sealed at rest: {row[:80]}...")
    h.eq(o.request("DELETE", "/api/v1/checks/api-redis").status, 204, "delete")


def test_select_sends_the_database_number():
    h.eq(sample("selectdb")["result"], "up", f"selectdb {sample('selectdb')}")
    s = sample("nodb")
    h.eq((s["result"], s["error"]), ("down", "SELECT 99: ERR DB index is out of range"), "nodb")
    stats = ENV["plain"].info("commandstats")
    h.check("cmdstat_select" in stats, f"the server counted no SELECT: {sorted(stats)}")
    h.check("cmdstat_auth" not in stats, "no AUTH without a password")
    h.check("cmdstat_auth" in ENV["auth"].info("commandstats"), "AUTH counted by the password server")


def test_evictions_at_maxmemory_degrade_the_check():
    r = ENV["evict"]
    value = "x" * 1024
    n = [0]

    def evicting():
        batch = [["SET", f"k{n[0] + i}", value] for i in range(400)]
        n[0] += 400
        r.pipeline(batch)
        s = sample("evict")
        return s if s["values"].get("evicted_keys_per_second", 0) > 0 else None
    s = h.wait_for(evicting, 30, "a sample with evicted_keys_per_second > 0", interval=0.2)
    h.check(int(r.info("stats")["evicted_keys"]) > 0, "the server evicted keys")
    v = s["values"]
    h.check(v["memory_used_ratio"] > 0.8, f"memory_used_ratio {v}")
    h.eq(v["maxmemory_bytes"], 2 * 1024 * 1024, "maxmemory_bytes")
    h.check(s["result"] in ("degraded", "down"), f"evict result {s}")
    h.contains(s["error"], "is above evictions_warn 0", "evict's error")
    if v["memory_used_ratio"] > 0.95:
        h.eq(s["result"], "down", f"over memory_crit: {s}")
        h.contains(s["error"], "is above memory_crit 0.95", "evict's error")
    m = O().metrics()
    got = m.find("opshub_redis_evicted_keys_per_second", check="evict")
    h.check(got and got[0][1] >= 0, f"/metrics eviction rate: {got}")


def test_hit_ratio_below_thresholds():
    r = ENV["hits"]
    r.pipeline([["SET", "a", "1"]] + [["GET", "a"]] * 6 + [["GET", f"missing{i}"] for i in range(4)])
    s = wait_sample("hits", lambda s: s["values"].get("keyspace_hit_ratio") is not None, "a hit ratio")
    h.check(abs(s["values"]["keyspace_hit_ratio"] - 0.6) < 1e-9, f"hit ratio {s['values']}")
    h.eq(s["result"], "degraded", f"hits {s}")
    h.eq(s["error"], "keyspace_hit_ratio 0.6 is below hit_ratio_warn 0.8", "hits' error")
    s = wait_sample("hits-strict", lambda s: s["values"].get("keyspace_hit_ratio") is not None, "a hit ratio")
    h.eq((s["result"], s["error"]), ("down", "keyspace_hit_ratio 0.6 is below hit_ratio_crit 0.7"), "hits-strict")
    O().wait_status("hits", "degraded", timeout=10)


def test_stopped_server_is_down_then_up_again():
    o = O()
    o.wait_status("bounce", "up")
    b = ENV["bounce"]
    b.stop()
    c = o.wait_status("bounce", "down", timeout=15)
    h.eq(c["last_sample"]["error"], "connection refused", "bounce while stopped")
    b.start()
    c = o.wait_status("bounce", "up", timeout=15)
    v = c["last_sample"]["values"]
    h.check(v["uptime_seconds"] < 30, f"a fresh server after the restart: {v}")


def test_rediss_verifies_the_certificate():
    s = wait_sample("tls-ok", lambda s: s["result"] == "up", "up over TLS")
    h.check("latency_seconds" in s["values"] and "used_memory_bytes" in s["values"], f"tls-ok values {s}")
    h.eq(O().check_json("tls-ok")["target"], f"rediss://127.0.0.1:{ENV['tls'].tls_port}", "tls target")
    s = sample("tls-untrusted")
    h.eq(s["result"], "down", "tls-untrusted")
    # redis-server sends its CA with the leaf: OpenSSL names the self-signed root it cannot trust
    h.check(s["error"] in ("certificate verify failed: self-signed certificate in certificate chain",
                           "certificate verify failed: unable to get local issuer certificate"),
            f"tls-untrusted's error: {s['error']}")
    s = sample("tls-othername")
    h.eq(s["result"], "down", "tls-othername")
    h.eq(s["error"], "certificate verify failed: hostname mismatch", "tls-othername's error")
    h.eq(sample("refused")["error"], "connection refused", "refused")


def test_bad_config_reports_file_line_col():
    path = ENV["tmp"].join("bad.yaml")
    with open(path, "w") as f:
        f.write("checks:\n"
                "  - id: a\n"
                "    type: redis\n"
                "    url: redis://127.0.0.1\n"
                "    hit_ratio_warn: 0.4\n"
                "    hit_ratio_crit: 0.6\n"
                "  - id: b\n"
                "    type: redis\n"
                "    url: redis://127.0.0.1\n"
                "    memory_warn: 0.99\n"
                "    ca_file: /etc/ssl/ca.pem\n")
    r = h.run_cli(["config", "check", "--config", path])
    h.eq(r.returncode, 2, f"exit code of config check ({r.stdout} {r.stderr})")
    out = r.stdout + r.stderr
    h.contains(out, f"{path}:5:21: hit_ratio_warn (0.4) must not be below hit_ratio_crit (0.6)", "hit ratio order")
    h.contains(out, f"{path}:10:18: memory_warn (0.99) must not be above memory_crit (0.95)", "memory order")
    h.contains(out, f"{path}:11:14: ca_file is only used with rediss:// (TLS) URLs", "ca_file without TLS")


def test_opshub_stops_cleanly():
    h.eq(O().stop(), 0, "exit code after SIGTERM")


if __name__ == "__main__":
    h.run(h.collect(globals()), setup=setup, test_timeout=60)
