"""
The access layer and API-managed objects on PostgreSQL: the same daemon code as on SQLite,
but every auth/db and objects/db statement now runs through the PostgreSQL backend
(placeholders renumbered, parameter types inferred, RETURNING, the audit trigger in PL/pgSQL).
One real PostgreSQL started by the test; the flows of test_auth.py and test_objects.py in brief.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

ENV = {}
PASSWORD = h.secret("pg-db-password-1")
USER_PW = h.secret("pg-user-password-1")


def setup():
    ENV["target"] = h.Target()
    pg = ENV["pg"] = h.Postgres().start()
    cfg = h.make_config([h.http_check("web", ENV["target"].url("/ok"), interval="1h", timeout="2s")],
                        projects=[{"id": "shop", "name": "Shop"}], storage_url=pg.url(PASSWORD))
    o = ENV["o"] = h.track(h.Opshub(cfg))
    r = o.cli("user", "add", "pgadmin", "--role", "admin", "--password-stdin", input=USER_PW + "\n")
    h.eq(r.returncode, 0, f"user add on PostgreSQL: {r.stderr}")
    o.start()


def test_login_refresh_logout_on_postgres():
    o = ENV["o"]
    r = o.post("/api/v1/auth/login", body={"username": "pgadmin", "password": USER_PW}, auth=False)
    h.eq(r.status, 200, f"login: {r.body[:200]!r}")
    t = r.json()
    h.secret(t["access_token"])
    h.secret(t["refresh_token"])
    r = o.post("/api/v1/auth/refresh", body={"refresh_token": t["refresh_token"]}, auth=False)
    h.eq(r.status, 200, "refresh")
    t2 = r.json()
    h.secret(t2["access_token"])
    h.secret(t2["refresh_token"])
    h.eq(o.post("/api/v1/auth/refresh", body={"refresh_token": t["refresh_token"]}, auth=False).status, 401,
         "reuse detected")
    h.eq(o.get("/api/v1/auth/me", auth=t2["access_token"]).status, 401, "session revoked")
    h.eq(o.post("/api/v1/auth/login", body={"username": "pgadmin", "password": "wrong-password!"},
                auth=False).status, 401, "wrong password")


def test_reuse_of_an_older_refresh_token_on_postgres():
    o = ENV["o"]
    r = o.post("/api/v1/auth/login", body={"username": "pgadmin", "password": USER_PW}, auth=False)
    h.eq(r.status, 200, f"login: {r.body[:200]!r}")
    ts = [r.json()]
    for i in range(3):
        r = o.post("/api/v1/auth/refresh", body={"refresh_token": ts[-1]["refresh_token"]}, auth=False)
        h.eq(r.status, 200, f"rotation {i + 1}")
        ts.append(r.json())
    for t in ts:
        h.secret(t["access_token"])
        h.secret(t["refresh_token"])
    h.eq(o.post("/api/v1/auth/refresh", body={"refresh_token": ts[1]["refresh_token"]}, auth=False).status, 401,
         "a token two rotations old is refused")
    h.eq(o.get("/api/v1/auth/me", auth=ts[-1]["access_token"]).status, 401, "the session is revoked")
    h.eq(o.post("/api/v1/auth/refresh", body={"refresh_token": ts[-1]["refresh_token"]}, auth=False).status, 401,
         "the current refresh token is refused too")


def test_mutations_and_their_audit_rows_commit_together_on_postgres():
    from test_auth import audit_is_atomic_with_the_change
    pg = ENV["pg"]
    audit_is_atomic_with_the_change(
        ENV["o"],
        lambda: pg.psql("CREATE FUNCTION test_refuse() RETURNS trigger LANGUAGE plpgsql AS"
                        " $$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$;"
                        " CREATE TRIGGER test_refuse BEFORE INSERT ON audit_log"
                        " FOR EACH ROW EXECUTE FUNCTION test_refuse()"),
        lambda: pg.psql("DROP TRIGGER test_refuse ON audit_log; DROP FUNCTION test_refuse()"),
        pg.psql)


def test_users_tokens_audit_lists_on_postgres():
    o = ENV["o"]
    r = o.post("/api/v1/users", body={"username": "pgviewer", "password": h.secret("pg-viewer-pass-1"),
                                        "role": "viewer"})
    h.eq(r.status, 201, f"create user: {r.body[:200]!r}")
    r = o.post("/api/v1/tokens", body={"name": "pg-ci", "role": "viewer", "expires": "1d"})
    h.eq(r.status, 201, "create token")
    tok = h.secret(r.json()["token"])
    h.eq(o.get("/api/v1/auth/me", auth=tok).status, 200, "token works")
    for q in ("limit=1", "role=viewer", "revoked=false", "revoked=true"):
        h.eq(o.get(f"/api/v1/tokens?{q}").status, 200, f"tokens ?{q}")
    page = o.get_json("/api/v1/tokens?limit=1")
    if page["next_cursor"]:
        h.eq(o.get(f"/api/v1/tokens?limit=1&cursor={page['next_cursor']}").status, 200, "token cursor")
    h.eq(o.request("DELETE", f"/api/v1/tokens/{r.json()['id']}").status, 204, "revoke")
    h.eq(o.get("/api/v1/auth/me", auth=tok).status, 401, "revoked at once")
    h.eq(o.request("PATCH", "/api/v1/users/pgviewer", body={"disabled": True}).status, 200, "disable")
    entries = h.wait_for(lambda: o.get_json("/api/v1/audit?action=user.*&actor=harness-admin")["entries"] or None,
                         5, "audit entries on PostgreSQL")
    h.check(all(e["action"].startswith("user.") for e in entries), "prefix filter")
    r = o.get("/api/v1/audit?from=1000000000&to=4102444800&limit=2")
    h.eq(r.status, 200, f"time filter: {r.body[:200]!r}")
    h.eq(len(r.json()["entries"]), 2, "page of 2")
    try:
        ENV["pg"].psql("UPDATE audit_log SET actor = 'x'")
        h.check(False, "UPDATE of audit_log allowed on PostgreSQL")
    except AssertionError as e:
        h.contains(str(e), "append-only", "append-only trigger on PostgreSQL")


def test_api_checks_on_postgres():
    o = ENV["o"]
    t = ENV["target"]
    url = t.url("/ok").replace("http://", "http://u:" + h.secret("pg-check-secret") + "@")
    r = o.post("/api/v1/checks", body={"id": "pg-api", "type": "http", "url": url, "project": "shop",
                                         "interval": "1s", "timeout": "500ms"})
    h.eq(r.status, 201, f"create check: {r.body[:300]!r}")
    o.wait_status("pg-api", "up", timeout=10)
    r = o.request("PATCH", "/api/v1/checks/pg-api", body={"interval": "2s"}, headers={"If-Match": '"1"'})
    h.eq(r.status, 200, "patch")
    h.eq(o.request("PATCH", "/api/v1/checks/pg-api", body={"interval": "3s"}, headers={"If-Match": '"1"'}).status,
         412, "stale version")
    stored = ENV["pg"].psql("SELECT definition || secret FROM api_objects WHERE id = 'pg-api'")
    h.check("pg-check-secret" not in stored and "v1:" in stored, "sealed on PostgreSQL")
    h.eq(o.request("DELETE", "/api/v1/checks/pg-api").status, 204, "delete")


def test_zz_stops_cleanly_without_secrets_in_its_log():
    # exit 0 after SIGTERM, no sanitizer report, none of the passwords and tokens above
    h.eq(ENV["o"].stop(), 0, "exit code after SIGTERM")


def teardown():
    # close() of a daemon a failed test left running stops it and checks its exit too;
    # every error here is counted by the harness.
    for k in ("o", "pg", "target"):
        if k in ENV:
            ENV[k].close()


if __name__ == "__main__":
    h.run(h.collect(globals()), setup=setup, teardown=teardown)
