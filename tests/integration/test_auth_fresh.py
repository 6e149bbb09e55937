"""
Credentials changed by another process take effect at the next request, on SQLite and on
PostgreSQL: a token that `opshub token create` has just printed is accepted at once (no sleep,
no retry), the same token revoked by `opshub token revoke` is refused at once, and a user
disabled or given a new password by the CLI loses their session at once. A flood of distinct
random API tokens costs at most the documented number of store lookups (auth/miss.h:
AUTH_MISS_BURST + AUTH_MISS_RATE_PER_S per second), read from /metrics, and is still answered
401, not 503.
"""
# ctest: COST 25
import json
import os
import secrets
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

ENV = {}
ROUNDS = 20
FLOOD = 2000
FLOOD_THREADS = 16
LOOKUP_BURST = 20          # AUTH_MISS_BURST
LOOKUP_RATE_PER_S = 10     # AUTH_MISS_RATE_PER_S
USER_PW = h.secret("fresh-user-password-1")
PG_PASSWORD = h.secret("fresh-pg-password-1")


def setup():
    target = ENV["target"] = h.Target()
    checks = [h.http_check("web", target.url("/ok"), interval="1h", timeout="2s")]
    ENV["sqlite"] = h.track(h.Opshub(h.make_config(checks)))
    pg = ENV["pg"] = h.Postgres().start()
    ENV["postgres"] = h.track(h.Opshub(h.make_config(checks, storage_url=pg.url(PG_PASSWORD))))
    for name in ("sqlite", "postgres"):
        o = ENV[name]
        r = o.cli("user", "add", "fresh", "--role", "viewer", "--password-stdin", input=USER_PW + "\n")
        h.eq(r.returncode, 0, f"user add on {name}: {r.stderr}")
        o.start()


def cli_token(o, role, name):
    r = o.cli("token", "create", "--role", role, "--name", name, "--json")
    h.eq(r.returncode, 0, f"token create: {r.stderr[-500:]}")
    out = json.loads(r.stdout)
    return h.secret(out["token"]), out["id"]


def create_revoke_rounds(o, where):
    for i in range(ROUNDS):
        tok, tid = cli_token(o, "admin", f"fresh-{i}")
        r = o.get("/api/v1/auth/me", auth=tok)
        h.eq(r.status, 200, f"{where} round {i}: a token just printed by the CLI, used at once: {r.body[:200]!r}")
        h.eq(r.json()["id"], tid, f"{where} round {i}: the caller is that token")
        if i % 5 == 0:
            # a request with a body is checked before its body is read (head check)
            r = o.post("/api/v1/projects", body={"id": f"fresh-{i}", "name": f"Fresh {i}"}, auth=tok)
            h.eq(r.status, 201, f"{where} round {i}: POST with a body and a fresh token: {r.body[:200]!r}")
        r = o.cli("token", "revoke", tid)
        h.eq(r.returncode, 0, f"token revoke: {r.stderr[-500:]}")
        r = o.get("/api/v1/auth/me", auth=tok)
        h.eq(r.status, 401, f"{where} round {i}: a token just revoked by the CLI, used at once")
        h.contains(r.json()["error"]["message"], "unknown or revoked", f"{where} round {i}: reason")
        if i % 5 == 0:
            r = o.post("/api/v1/projects", body={"id": f"late-{i}", "name": "Late"}, auth=tok)
            h.eq(r.status, 401, f"{where} round {i}: POST with a body and a revoked token")


def login(o):
    r = o.post("/api/v1/auth/login", body={"username": "fresh", "password": USER_PW}, auth=False)
    h.eq(r.status, 200, f"login: {r.body[:200]!r}")
    return h.secret(r.json()["access_token"])


def session_rounds(o, where):
    for i in range(3):
        jwt = login(o)
        h.eq(o.get("/api/v1/auth/me", auth=jwt).status, 200, f"{where} round {i}: session works")
        h.eq(o.cli("user", "disable", "fresh").returncode, 0, "user disable")
        r = o.get("/api/v1/auth/me", auth=jwt)
        h.eq(r.status, 401, f"{where} round {i}: a user just disabled by the CLI, at once")
        h.eq(o.cli("user", "enable", "fresh").returncode, 0, "user enable")
    jwt = login(o)
    h.eq(o.get("/api/v1/auth/me", auth=jwt).status, 200, f"{where}: session works")
    r = o.cli("user", "passwd", "fresh", "--password-stdin", input=USER_PW + "\n")
    h.eq(r.returncode, 0, f"user passwd: {r.stderr[-300:]}")
    r = o.get("/api/v1/auth/me", auth=jwt)
    h.eq(r.status, 401, f"{where}: a session ended by a password change in the CLI, at once")
    h.contains(r.json()["error"]["message"], "session ended", f"{where}: reason")


def counter(m, name, **labels):
    found = m.find(name, **labels)
    h.check(found, f"/metrics has {name}")
    return sum(v for _, v in found)


def lookups(m):
    return counter(m, "opshub_auth_token_lookups_total")


def flood(o, where):
    before = o.metrics()
    statuses = {}
    lock = threading.Lock()
    per_thread = FLOOD // FLOOD_THREADS

    def worker():
        seen = {}
        for _ in range(per_thread):
            tok = "opshub_" + secrets.token_urlsafe(32)
            st = o.get("/api/v1/checks", auth=tok, timeout=10).status
            seen[st] = seen.get(st, 0) + 1
        with lock:
            for k, v in seen.items():
                statuses[k] = statuses.get(k, 0) + v

    t0 = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(FLOOD_THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    elapsed = time.monotonic() - t0
    h.check(not any(t.is_alive() for t in threads), f"{where}: the flood did not finish in 120 s")
    after = o.metrics()
    sent = per_thread * FLOOD_THREADS
    h.eq(statuses, {401: sent}, f"{where}: every random token refused with 401")
    done = lookups(after) - lookups(before)
    bound = LOOKUP_BURST + LOOKUP_RATE_PER_S * (elapsed + 1)
    refused = (counter(after, "opshub_auth_token_lookups_refused_total")
               - counter(before, "opshub_auth_token_lookups_refused_total"))
    print(f"{where}: {sent} random tokens in {elapsed:.1f} s: {done:.0f} store lookups "
          f"(bound {bound:.0f}), {refused:.0f} refused a lookup", flush=True)
    h.check(done <= bound, f"{where}: {done} store lookups for {sent} random tokens, more than {bound:.0f}")
    h.check(done >= 1, f"{where}: an unknown token is looked up in the store")
    h.eq(done + refused, sent, f"{where}: each random token was looked up or refused a lookup once")
    # a repeated unknown token is answered from the negative cache, without a lookup
    tok = "opshub_" + secrets.token_urlsafe(32)
    m0 = o.metrics()
    for _ in range(5):
        h.eq(o.get("/api/v1/checks", auth=tok).status, 401, f"{where}: repeated unknown token")
    m1 = o.metrics()
    h.check(lookups(m1) - lookups(m0) <= 1, f"{where}: a repeated unknown token is looked up once at most")


def test_cli_token_create_and_revoke_take_effect_at_once_on_sqlite():
    create_revoke_rounds(ENV["sqlite"], "sqlite")


def test_cli_user_disable_and_passwd_end_sessions_at_once_on_sqlite():
    session_rounds(ENV["sqlite"], "sqlite")


def test_random_token_flood_is_bounded_on_sqlite():
    flood(ENV["sqlite"], "sqlite")


def test_cli_token_create_and_revoke_take_effect_at_once_on_postgres():
    create_revoke_rounds(ENV["postgres"], "postgres")


def test_cli_user_disable_and_passwd_end_sessions_at_once_on_postgres():
    session_rounds(ENV["postgres"], "postgres")


def test_random_token_flood_is_bounded_on_postgres():
    flood(ENV["postgres"], "postgres")


def test_metrics_name_the_reads():
    m = ENV["sqlite"].metrics()
    for name in ("opshub_auth_token_lookups_total", "opshub_auth_token_lookups_refused_total",
                 "opshub_auth_token_negative_hits_total", "opshub_auth_fresh_reads_total",
                 "opshub_auth_fresh_waits_total", "opshub_auth_stale_decisions_total"):
        h.check(m.has(name), f"/metrics has {name}")
    h.check(m.get("opshub_auth_fresh_reads_total", result="ok") > 0, "requests waited for fresh reads")
    h.eq(m.get("opshub_auth_stale_decisions_total"), 0, "no request was decided on a stale mirror")


def teardown():
    for k in ("sqlite", "postgres"):
        if k in ENV:
            ENV[k].stop()
    for k in ("pg", "target"):
        if k in ENV:
            ENV[k].close()


if __name__ == "__main__":
    h.run(h.collect(globals()), setup=setup, teardown=teardown)
