"""
Integration tests of issue 3's access layer against the real binary: the role matrix over
every route of the OpenAPI document (which is built from the route table), password login
with rotating refresh tokens and reuse detection, logout and revocation taking effect on the
next request, JWT forgeries (alg none, other algorithms, tampering, other keys, expired,
not yet valid, wrong audience), failed-login lockout and its metric, rate limits under a
burst from a second process, body limits, CORS, users and tokens through the API, the audit
log, start-up refusals of unsafe settings, and no secret in any log or API output.
"""
# ctest: COST 28
# ctest: RUN_SERIAL
# (CMakeLists.txt reads the line above: nothing else of the suite runs meanwhile)
# because a burst must fit in one rate-limit window; parallel guesses must overlap one password check.
import base64
import hashlib
import hmac
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

ENV = {}
JWT_SECRET = "test-secret-" + "k" * 40            # known to the test so it can forge tokens
PASSWORD = "correct horse battery staple"
OPERATOR_PASSWORD = "operator-password-1234"
SECRETS = [PASSWORD, OPERATOR_PASSWORD, JWT_SECRET, "paula-password-123", "vera-password-123", "tess-password-123",
           "tina-password-123", "sam-password-1234", "long-password-1234"]   # grepped for in every log at the end
for _s in SECRETS:
    h.secret(_s)


class Leaked(list):
    """Secrets seen during the run: each is also registered with the harness, which
    searches every opshub log for them when the instance stops."""

    def append(self, v):
        h.secret(v)
        super().append(v)

    def __iadd__(self, vals):
        for v in vals:
            self.append(v)
        return self


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt(payload, header=None, key=JWT_SECRET.encode(), alg="HS256"):
    header = header or {"alg": alg, "typ": "JWT"}
    signing = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(payload).encode())}"
    digest = {"HS256": hashlib.sha256, "HS512": hashlib.sha512}.get(alg, hashlib.sha256)
    sig = b64url(hmac.new(key, signing.encode(), digest).digest())
    return f"{signing}.{sig}"


def decode_part(token, i):
    part = token.split(".")[i]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def setup():
    n = ENV["nginx"] = h.Nginx().start()
    cfg = h.make_config([h.http_check("web", n.url("/health"), interval="2s", timeout="1s")],
                        extra={"server": {"cors_origins": ["https://ops.example.com"]}})
    o = ENV["o"] = h.track(h.Opshub(cfg, env={"JWT_SECRET": JWT_SECRET}))
    r = o.cli("user", "add", "alice", "--role", "admin", "--password-stdin", input=PASSWORD + "\n")
    h.eq(r.returncode, 0, f"user add alice: {r.stderr}")
    r = o.cli("user", "add", "oscar", "--role", "operator", "--password-stdin", input=OPERATOR_PASSWORD + "\n")
    h.eq(r.returncode, 0, f"user add oscar: {r.stderr}")
    o.start()
    ENV["tokens"] = {role: o.create_token(role=role, name=f"matrix-{role}")
                     for role in ("viewer", "operator", "admin")}
    for t in ENV["tokens"].values():
        o.wait_token(t)
    ENV["leaked"] = Leaked(ENV["tokens"].values())
    for t in ENV["leaked"]:
        h.secret(t)


def audit_is_atomic_with_the_change(o, refuse, allow, rows):
    """refuse(): makes every INSERT into audit_log fail; allow() undoes it; rows(sql) runs a query.
    A user, a token and a project created while audit rows cannot be written are not created
    (the change and its row are one transaction); once they can, each is created with exactly
    one row. On the code that wrote the row after the commit, the creates answered 201."""
    pw = h.secret("atomic-user-password-1")
    creates = [("/api/v1/users", {"username": "atomic-u", "password": pw, "role": "viewer"}, "user atomic-u"),
               ("/api/v1/tokens", {"name": "atomic-t", "role": "viewer"}, "token"),
               ("/api/v1/projects", {"id": "atomic-p", "name": "Atomic"}, "project atomic-p")]
    refuse()
    try:
        for path, body, _ in creates:
            r = o.post(path, body=body)
            h.check(r.status >= 400, f"POST {path} while its audit row cannot be written: {r.status} {r.body[:200]!r}")
            h.check(b"atomic-user-password-1" not in r.body, "the password is echoed")
    finally:
        allow()
    h.eq(o.get("/api/v1/users/atomic-u").status, 404, "the user whose audit row failed does not exist")
    h.eq(rows("SELECT COUNT(*) FROM api_tokens WHERE name = 'atomic-t'"), "0", "the token was not created")
    h.eq(o.get("/api/v1/projects/atomic-p").status, 404, "the project whose audit row failed does not exist")
    for path, body, _ in creates:
        r = o.post(path, body=body)
        h.eq(r.status, 201, f"POST {path} once audit rows can be written: {r.body[:200]!r}")
        if path.endswith("tokens"):
            h.secret(r.json()["token"])
    for path, body, target in creates:
        action = {"users": "user.create", "tokens": "token.create", "projects": "project.create"}[path.split("/")[-1]]
        got = rows(f"SELECT result || ' ' || status FROM audit_log WHERE action = '{action}'"
                   f" AND target LIKE '{target}%' AND status = 201")
        h.eq(got, "ok 201", f"exactly one committed {action} row")
    sessions_are_atomic_with_their_audit_rows(o, refuse, allow, rows, "atomic-u", pw)


def sessions_are_atomic_with_their_audit_rows(o, refuse, allow, rows, username, password):
    """The same for the sessions of auth.login, auth.refresh and auth.logout: while audit rows
    cannot be written each fails with a 5xx and changes nothing (no session is made, the old
    refresh token stays the current one, the session goes on); once they can, each succeeds
    with exactly one row. On the code that wrote these rows after the commit, all three
    succeeded while the rows were refused."""
    uid = rows(f"SELECT id FROM users WHERE username = '{username}'")
    h.check(uid.startswith("u_"), f"user id of {username}: {uid!r}")

    def refused(what, r):
        h.check(r.status >= 500, f"{what} while its audit row cannot be written: {r.status} {r.body[:200]!r}")
        h.check(password.encode() not in r.body, "the password is echoed")

    def one_row(action, target, status):
        got = rows(f"SELECT result || ' ' || status FROM audit_log WHERE action = '{action}'"
                   f" AND target = '{target}' AND status = {status}")
        h.eq(got, f"ok {status}", f"exactly one committed {action} row for {target}")

    creds = {"username": username, "password": password}
    refuse()
    try:
        refused("login", o.post("/api/v1/auth/login", body=creds, auth=False))
    finally:
        allow()
    h.eq(rows(f"SELECT COUNT(*) FROM sessions WHERE user_id = '{uid}'"), "0",
         "the login whose audit row failed made no session")
    r = o.post("/api/v1/auth/login", body=creds, auth=False)
    h.eq(r.status, 200, f"login once audit rows can be written: {r.body[:200]!r}")
    t = r.json()
    h.secret(t["access_token"])
    h.secret(t["refresh_token"])
    h.eq(rows(f"SELECT COUNT(*) FROM sessions WHERE user_id = '{uid}'"), "1", "the login made one session")
    one_row("auth.login", f"user {username}", 200)

    refresh = {"refresh_token": t["refresh_token"]}
    refuse()
    try:
        refused("refresh", o.post("/api/v1/auth/refresh", body=refresh, auth=False))
    finally:
        allow()
    # Had the rotation committed, this token would now be a replaced one: 401 and the session revoked.
    r = o.post("/api/v1/auth/refresh", body=refresh, auth=False)
    h.eq(r.status, 200, f"the refresh token whose rotation failed is still the current one: {r.body[:200]!r}")
    t2 = r.json()
    h.secret(t2["access_token"])
    h.secret(t2["refresh_token"])
    one_row("auth.refresh", f"user {username}", 200)

    access = {"Authorization": f"Bearer {t2['access_token']}"}
    sid = decode_part(t2["access_token"], 1)["jti"]
    refuse()
    try:
        refused("logout", o.post("/api/v1/auth/logout", headers=access))
        h.eq(o.get("/api/v1/auth/me", headers=access).status, 200, "the session goes on after a failed logout")
    finally:
        allow()
    h.eq(o.get("/api/v1/auth/me", headers=access).status, 200, "the session still works once rows can be written")
    r = o.post("/api/v1/auth/logout", headers=access)
    h.eq(r.status, 204, f"logout once audit rows can be written: {r.body[:200]!r}")
    h.eq(o.get("/api/v1/auth/me", headers=access).status, 401, "the session ended with the logout")
    one_row("auth.logout", f"session {sid}", 204)


def O():
    return ENV["o"]


def login(username, password, expect=200, o=None):
    r = (o or O()).post("/api/v1/auth/login", body={"username": username, "password": password}, auth=False)
    h.eq(r.status, expect, f"login {username}: {r.body[:300]!r}")
    return r.json() if r.status == 200 else r


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def me(token):
    return O().get("/api/v1/auth/me", headers=bearer(token))


# ---- role matrix over every route ----

def fill(path):
    return path.replace("{id}", "no-such-thing")


def test_role_matrix_covers_every_route():
    o = O()
    doc = o.get_json("/api/v1/openapi.json", auth=False)
    h.eq(doc.get("openapi"), "3.1.0", "openapi version")
    rank = {"public": 0, "viewer": 1, "operator": 2, "admin": 3}
    seen = 0
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            if method not in ("get", "post", "patch", "delete", "put"):
                continue
            need = op.get("x-min-role")
            h.check(need in rank, f"{method.upper()} {path} has no x-min-role")
            if path == "/api/v1/auth/logout":
                continue  # logging out with a matrix token is harmless but tested separately
            seen += 1
            url = fill(path)
            body = {} if method in ("post", "patch", "put") else None
            if "text/event-stream" in op["responses"].get("200", {}).get("content", {}):
                method = "head"  # a stream never ends: HEAD answers its status alone
            r = o.request(method.upper(), url, body=body, auth=False)
            if need == "public":
                h.check(r.status not in (401, 403), f"public {method.upper()} {path} answered {r.status}")
                continue
            h.eq(r.status, 401, f"{method.upper()} {path} without a token")
            h.check("bearer" in (r.header("www-authenticate") or "").lower(),
                    f"{method.upper()} {path}: 401 without WWW-Authenticate: Bearer")
            bad = o.request(method.upper(), url, body=body, auth="opshub_" + "x" * 43)
            h.eq(bad.status, 401, f"{method.upper()} {path} with an unknown token")
            for role, tok in ENV["tokens"].items():
                r = o.request(method.upper(), url, body=body, auth=tok)
                if rank[role] < rank[need]:
                    h.eq(r.status, 403, f"{method.upper()} {path} as {role} (needs {need})")
                    h.eq(r.json()["error"]["code"], "forbidden", "403 error code")
                else:
                    h.check(r.status not in (401, 403),
                            f"{method.upper()} {path} as {role} (needs {need}) answered {r.status}: {r.body[:200]!r}")
    h.check(seen >= 20, f"only {seen} routes in the OpenAPI document")


API_MD = os.path.join(h.SRCDIR, "docs", "api.md")
ROUTE_RE = re.compile(r"`(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS) (/[^`\s?]*)")


def routed(o, method, path):
    """True when the live router knows METHOD PATH (asked without credentials: the router
    answers before authentication, 404 "no route for ..." or 405 when it does not)."""
    body = {} if method in ("POST", "PUT", "PATCH") else None
    r = o.request(method, fill(path), body=body, auth=False)
    if r.status == 405:
        return False
    msg = (r.json().get("error") or {}).get("message", "") if r.status == 404 and r.body else ""
    return not msg.startswith("no route for")


def test_every_api_route_is_documented_with_a_role():
    # The route list is derived from docs/api.md, the hand-written contract, not from the
    # document under test: every `METHOD /path` it names must be routed by the live server
    # and be an operation of the OpenAPI document with a role, and every operation of the
    # document must be named there. (tests/http/test_openapi.c checks that the route table
    # itself is documented entry by entry.)
    o = O()
    doc = o.get_json("/api/v1/openapi.json", auth=False)
    operations = {(m.upper(), p): op for p, item in doc["paths"].items() for m, op in item.items()
                  if m in ("get", "put", "post", "delete", "patch", "head", "options")}
    with open(API_MD) as f:
        contract = {(m.group(1), m.group(2)) for m in ROUTE_RE.finditer(f.read())}
    h.eq(sorted(set(operations) - contract), [], "operations of the OpenAPI document that docs/api.md does not name")
    h.eq(sorted(contract - set(operations)), [], "routes of docs/api.md missing from the OpenAPI document")
    for (method, path), op in sorted(operations.items()):
        h.check(op.get("x-min-role") in ("public", "viewer", "operator", "admin"),
                f"{method} {path}: x-min-role {op.get('x-min-role')!r}")
        if (method, path) == ("POST", "/api/v1/auth/test-login"):
            continue  # answers like an unknown route unless ALLOW_TEST_LOGIN=1 (tested below)
        if (method, path) == ("GET", "/assets/{path}"):
            continue  # answers like an unknown route unless server.static_dir is set (test_static.py)
        h.check(routed(o, method, path), f"{method} {path} is documented but not routed")
    h.check(not routed(o, "GET", "/api/v1/nope"), "an unknown route is routed")
    h.check(not routed(o, "PUT", "/api/v1/checks/{id}"), "an unknown method of a known path is routed")
    h.eq(o.get("/api/v1/nope", auth=False).status, 404, "unknown route")
    r = o.get("/api-docs", auth=False)
    h.eq(r.status, 200, "/api-docs")
    h.contains(r.text, "/api/v1/users", "/api-docs lists the routes")


# ---- login, refresh, logout ----

def test_login_refresh_rotation_and_reuse_detection():
    t = login("alice", PASSWORD)
    h.eq(t["token_type"], "Bearer", "token_type")
    h.eq(t["user"]["username"], "alice", "user in the login answer")
    h.check("password_hash" not in t["user"], "login answer leaks the hash")
    h.eq(t["expires_in"], 900, "access lifetime 15m")
    h.eq(t["refresh_expires_in"], 30 * 86400, "refresh lifetime 30d")
    claims = decode_part(t["access_token"], 1)
    h.eq(claims.get("aud"), "opshub", "aud claim")
    h.eq(decode_part(t["access_token"], 0).get("alg"), "HS256", "alg")
    m = me(t["access_token"])
    h.eq(m.status, 200, "me with the access token")
    h.eq(m.json()["kind"], "user", "me kind")
    h.eq(m.json()["role"], "admin", "me role")
    ENV["leaked"] += [t["access_token"], t["refresh_token"]]

    r = O().post("/api/v1/auth/refresh", body={"refresh_token": t["refresh_token"]}, auth=False)
    h.eq(r.status, 200, f"refresh: {r.body[:200]!r}")
    t2 = r.json()
    h.check(t2["refresh_token"] != t["refresh_token"], "refresh token rotated")
    ENV["leaked"] += [t2["access_token"], t2["refresh_token"]]
    h.eq(me(t2["access_token"]).status, 200, "new access token works")

    # The replaced refresh token comes back: the whole session ends, for both holders.
    r = O().post("/api/v1/auth/refresh", body={"refresh_token": t["refresh_token"]}, auth=False)
    h.eq(r.status, 401, "reused refresh token refused")
    h.eq(me(t2["access_token"]).status, 401, "session revoked after reuse: access token refused at once")
    r = O().post("/api/v1/auth/refresh", body={"refresh_token": t2["refresh_token"]}, auth=False)
    h.eq(r.status, 401, "the newer refresh token of the revoked session is refused too")


def test_reuse_of_any_earlier_refresh_token_revokes_the_session():
    t = login("alice", PASSWORD)
    first = t["refresh_token"]
    tokens = [t]
    for i in range(3):
        r = O().post("/api/v1/auth/refresh", body={"refresh_token": tokens[-1]["refresh_token"]}, auth=False)
        h.eq(r.status, 200, f"rotation {i + 1}: {r.body[:200]!r}")
        tokens.append(r.json())
    ENV["leaked"] += [x for t in tokens for x in (t["access_token"], t["refresh_token"])]
    cur = tokens[-1]
    h.eq(me(cur["access_token"]).status, 200, "the current access token works before the reuse")
    # The token of the login, three rotations old, comes back: the whole session ends.
    r = O().post("/api/v1/auth/refresh", body={"refresh_token": first}, auth=False)
    h.eq(r.status, 401, "a refresh token three rotations old is refused")
    h.eq(me(cur["access_token"]).status, 401, "the current access token is refused after the reuse")
    r = O().post("/api/v1/auth/refresh", body={"refresh_token": cur["refresh_token"]}, auth=False)
    h.eq(r.status, 401, "the current refresh token is refused after the reuse")
    # A token that was never issued revokes nothing: another session of alice keeps working.
    other = login("alice", PASSWORD)
    ENV["leaked"] += [other["access_token"], other["refresh_token"]]
    r = O().post("/api/v1/auth/refresh", body={"refresh_token": "ohr_" + "A" * 43}, auth=False)
    h.eq(r.status, 401, "an unknown refresh token is refused")
    h.eq(me(other["access_token"]).status, 200, "an unknown refresh token ends no session")


def test_mutations_and_their_audit_rows_commit_together():
    o = O()
    audit_is_atomic_with_the_change(
        o, lambda: h.sqlite_query(o.db_path, "CREATE TRIGGER test_refuse BEFORE INSERT ON audit_log"
                                             " BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"),
        lambda: h.sqlite_query(o.db_path, "DROP TRIGGER test_refuse"),
        lambda sql: h.sqlite_query(o.db_path, sql))


def test_logout_ends_the_session_immediately():
    t = login("alice", PASSWORD)
    ENV["leaked"] += [t["access_token"], t["refresh_token"]]
    h.eq(me(t["access_token"]).status, 200, "before logout")
    r = O().post("/api/v1/auth/logout", headers=bearer(t["access_token"]))
    h.eq(r.status, 204, f"logout: {r.body[:200]!r}")
    h.eq(me(t["access_token"]).status, 401, "access token refused right after logout")
    r = O().post("/api/v1/auth/refresh", body={"refresh_token": t["refresh_token"]}, auth=False)
    h.eq(r.status, 401, "refresh token refused after logout")


def test_wrong_password_unknown_user_and_bad_bodies_look_alike():
    a = login("alice", "wrong password!!", expect=401)
    b = login("nobody-here", "wrong password!!", expect=401)
    h.eq(a.json()["error"], b.json()["error"], "same answer for a wrong password and an unknown user")
    r = O().post("/api/v1/auth/login", body={"username": "alice"}, auth=False)
    h.eq(r.status, 400, "missing password")
    h.eq(r.json()["error"].get("field"), "password", "field of the missing password")
    r = O().post("/api/v1/auth/login", body="{not json", auth=False,
                 headers={"Content-Type": "application/json"})
    h.eq(r.status, 400, "malformed JSON")
    r = O().post("/api/v1/auth/login", body={"username": "alice", "password": PASSWORD, "role": "admin"},
                 auth=False)
    h.eq(r.status, 400, "unknown field refused")
    r = O().post("/api/v1/auth/test-login", body={"username": "alice"}, auth=False)
    h.eq(r.status, 404, "test-login is off unless ALLOW_TEST_LOGIN=1")


# ---- JWT forgeries ----

def test_forged_access_tokens_are_refused():
    t = login("alice", PASSWORD)
    ENV["leaked"] += [t["access_token"], t["refresh_token"]]
    good = decode_part(t["access_token"], 1)
    now = int(time.time())
    h.eq(me(jwt(good)).status, 200, "a token re-signed with the real key works (control)")
    forged = {
        "alg none": jwt(good, header={"alg": "none", "typ": "JWT"}).rsplit(".", 1)[0] + ".",
        "alg None with signature": jwt(good, header={"alg": "None"}),
        "HS512": jwt(good, alg="HS512", header={"alg": "HS512", "typ": "JWT"}),
        "RS256 header": jwt(good, header={"alg": "RS256", "typ": "JWT"}),
        "other key": jwt(good, key=b"another-secret-that-is-long-enough-0123456789"),
        "tampered payload": t["access_token"].split(".")[0] + "." +
                            b64url(json.dumps(dict(good, role="admin", sub="u_other")).encode()) + "." +
                            t["access_token"].split(".")[2],
        "expired": jwt(dict(good, exp=now - 3600, iat=now - 7200, nbf=now - 7200)),
        "not yet valid": jwt(dict(good, nbf=now + 3600, iat=now, exp=now + 7200)),
        "wrong audience": jwt(dict(good, aud="someone-else")),
        "no audience": jwt({k: v for k, v in good.items() if k != "aud"}),
        "unknown session": jwt(dict(good, jti="s_000000000000000000000000")),
        "truncated": t["access_token"][:-5],
        "garbage": "not.a.token",
        "crit header": jwt(good, header={"alg": "HS256", "crit": ["exp"]}),
    }
    for what, tok in forged.items():
        r = me(tok)
        h.eq(r.status, 401, f"forged token ({what})")
        h.check(tok not in r.text, f"401 body echoes the token ({what})")
    r = O().get("/api/v1/auth/me", headers={"Authorization": "Basic YWxpY2U6cHc="})
    h.eq(r.status, 401, "Basic auth is not accepted")


# ---- API tokens ----

def test_token_create_use_revoke_takes_effect_on_the_next_request():
    o = O()
    r = o.post("/api/v1/tokens", body={"name": "ci", "role": "viewer", "expires": "90d"})
    h.eq(r.status, 201, f"create token: {r.body[:300]!r}")
    t = r.json()
    ENV["leaked"].append(t["token"])
    h.check(t["token"].startswith("opshub_"), "token format")
    h.check(t["token"].startswith(t["prefix"]), "prefix is the start of the token")
    h.check(t["expires_at"] is not None, "expiry set")
    h.eq(me(t["token"]).status, 200, "new token works at once")
    got = o.get_json(f"/api/v1/tokens/{t['id']}")
    h.check("token" not in got and "hash" not in got and "token_hash" not in got, f"GET shows no secret: {got}")
    h.check("last_used_at" in got, "last_used_at is part of TOKEN")
    listed = o.get_json("/api/v1/tokens?limit=1000")
    h.check(any(x["id"] == t["id"] for x in listed["tokens"]), "token listed")
    h.check(t["token"] not in json.dumps(listed), "list does not contain the secret")
    r = o.request("DELETE", f"/api/v1/tokens/{t['id']}")
    h.eq(r.status, 204, "revoke")
    h.eq(me(t["token"]).status, 401, "revoked token refused on the very next request")
    h.eq(o.request("DELETE", f"/api/v1/tokens/{t['id']}").status, 204, "revoking twice is harmless")
    h.eq(o.request("DELETE", "/api/v1/tokens/t_nope").status, 404, "unknown token id")
    revoked = o.get_json("/api/v1/tokens?revoked=true&limit=1000")
    h.check(any(x["id"] == t["id"] and x["revoked_at"] for x in revoked["tokens"]), "listed as revoked")


def test_cli_revocation_reaches_the_running_daemon():
    o = O()
    tok = o.create_token(role="viewer", name="cli-revoke")
    ENV["leaked"].append(tok)
    o.wait_token(tok)
    r = o.cli("token", "revoke", tok[:14])
    h.eq(r.returncode, 0, f"token revoke by prefix: {r.stderr}")
    h.wait_for(lambda: me(tok).status == 401, 5, "the daemon to notice a CLI revocation")


def test_token_create_validation():
    o = O()
    for body, field in (({"role": "viewer"}, "name"), ({"name": "x", "role": "root"}, "role"),
                        ({"name": "x", "role": "viewer", "expires": "10s"}, "expires"),
                        ({"name": "x", "role": "viewer", "expires": "soon"}, "expires"),
                        ({"name": "", "role": "viewer"}, "name")):
        r = o.post("/api/v1/tokens", body=body)
        h.eq(r.status, 400, f"bad token body {body}")
        h.eq(r.json()["error"].get("field"), field, f"field for {body}")


def test_token_list_paginates():
    o = O()
    for i in range(5):
        r = o.post("/api/v1/tokens", body={"name": f"page-{i}", "role": "viewer"})
        h.eq(r.status, 201, "create for pagination")
        ENV["leaked"].append(r.json()["token"])
    ids, cursor = [], None
    for _ in range(50):
        q = "/api/v1/tokens?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = o.get_json(q)
        h.check(len(page["tokens"]) <= 2, "page size")
        ids += [t["id"] for t in page["tokens"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    h.eq(len(ids), len(set(ids)), "no token twice across pages")
    h.check(len(ids) >= 8, f"all tokens reached through pages ({len(ids)})")
    h.eq(o.get("/api/v1/tokens?cursor=garbage").status, 400, "malformed cursor")
    h.eq(o.get("/api/v1/tokens?limit=0").status, 400, "limit 0")



def test_last_used_time_is_recorded():
    nginx = ENV["nginx"]
    cfg = h.make_config([h.http_check("web", nginx.url("/health"))])
    with h.Opshub(cfg, env={"JWT_SECRET": JWT_SECRET}) as o:
        tok = o.create_token(role="viewer", name="used")
        idle = o.create_token(role="viewer", name="idle")
        o.start()
        before_ms = int(time.time() * 1000)
        h.eq(o.get("/api/v1/checks", auth=tok).status, 200, "use the token")
        o.stop()  # use times are written every 30 s and when the daemon stops
        rows = h.sqlite_query(o.db_path, "SELECT name || '=' || COALESCE(last_used_at, 0) FROM api_tokens "
                                         "WHERE name IN ('used', 'idle') ORDER BY name")
        got = dict(line.split("=") for line in rows.splitlines())
        h.eq(got["idle"], "0", "an unused token has no last-used time")
        h.check(int(got["used"]) >= before_ms - 1000, f"last_used_at recorded: {got}")
        o.start()
        listed = {t["name"]: t for t in o.get_json("/api/v1/tokens?limit=1000")["tokens"]}
        h.check(listed["used"]["last_used_at"], "shown by the API")
        h.eq(listed["idle"]["last_used_at"], None, "null when never used")
        o.stop()
        h.secret(idle)

# ---- users ----

def test_users_crud_and_last_admin_protection():
    o = O()
    r = o.post("/api/v1/users", body={"username": "vera", "password": "vera-password-123", "role": "viewer"})
    h.eq(r.status, 201, f"create user: {r.body[:300]!r}")
    u = r.json()
    h.eq(sorted(k for k in u if "password" in k or "hash" in k), [], "password or hash fields in the answer")
    stored = o.sqlite("SELECT password_hash FROM users WHERE username = 'vera'")
    h.check(stored.startswith("$argon2id$"), f"vera's stored hash is not Argon2id: {stored[:12]!r}")
    salt, digest = stored.split("$")[-2:]
    for where, text in (("the create-user answer", r.text), ("GET /users/{id}", o.get(f"/api/v1/users/{u['id']}").text)):
        for what, v in (("the salt", salt), ("the digest", digest), ("an Argon2 string", "$argon2"),
                        ("the password", "vera-password-123")):
            h.check(v not in text, f"{what} of vera's password appears in {where}")
    h.eq(o.post("/api/v1/users", body={"username": "vera", "password": "vera-password-123",
                                         "role": "viewer"}).status, 409, "duplicate user")
    r = o.post("/api/v1/users", body={"username": "bad name", "password": "long-enough-pass", "role": "viewer"})
    h.eq(r.json()["error"].get("field"), "username", "bad username field")
    r = o.post("/api/v1/users", body={"username": "shorty", "password": "short", "role": "viewer"})
    h.eq(r.status, 400, "short password")
    h.eq(r.json()["error"].get("field"), "password", "short password field")
    h.check("short" not in r.json()["error"]["message"].replace("shorty", ""), "message does not echo the password")
    t = login("vera", "vera-password-123")
    ENV["leaked"] += [t["access_token"], t["refresh_token"], "vera-password-123"]
    h.eq(me(t["access_token"]).json()["role"], "viewer", "vera is a viewer")
    h.eq(o.post("/api/v1/checks/web/run", headers=bearer(t["access_token"])).status, 403,
         "a viewer cannot run checks")
    r = o.request("PATCH", f"/api/v1/users/{u['id']}", body={"role": "operator"})
    h.eq(r.status, 200, f"promote: {r.body[:200]!r}")
    h.eq(me(t["access_token"]).json()["role"], "operator", "role change applies to the live session")
    r = o.request("PATCH", f"/api/v1/users/{u['id']}", body={"disabled": True})
    h.eq(r.status, 200, "disable")
    h.eq(me(t["access_token"]).status, 401, "disabled user's session refused at once")
    login("vera", "vera-password-123", expect=401)
    listed = o.get_json("/api/v1/users?disabled=true")
    h.check(any(x["username"] == "vera" for x in listed["users"]), "filter disabled=true")
    page1 = o.get_json("/api/v1/users?limit=1")
    h.eq(len(page1["users"]), 1, "limit=1")
    h.check(page1["next_cursor"], "next_cursor on a partial page")
    page2 = o.get_json(f"/api/v1/users?limit=1&cursor={page1['next_cursor']}")
    h.check(page2["users"][0]["username"] > page1["users"][0]["username"], "cursor moves forward")
    alice = [x for x in o.get_json("/api/v1/users")["users"] if x["username"] == "alice"][0]
    r = o.request("PATCH", f"/api/v1/users/{alice['id']}", body={"role": "viewer"})
    h.eq(r.status, 409, "the last enabled admin cannot be demoted")
    r = o.request("PATCH", f"/api/v1/users/{alice['id']}", body={"disabled": True})
    h.eq(r.status, 409, "the last enabled admin cannot be disabled")
    h.eq(o.request("PATCH", "/api/v1/users/u_nope", body={"role": "viewer"}).status, 404, "unknown user")



def test_tokens_made_by_a_user_are_bounded_by_that_user():
    o = O()
    r = o.post("/api/v1/users", body={"username": "tina", "password": "tina-password-123", "role": "admin"})
    h.eq(r.status, 201, "create tina")
    tina = r.json()
    t = login("tina", "tina-password-123")
    ENV["leaked"] += ["tina-password-123", t["access_token"], t["refresh_token"]]
    r = o.post("/api/v1/tokens", body={"name": "tinas-bot", "role": "admin"}, auth=t["access_token"])
    h.eq(r.status, 201, "tina makes an admin token")
    bot = r.json()["token"]
    ENV["leaked"].append(bot)
    h.eq(r.json()["created_by"], "user:tina", "created_by")
    h.eq(o.get("/api/v1/users", auth=bot).status, 200, "the token acts as admin")
    h.eq(o.request("PATCH", f"/api/v1/users/{tina['id']}", body={"role": "viewer"}).status, 200, "demote tina")
    h.eq(o.get("/api/v1/users", auth=bot).status, 403, "the token never acts above its maker's current role")
    h.eq(o.get("/api/v1/auth/me", auth=bot).json()["role"], "viewer", "effective role")
    h.eq(o.request("PATCH", f"/api/v1/users/{tina['id']}", body={"disabled": True}).status, 200, "disable tina")
    h.eq(o.get("/api/v1/auth/me", auth=bot).status, 401, "the token stops with its maker")

# ---- throttling and rate limits ----

def test_failed_logins_lock_the_account_and_are_counted():
    o = O()
    before = o.metrics()
    for i in range(5):
        login("oscar", f"wrong-password-{i}", expect=401)
    r = login("oscar", OPERATOR_PASSWORD, expect=429)
    h.check(int(r.header("retry-after") or 0) >= 1, "Retry-After on a locked account")
    h.eq(r.json()["error"]["code"], "locked", "locked error code")
    after = o.metrics()
    fails = after.get("opshub_auth_attempts_total", result="failure") - \
        before.get("opshub_auth_attempts_total", result="failure")
    locked = after.get("opshub_auth_attempts_total", result="locked") - \
        before.get("opshub_auth_attempts_total", result="locked")
    h.eq(fails, 5, "failures counted")
    h.eq(locked, 1, "locked attempt counted")
    time.sleep(int(r.header("retry-after")) + 0.2)
    t = login("oscar", OPERATOR_PASSWORD)
    ENV["leaked"] += [t["access_token"], t["refresh_token"]]


BURST = r"""
import http.client, json, sys
port, token, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
codes, retry, limit = {}, None, None
c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
for _ in range(n):
    c.request("GET", "/api/v1/checks", headers={"Authorization": "Bearer " + token})
    r = c.getresponse(); r.read()
    codes[r.status] = codes.get(r.status, 0) + 1
    if r.status == 429 and retry is None:
        retry = r.getheader("Retry-After"); limit = r.getheader("RateLimit-Limit")
print(json.dumps({"codes": codes, "retry": retry, "limit": limit}))
"""


def test_rate_limit_under_a_burst_from_a_second_process():
    nginx = ENV["nginx"]
    cfg = h.make_config([h.http_check("web", nginx.url("/health"))], rate_limits=False,
                        extra={"server": {"rate_limit": "30/min", "login_rate_limit": "3/min"}})
    with h.Opshub(cfg, env={"JWT_SECRET": JWT_SECRET}) as o:
        o.start()
        burst_tok = o.create_token(role="viewer", name="burst")
        other_tok = o.create_token(role="viewer", name="other")
        ENV["leaked"] += [burst_tok, other_tok]
        o.wait_token(burst_tok)
        o.wait_token(other_tok)
        p = subprocess.run([sys.executable, "-c", BURST, str(o.cur_port), burst_tok, "60"],
                           capture_output=True, text=True, timeout=60)
        h.eq(p.returncode, 0, f"burst process: {p.stderr}")
        res = json.loads(p.stdout)
        ok, limited = res["codes"].get("200", 0), res["codes"].get("429", 0)
        h.check(25 <= ok <= 31, f"about 30 requests allowed in the burst, got {res}")
        h.check(limited >= 28, f"the rest limited, got {res}")
        h.check(res["retry"] and int(res["retry"]) >= 1, "Retry-After on 429")
        h.eq(res["limit"], "30", "RateLimit-Limit")
        r = o.get("/api/v1/checks", auth=other_tok)
        h.eq(r.status, 200, "another token has its own bucket")
        h.check(r.header("ratelimit-remaining") is not None, "RateLimit-Remaining on a normal response")
        r = o.get("/api/v1/checks", auth=burst_tok)
        h.eq(r.status, 429, "still limited")
        h.eq(r.json()["error"]["code"], "rate_limited", "429 error body")
        h.eq(o.get("/healthz").status, 200, "health is not rate limited")
        codes = [o.post("/api/v1/auth/login", body={"username": "x", "password": "y" * 12}, auth=False).status
                 for _ in range(4)]
        h.eq(codes, [401, 401, 401, 429], "login is limited per address by server.login_rate_limit")
        o.stop()


def test_body_limits():
    o = O()
    big = b"{" + b'"a":"' + b"x" * (10 * 1024 * 1024) + b'"}'
    r = h.http_raw(o.cur_port, (f"POST /api/v1/tokens HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                                f"Authorization: Bearer {ENV['tokens']['admin']}\r\n"
                                f"Content-Length: {len(big)}\r\n\r\n").encode(), body_len=len(big))
    h.eq(r[0], 413, "10 MB body refused")
    h.eq(o.get("/healthz").status, 200, "still serving after a 10 MB body")
    r = o.post("/api/v1/tokens", body="name=x", headers={"Content-Type": "application/x-www-form-urlencoded"})
    h.eq(r.status, 415, "form bodies refused")
    # Without credentials a body is refused before it is read: the head alone gets the 401.
    for auth_line, expect in (("", 401), ("Authorization: Bearer opshub_" + "x" * 43 + "\r\n", 401),
                              (f"Authorization: Bearer {ENV['tokens']['viewer']}\r\n", 403)):
        s = socket.create_connection(("127.0.0.1", o.cur_port), timeout=5)
        s.sendall((f"POST /api/v1/checks HTTP/1.1\r\nHost: x\r\n{auth_line}Content-Type: application/json\r\n"
                   f"Content-Length: 1000000\r\n\r\n").encode())
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        s.close()
        h.check(data.startswith(f"HTTP/1.1 {expect} ".encode()), f"answered before the body ({expect}): {data[:120]!r}")
        if expect == 401:
            h.contains(data.decode(errors="replace"), "WWW-Authenticate: Bearer", "WWW-Authenticate on the early 401")
    s = socket.create_connection(("127.0.0.1", o.cur_port), timeout=5)
    s.sendall(b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              b"Content-Length: 1000000\r\n\r\n")
    data = s.recv(4096)
    s.close()
    h.check(data.startswith(b"HTTP/1.1 413 "), f"a public route refuses a big body unread: {data[:100]!r}")


def test_error_messages_echo_nothing_to_anonymous_callers():
    o = O()
    typed = "it-typed-secret-3141"
    # unknown members, and a nested one, on the two public routes that take a body
    for url, body in (("/api/v1/auth/login", {"username": "u", "password": "p", typed: 1}),
                      ("/api/v1/auth/refresh", {"refresh_token": "x", typed: {"k": 1}}),
                      ("/api/v1/auth/login", {"username": "u", "password": "p", "x": {typed: [1]}})):
        r = o.post(url, body=body, auth=False)
        h.eq(r.status, 400, f"status of {url} with an unknown member")
        err = r.json()["error"]
        h.eq(err["code"], "invalid_field", "code")
        h.check(typed not in r.text, f"{url} echoes the caller's text to an anonymous caller: {r.text}")
        h.check("field" not in err, f"no field naming the caller's key: {err}")
        h.contains(err["message"], "expected: ", "the message names the route's own fields")
    # a problem at one of the route's fields still names it (its name is the route's)
    r = o.post("/api/v1/auth/login", body={"username": "u", "password": 5}, auth=False)
    h.eq(r.json()["error"].get("field"), "password", "field of a known member")
    # an authenticated caller keeps the member's name and a definition's value (URL password masked)
    r = o.post("/api/v1/users", body={"username": "u1", "password": "long-enough-pass", "role": "viewer",
                                      typed: 1})
    h.eq(r.json()["error"].get("field"), typed, "an authenticated caller sees the unknown member")
    r = o.post("/api/v1/checks", body={"id": "it-echo", "type": "http", "url": "ftp://bob:pw-3141@h/x"})
    h.eq(r.status, 400, "a bad URL")
    msg = r.json()["error"]["message"]
    h.check("bob:***@h" in msg and "pw-3141" not in msg, f"the value is echoed with the password masked: {msg}")


# ---- CORS and headers ----

def test_cors_only_for_configured_origins():
    o = O()
    pre = {"Origin": "https://ops.example.com", "Access-Control-Request-Method": "GET",
           "Access-Control-Request-Headers": "authorization"}
    r = o.request("OPTIONS", "/api/v1/checks", headers=pre, auth=False)
    h.eq(r.status, 204, "preflight from an allowed origin")
    h.eq(r.header("access-control-allow-origin"), "https://ops.example.com", "ACAO")
    h.contains((r.header("access-control-allow-headers") or "").lower(), "authorization", "allowed headers")
    r = o.request("OPTIONS", "/api/v1/checks", headers=dict(pre, Origin="https://evil.example.com"), auth=False)
    h.eq(r.status, 403, "preflight from another origin")
    h.check(r.header("access-control-allow-origin") is None, "no ACAO for another origin")
    r = o.get("/api/v1/checks", headers={"Origin": "https://ops.example.com"})
    h.eq(r.header("access-control-allow-origin"), "https://ops.example.com", "ACAO on a simple request")
    r = o.get("/api/v1/checks", headers={"Origin": "https://evil.example.com"})
    h.check(r.header("access-control-allow-origin") is None, "no ACAO for a simple request from elsewhere")


def test_security_headers_on_api_responses():
    r = O().get("/api/v1/checks")
    csp = r.header("content-security-policy") or ""
    h.contains(csp, "frame-ancestors 'none'", "CSP frame-ancestors")
    h.check("unsafe-inline" not in csp, "CSP without unsafe-inline")
    h.eq(r.header("x-content-type-options"), "nosniff", "nosniff")
    h.check(r.header("referrer-policy"), "Referrer-Policy")
    h.check(r.header("strict-transport-security") is None, "no HSTS over plain HTTP")


# ---- audit ----

def test_audit_log_records_mutations_with_filters_and_pages():
    o = O()
    start = int(time.time()) - 1
    r = o.post("/api/v1/checks/web/run", auth=ENV["tokens"]["operator"])
    h.check(r.status in (200, 409), f"run as operator: {r.status}")
    o.post("/api/v1/checks/web/run", auth=ENV["tokens"]["viewer"])  # denied
    login("alice", "nope-nope-nope", expect=401)
    entries = h.wait_for(lambda: [e for e in o.get_json(f"/api/v1/audit?from={start}&limit=1000")["entries"]
                                  if e["action"] == "check.run"] or None, 5, "check.run audit entries")
    results = {(e["actor"], e["result"]) for e in entries}
    h.check(("matrix-operator", "ok") in results, f"operator run audited: {results}")
    h.check(("matrix-viewer", "denied") in results, f"denied viewer run audited: {results}")
    e = entries[0]
    for k in ("id", "ts", "actor", "actor_kind", "role", "action", "target", "result", "status", "ip", "request_id"):
        h.check(k in e, f"audit entry has {k}")
    h.eq(e["target"], "web", "target is the check id")
    h.eq(e["ip"], "127.0.0.1", "ip")
    logins = o.get_json(f"/api/v1/audit?from={start}&action=auth.login")["entries"]
    h.check(any(x["result"] == "denied" and "alice" in x["target"] for x in logins), f"failed login audited: {logins}")
    only = o.get_json(f"/api/v1/audit?actor=matrix-viewer&from={start}")["entries"]
    h.check(only and all(x["actor"] == "matrix-viewer" for x in only), "actor filter")
    pref = o.get_json(f"/api/v1/audit?action=auth.*&from={start}")["entries"]
    h.check(pref and all(x["action"].startswith("auth.") for x in pref), "action prefix filter")
    page = o.get_json("/api/v1/audit?limit=2")
    h.eq(len(page["entries"]), 2, "audit page size")
    nxt = o.get_json(f"/api/v1/audit?limit=2&cursor={page['next_cursor']}")
    h.check(nxt["entries"][0]["id"] < page["entries"][-1]["id"], "audit cursor goes back in time")
    h.eq(o.get("/api/v1/audit?from=yesterday").status, 400, "bad from")
    h.eq(o.get("/api/v1/audit", auth=ENV["tokens"]["operator"]).status, 403, "operators cannot read the audit log")
    # Append-only at the database level too.
    rows = h.sqlite_query(o.db_path, "SELECT COUNT(*) FROM audit_log")
    h.check(int(rows) > 5, "audit rows stored")
    try:
        h.sqlite_query(o.db_path, "UPDATE audit_log SET actor = 'x'")
        h.check(False, "UPDATE of audit_log was allowed")
    except Exception as ex:  # noqa: BLE001
        h.contains(str(ex), "append-only", "append-only trigger")


# ---- start-up refusals ----

def test_unsafe_settings_refuse_to_start():
    cfg = h.make_config([])
    cases = [
        ({"ALLOW_TEST_LOGIN": "1", "OPSHUB_ENV": "production", "JWT_SECRET": JWT_SECRET,
          "ENCRYPTION_KEY_BASE64": base64.b64encode(b"k" * 32).decode()}, "ALLOW_TEST_LOGIN"),
        ({"ALLOW_TEST_LOGIN": "1", "NODE_ENV": "production", "JWT_SECRET": JWT_SECRET,
          "ENCRYPTION_KEY_BASE64": base64.b64encode(b"k" * 32).decode()}, "ALLOW_TEST_LOGIN"),
        ({"JWT_SECRET": "short-secret"}, "JWT_SECRET must be"),
        ({"OPSHUB_ENV": "production", "ENCRYPTION_KEY_BASE64": base64.b64encode(b"k" * 32).decode()}, "JWT_SECRET"),
        ({"OPSHUB_ENV": "production", "JWT_SECRET": JWT_SECRET}, "ENCRYPTION_KEY_BASE64"),
        ({"JWT_SECRET": JWT_SECRET, "ENCRYPTION_KEY_BASE64": base64.b64encode(b"k" * 16).decode()},
         "ENCRYPTION_KEY_BASE64"),
    ]
    for env, needle in cases:
        with h.Opshub(cfg, env=env, auth=False) as o:
            o.start(wait=False)
            code = o.wait_exit(15)
            log = o.log_text()
            h.eq(code, 2, f"exit code with {sorted(env)}")
            h.contains(log, needle, f"message for {sorted(env)}")
            for v in env.values():
                if len(v) > 10:
                    h.check(v not in log, f"a secret value appears in the refusal message for {sorted(env)}")


def test_test_login_works_only_when_allowed():
    nginx = ENV["nginx"]
    cfg = h.make_config([h.http_check("web", nginx.url("/health"))])
    with h.Opshub(cfg, env={"ALLOW_TEST_LOGIN": "1", "JWT_SECRET": JWT_SECRET}) as o:
        r = o.cli("user", "add", "tess", "--role", "viewer", "--password-stdin", input="tess-password-123\n")
        h.eq(r.returncode, 0, f"user add: {r.stderr}")
        o.start()
        r = o.post("/api/v1/auth/test-login", body={"username": "tess"}, auth=False)
        h.eq(r.status, 200, f"test-login: {r.body[:200]!r}")
        ENV["leaked"] += [r.json()["access_token"], r.json()["refresh_token"]]
        h.eq(o.post("/api/v1/auth/test-login", body={"username": "nobody"}, auth=False).status, 401,
             "test-login for an unknown user")
        h.contains(o.log_text(), "ALLOW_TEST_LOGIN", "warning logged")
        o.stop()



request_from = h.http_request_from


def test_anonymous_flood_neither_locks_out_tokens_nor_floods_the_audit_log():
    nginx = ENV["nginx"]
    cfg = h.make_config([h.http_check("web", nginx.url("/health"))], rate_limits=False,
                        extra={"server": {"rate_limit": "1000/min", "global_rate_limit": "20/min"}})
    with h.Opshub(cfg, env={"JWT_SECRET": JWT_SECRET}) as o:
        o.start()
        tok = o.ensure_token()
        codes = [request_from(o.cur_port, f"127.0.0.{i}", "POST", "/api/v1/checks/web/run").status
                 for i in range(2, 42)]
        h.check(codes.count(401) >= 15 and codes.count(429) >= 15,
                f"anonymous callers from 40 addresses share one bucket: {codes}")
        r = o.get("/api/v1/checks", auth=tok)
        h.eq(r.status, 200, "a token still gets through after the anonymous flood")
        rows = int(h.sqlite_query(o.db_path, "SELECT COUNT(*) FROM audit_log WHERE actor_kind = 'anonymous'"))
        h.eq(rows, 0, "anonymous 401/429 answers are counted, not audited")
        m = o.metrics()
        h.check(m.get("opshub_http_denied_total", code="429") >= 15, "429s counted")
        h.check(m.get("opshub_http_denied_total", code="401") >= 15, "401s counted")
        o.stop()


def test_lockout_is_per_account_and_address_and_parallel_guesses_are_serialised():
    o = O()
    r = o.cli("user", "add", "paula", "--role", "viewer", "--password-stdin", input="paula-password-123\n")
    h.eq(r.returncode, 0, f"user add: {r.stderr}")
    h.wait_for(lambda: o.get("/api/v1/users/paula").status == 200, 5, "the daemon to know the new user")
    before = o.metrics().get("opshub_auth_attempts_total", result="failure")
    results = []

    def guess(i):
        results.append(request_from(o.cur_port, "127.0.0.9", "POST", "/api/v1/auth/login",
                                    body={"username": "paula", "password": f"guess-number-{i:04d}"}).status)
    threads = [threading.Thread(target=guess, args=(i,)) for i in range(30)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    failures = o.metrics().get("opshub_auth_attempts_total", result="failure") - before
    h.check(failures <= 6, f"parallel guesses must not all be checked: {failures} verified, {sorted(results)}")
    h.check(results.count(429) >= 24, f"the rest refused while one check is in flight: {sorted(results)}")
    for i in range(6):
        request_from(o.cur_port, "127.0.0.9", "POST", "/api/v1/auth/login",
                     body={"username": "paula", "password": f"more-guesses-{i:04d}"})
    r = request_from(o.cur_port, "127.0.0.9", "POST", "/api/v1/auth/login",
                     body={"username": "paula", "password": "paula-password-123"})
    h.eq(r.status, 429, "the attacking address is locked out of the account")
    r = request_from(o.cur_port, "127.0.0.10", "POST", "/api/v1/auth/login",
                     body={"username": "paula", "password": "paula-password-123"})
    h.eq(r.status, 200, f"the owner from another address still logs in: {r.body[:200]!r}")
    ENV["leaked"] += ["paula-password-123", r.json()["access_token"], r.json()["refresh_token"]]


def test_api_answers_are_not_cacheable_and_files_are_private():
    o = O()
    r = o.get("/api/v1/auth/me")
    h.eq(r.header("cache-control"), "no-store", "Cache-Control on API answers")
    mode = os.stat(o.db_path).st_mode & 0o777
    h.eq(mode & 0o077, 0, f"database file mode {oct(mode)} is private")


def test_test_login_refused_on_a_non_loopback_listen_address():
    cfg = h.make_config([])
    with h.Opshub(cfg, env={"ALLOW_TEST_LOGIN": "1", "JWT_SECRET": JWT_SECRET}, auth=False) as o:
        p = subprocess.run([h.OPSHUB_BIN, "serve", "--config", o.config_path, "--data", o.data_dir,
                            "--listen", "0.0.0.0:1"], capture_output=True, text=True, timeout=20,
                           env=h.opshub_env({"ALLOW_TEST_LOGIN": "1", "JWT_SECRET": JWT_SECRET}))
        h.eq(p.returncode, 2, "exit code")
        h.contains(p.stderr, "loopback", "message")


def test_a_burst_of_failed_logins_raises_the_self_alert():
    o = O()
    h.eq(o.metrics().get("opshub_self_alert", alert="AuthFailureBurst"), 0, "quiet before")
    for ip in range(20, 25):
        for i in range(10):
            r = request_from(o.cur_port, f"127.0.0.{ip}", "POST", "/api/v1/auth/login",
                             body={"username": f"ghost-{ip}-{i}", "password": "not-the-password"})
            h.eq(r.status, 401, "each guess fails")
    h.eq(o.metrics().get("opshub_self_alert", alert="AuthFailureBurst"), 1, "the self-alert fires")
    h.contains(o.log_text(), "self-alert: burst of failed logins", "error logged")


def test_concurrent_logins_beyond_two_get_503_and_monitoring_goes_on():
    o = O()
    results = []

    def attempt(i):
        results.append(request_from(o.cur_port, f"127.0.1.{i + 1}", "POST", "/api/v1/auth/login",
                                    body={"username": f"nobody-{i}", "password": "wrong-password-x"}))
    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    codes = sorted(r.status for r in results)
    h.check(codes.count(503) >= 1, f"more than two password checks at once are refused: {codes}")
    h.check(codes.count(401) >= 2, f"two are checked: {codes}")
    busy = [r for r in results if r.status == 503][0]
    h.eq(busy.header("retry-after"), "1", "Retry-After on the 503")
    h.eq(o.get("/healthz").status, 200, "the daemon keeps serving")


def test_sessions_are_capped_per_user_and_in_age():
    o = O()
    r = o.post("/api/v1/users", body={"username": "sam", "password": "sam-password-1234", "role": "viewer"})
    h.eq(r.status, 201, "create sam")
    tokens = []
    for _ in range(21):
        t = login("sam", "sam-password-1234")
        ENV["leaked"] += [t["access_token"], t["refresh_token"]]
        tokens.append(t)
    h.eq(me(tokens[0]["access_token"]).status, 401, "the oldest of 21 sessions is ended (20 per user)")
    h.eq(me(tokens[1]["access_token"]).status, 200, "the 20 newest stay")
    h.eq(me(tokens[-1]["access_token"]).status, 200, "the newest works")
    nginx = ENV["nginx"]
    cfg = h.make_config([h.http_check("web", nginx.url("/health"))], extra={"server": {"auth": {"refresh_ttl": "365d"}}})
    with h.Opshub(cfg, env={"JWT_SECRET": JWT_SECRET}) as o2:
        r = o2.cli("user", "add", "long", "--role", "viewer", "--password-stdin", input="long-password-1234\n")
        h.eq(r.returncode, 0, "user add")
        o2.start()
        r = o2.post("/api/v1/auth/login", body={"username": "long", "password": "long-password-1234"}, auth=False)
        h.eq(r.status, 200, "login")
        ENV["leaked"] += [r.json()["access_token"], r.json()["refresh_token"]]
        h.eq(r.json()["refresh_expires_in"], 90 * 86400, "a session never outlives 90 days, whatever refresh_ttl says")
        o2.stop()

# ---- the end: no secret anywhere ----

def test_zz_no_secret_in_logs_or_api_output():
    o = O()
    o.stop()
    logs = o.log_text() + open(o.stdout_path, errors="replace").read()
    for s in SECRETS + ENV["leaked"]:
        h.check(s not in logs, f"a secret ({s[:6]}...) appears in opshub's log")
    o.start()
    for path in ("/api/v1/users", "/api/v1/tokens?limit=1000", "/api/v1/audit?limit=1000"):
        text = o.get(path).text
        for s in SECRETS + ENV["leaked"]:
            h.check(s not in text, f"a secret ({s[:6]}...) appears in {path}")
    db = open(o.db_path, "rb").read()
    wal = o.db_path + "-wal"
    if os.path.exists(wal):
        db += open(wal, "rb").read()
    for s in SECRETS + ENV["leaked"]:
        h.check(s.encode() not in db, f"a secret ({s[:6]}...) is stored in clear in the database")


def teardown():
    # close() stops a daemon still running and checks its exit; an error is counted.
    for k in ("o", "nginx"):
        if k in ENV:
            ENV[k].close()


if __name__ == "__main__":
    h.run(h.collect(globals()), setup=setup, teardown=teardown)
