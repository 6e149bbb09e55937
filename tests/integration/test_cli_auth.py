"""
Integration tests of `opshub user` and `opshub token` (issue 3) with the real binary on
SQLite in a temp --data dir (and PostgreSQL when available): every subcommand's good path,
table and --json output, bad input (exit 2 naming the field), conflicts (exit 1), the
last-admin rule, sessions revoked on disable/passwd, tokens printed once and stored only
as SHA-256, passwords absent from the database files, one audit row per change, --help.
Every run also asserts that no sanitizer report appears on stderr (OPSHUB_BIN may be an
ASan build).
"""
# ctest: COST 50
import base64
import hashlib
import json
import os
import pty
import pwd
import re
import select
import sqlite3
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

ENV = {}
PW = "correct horse battery"
PW2 = "another long passphrase"
h.secret(PW)
h.secret(PW2)
TOKEN_RE = re.compile(r"^opshub_[A-Za-z0-9_-]{43}$")
SANITIZER_MARKS = ("AddressSanitizer", "LeakSanitizer", "UndefinedBehaviorSanitizer", "runtime error:")
OS_USER = pwd.getpwuid(os.geteuid()).pw_name
_dirs = [0]


def setup():
    ENV["tmp"] = h.TempDir("opshub-cliauth-")


def new_data():
    _dirs[0] += 1
    return ENV["tmp"].join(f"data{_dirs[0]}")


def no_sanitizer_report(r):
    for m in SANITIZER_MARKS:
        h.check(m not in r.stderr, f"sanitizer report on stderr: {r.stderr[-3000:]}")


def cli(args, data=None, stdin=None, env=None, cwd=None):
    """Runs opshub ARGS (+ --data DATA). stdin: text fed to the process, else /dev/null."""
    args = list(args)
    full = args[:2] + ["--data", data] + args[2:] if data else args
    r = subprocess.run([h.OPSHUB_BIN] + full, input=stdin if stdin is not None else "", capture_output=True,
                       text=True, timeout=60, env=h.opshub_env(env), cwd=cwd or ENV["tmp"].path)
    no_sanitizer_report(r)
    return r


def ok(r, what):
    h.eq(r.returncode, 0, f"exit code of {what} (stderr {r.stderr!r})")
    return r


def fails(r, code, what, *needles):
    h.eq(r.returncode, code, f"exit code of {what} (stdout {r.stdout!r}, stderr {r.stderr!r})")
    for n in needles:
        h.contains(r.stderr, n, f"stderr of {what}")
    return r


def add_user(data, name, role, pw=PW):
    return ok(cli(["user", "add", name, "--role", role, "--password-stdin"], data, stdin=pw + "\n"),
              f"user add {name}")


def db(data):
    con = sqlite3.connect(os.path.join(data, "opshub.db"), timeout=10)
    con.row_factory = sqlite3.Row
    return con


def query(data, sql, args=()):
    con = db(data)
    try:
        return [dict(r) for r in con.execute(sql, args).fetchall()]
    finally:
        con.close()


def db_bytes(data):
    out = b""
    for suffix in ("", "-wal", "-shm", "-journal"):
        p = os.path.join(data, "opshub.db" + suffix)
        if os.path.exists(p):
            with open(p, "rb") as f:
                out += f.read()
    return out


def audit(data, action):
    return query(data, "SELECT * FROM audit_log WHERE action = ? ORDER BY id", (action,))


def table_rows(out):
    lines = [ln for ln in out.splitlines() if ln.strip()]
    return lines[0].split(), [ln.split() for ln in lines[1:]]


# --------------------------------------------------------------------------------
# help and usage

def test_help_of_every_command():
    r = ok(cli(["--help"]), "opshub --help")
    h.contains(r.stdout, "user", "top-level help lists user")
    h.contains(r.stdout, "token", "top-level help lists token")
    for cmd, subs in (("user", ["add", "list", "disable", "enable", "passwd", "role"]),
                      ("token", ["create", "list", "revoke"])):
        top = ok(cli([cmd, "--help"]), f"{cmd} --help")
        h.contains(top.stdout, f"usage: opshub {cmd}", f"{cmd} --help")
        for s in subs:
            h.contains(top.stdout, f"opshub {cmd} {s}", f"{cmd} --help lists {s}")
            r = ok(cli([cmd, s, "--help"]), f"{cmd} {s} --help")
            h.contains(r.stdout, f"usage: opshub {cmd} {s}", f"{cmd} {s} --help")
            h.contains(r.stdout, "--data DIR", f"{cmd} {s} --help shows --data")
            h.contains(r.stdout, "--config FILE", f"{cmd} {s} --help shows --config")
            h.contains(r.stdout, "--json", f"{cmd} {s} --help shows --json")
        fails(cli([cmd]), 2, f"bare {cmd}", f"usage: opshub {cmd}")
        fails(cli([cmd, "frobnicate"]), 2, f"{cmd} frobnicate", "unknown subcommand 'frobnicate'")
    h.contains(cli(["user", "add", "--help"]).stdout, "--password-stdin", "user add --help")
    h.contains(cli(["token", "create", "--help"]).stdout, "--expires", "token create --help")
    h.contains(cli(["token", "list", "--help"]).stdout, "--all", "token list --help")
    fails(cli(["user", "list", "--bogus"]), 2, "unknown option", "unknown option '--bogus'")
    fails(cli(["user", "list", "--role", "admin"]), 2, "option not of list", "does not apply")
    fails(cli(["user", "add"]), 2, "add without NAME", "expected 1 argument")
    fails(cli(["token", "create", "--role"]), 2, "--role without value", "needs a value")


# --------------------------------------------------------------------------------
# users

def test_user_add_and_list():
    d = new_data()
    r = add_user(d, "alice", "admin")
    m = re.match(r"^user alice added \(role admin, id (u_[0-9a-f]{24})\)\n$", r.stdout)
    h.check(m, f"user add output {r.stdout!r}")
    r = ok(cli(["user", "add", "bob.ops@example-1", "--role", "viewer", "--password-stdin", "--json"], d,
               stdin=PW + "\r\n"), "user add --json")
    u = json.loads(r.stdout)
    h.eq(set(u), {"id", "username", "role", "disabled", "created_at", "updated_at", "last_login_at"},
         "keys of the user object")
    h.eq((u["username"], u["role"], u["disabled"], u["last_login_at"]), ("bob.ops@example-1", "viewer", False, None),
         "user object")
    h.check(h.is_iso_ms(u["created_at"]) and h.is_iso_ms(u["updated_at"]), f"ISO times in {u}")
    h.check("hash" not in r.stdout and "argon2" not in r.stdout, "no hash in the output")

    r = ok(cli(["user", "list"], d), "user list")
    head, rows = table_rows(r.stdout)
    h.eq(head, ["USERNAME", "ROLE", "STATUS", "CREATED", "LAST_LOGIN"], "table header")
    h.eq([row[:3] for row in rows], [["alice", "admin", "active"], ["bob.ops@example-1", "viewer", "active"]],
         "table rows")
    h.check(all(h.is_iso_ms(row[3]) and row[4] == "never" for row in rows), f"times in {rows}")
    h.check("argon2" not in r.stdout, "no hash in the table")

    doc = json.loads(ok(cli(["user", "list", "--json"], d), "user list --json").stdout)
    h.eq([x["username"] for x in doc["users"]], ["alice", "bob.ops@example-1"], "users in --json")
    h.eq(doc["users"][0]["id"], m.group(1), "id of alice")
    h.eq(doc["users"][1], u, "bob in the list equals the object add printed")

    stored = query(d, "SELECT username, role, password_hash FROM users ORDER BY username")
    h.eq([(x["username"], x["role"]) for x in stored], [("alice", "admin"), ("bob.ops@example-1", "viewer")], "rows")
    h.check(all(x["password_hash"].startswith("$argon2id$") for x in stored), "Argon2id hashes stored")
    raw = db_bytes(d)
    h.check(PW.encode() not in raw, "the password appears in the database files")
    rows = audit(d, "user.create")
    h.eq([(a["target"], a["result"], a["actor_kind"], a["actor"]) for a in rows],
         [("alice", "ok", "cli", f"cli:{OS_USER}"), ("bob.ops@example-1", "ok", "cli", f"cli:{OS_USER}")],
         "user.create audit rows")


def test_user_list_paginates_past_one_page():
    d = new_data()
    add_user(d, "admin", "admin")
    con = db(d)
    try:
        h_ = query(d, "SELECT password_hash FROM users")[0]["password_hash"]
        con.executemany("INSERT INTO users (id, username, role, password_hash, disabled, created_at, updated_at)"
                        " VALUES (?, ?, 'viewer', ?, 0, 1700000000000, 1700000000000)",
                        [(f"u_{i:024x}", f"user{i:05d}", h_) for i in range(2500)])
        con.commit()
    finally:
        con.close()
    r = ok(cli(["user", "list"], d), "user list of 2501 users")
    _, rows = table_rows(r.stdout)
    h.eq(len(rows), 2501, "rows listed")
    h.eq(rows[-1][0], "user02499", "last row")
    doc = json.loads(ok(cli(["user", "list", "--json"], d), "user list --json").stdout)
    h.eq(len(doc["users"]), 2501, "users in --json")
    h.eq(len({u["username"] for u in doc["users"]}), 2501, "no duplicates across pages")


def test_user_add_bad_input_exit_2():
    d = new_data()
    for name, needle in (("", "username: must be 1 to 64"), ("x" * 65, "username: must be 1 to 64"),
                         ("-alice", "username"), (".alice", "username: '.alice' must start"),
                         ("al ice", "username: 'al ice' may contain only"),
                         ("al/ice", "username: 'al/ice' may contain only"), ("h\u00e9", "username")):
        fails(cli(["user", "add", "--role", "viewer", "--password-stdin", "--", name], d, stdin=PW + "\n"), 2,
              f"user add {name!r}", needle)
    fails(cli(["user", "add", "carol", "--role", "root", "--password-stdin"], d, stdin=PW + "\n"), 2,
          "bad role", "role: 'root' is not one of viewer, operator, admin")
    fails(cli(["user", "add", "carol", "--password-stdin"], d, stdin=PW + "\n"), 2, "missing role", "role: missing")
    fails(cli(["user", "add", "carol", "--role", "viewer", "--password-stdin"], d, stdin="short pw 11\n"), 2,
          "short password", "password: must be at least 12 characters (got 11)")
    fails(cli(["user", "add", "carol", "--role", "viewer", "--password-stdin"], d, stdin="\n"), 2,
          "empty password", "password: must be at least 12")
    fails(cli(["user", "add", "carol.example", "--role", "viewer", "--password-stdin"], d,
              stdin="carol.example\n"), 2, "password = username", "password: must not be the username")
    fails(cli(["user", "add", "carol", "--role", "viewer", "--password-stdin"], d, stdin="p" * 1025 + "\n"), 2,
          "password too long", "password: longer than 1024 bytes")
    ok(cli(["user", "add", "carol", "--role", "viewer", "--password-stdin"], d, stdin="p" * 1024 + "\r\n"),
       "password of exactly 1024 bytes + CRLF")
    fails(cli(["user", "add", "dave", "--role", "viewer"], d, stdin=PW + "\n"), 2,
          "no --password-stdin and stdin not a terminal", "password: stdin is not a terminal")
    h.eq([u["username"] for u in query(d, "SELECT username FROM users")], ["carol"], "only carol was added")


def test_user_add_duplicate_exit_1():
    d = new_data()
    add_user(d, "alice", "admin")
    fails(cli(["user", "add", "alice", "--role", "viewer", "--password-stdin"], d, stdin=PW + "\n"), 1,
          "duplicate", "user 'alice' already exists")
    h.eq(query(d, "SELECT role FROM users WHERE username = 'alice'"), [{"role": "admin"}], "alice unchanged")
    h.eq(len(audit(d, "user.create")), 1, "one user.create row")


def insert_session(d, sid, user):
    uid = query(d, "SELECT id FROM users WHERE username = ?", (user,))[0]["id"]
    con = db(d)
    try:
        con.execute("INSERT INTO sessions (id, user_id, refresh_hash, created_at, refreshed_at, expires_at)"
                    " VALUES (?, ?, ?, 1, 1, 9999999999999)", (sid, uid, hashlib.sha256(sid.encode()).hexdigest()))
        con.commit()
    finally:
        con.close()


def session_revoked(d, sid):
    return query(d, "SELECT revoked_at FROM sessions WHERE id = ?", (sid,))[0]["revoked_at"] is not None


def test_disable_enable_and_last_admin():
    d = new_data()
    add_user(d, "alice", "admin")
    add_user(d, "bob", "viewer")
    gen0 = query(d, "SELECT value FROM meta WHERE key = 'auth_gen'")[0]["value"]
    fails(cli(["user", "disable", "alice"], d), 1, "disable the last admin", "last enabled admin")
    fails(cli(["user", "role", "alice", "operator"], d), 1, "demote the last admin", "last enabled admin")
    h.eq(query(d, "SELECT role, disabled FROM users WHERE username = 'alice'"), [{"role": "admin", "disabled": 0}],
         "alice unchanged")
    h.eq([(a["result"], a["status"]) for a in audit(d, "user.disable")], [("denied", 1)], "denied disable audited")
    h.eq([(a["result"], a["target"]) for a in audit(d, "user.role")], [("denied", "alice")], "denied demote audited")

    insert_session(d, "s_bob1", "bob")
    r = ok(cli(["user", "disable", "bob"], d), "disable bob")
    h.contains(r.stdout, "user bob disabled", "disable output")
    h.check(session_revoked(d, "s_bob1"), "bob's session not revoked on disable")
    h.check(query(d, "SELECT value FROM meta WHERE key = 'auth_gen'")[0]["value"] > gen0, "auth_gen bumped")
    _, rows = table_rows(ok(cli(["user", "list"], d), "list").stdout)
    h.eq([row[:3] for row in rows], [["alice", "admin", "active"], ["bob", "viewer", "disabled"]], "after disable")
    r = ok(cli(["user", "disable", "bob"], d), "disable bob again")
    h.contains(r.stdout, "already disabled", "idempotent disable")
    r = ok(cli(["user", "enable", "bob", "--json"], d), "enable bob --json")
    h.eq(json.loads(r.stdout)["disabled"], False, "enable --json")
    fails(cli(["user", "enable", "nobody"], d), 1, "enable unknown", "user 'nobody' not found")
    fails(cli(["user", "disable", "no body"], d), 2, "disable bad name", "username")

    add_user(d, "carol", "admin")
    ok(cli(["user", "disable", "alice"], d), "disable alice while carol is admin")
    fails(cli(["user", "disable", "carol"], d), 1, "disable carol, now the last enabled admin", "last enabled admin")
    ok(cli(["user", "enable", "alice"], d), "enable alice")
    ok(cli(["user", "role", "carol", "viewer"], d), "demote carol while alice is admin")
    h.eq([(a["target"], a["result"]) for a in audit(d, "user.disable")],
         [("alice", "denied"), ("bob", "ok"), ("alice", "ok"), ("carol", "denied")], "user.disable audit rows")
    h.eq([(a["target"], a["result"]) for a in audit(d, "user.enable")], [("bob", "ok"), ("alice", "ok")],
         "user.enable audit rows")
    h.check(all(a["actor_kind"] == "cli" for a in audit(d, "user.enable")), "actor_kind cli")


def test_user_passwd():
    d = new_data()
    add_user(d, "alice", "admin")
    before = query(d, "SELECT password_hash, updated_at FROM users")[0]
    insert_session(d, "s_a1", "alice")
    r = ok(cli(["user", "passwd", "alice", "--password-stdin"], d, stdin=PW2 + "\n"), "passwd")
    h.contains(r.stdout, "password changed", "passwd output")
    after = query(d, "SELECT password_hash, updated_at FROM users")[0]
    h.check(after["password_hash"] != before["password_hash"], "hash unchanged")
    h.check(after["password_hash"].startswith("$argon2id$"), "new hash is Argon2id")
    h.check(session_revoked(d, "s_a1"), "session not revoked on passwd")
    h.eq([(a["target"], a["result"], a["actor_kind"]) for a in audit(d, "user.passwd")], [("alice", "ok", "cli")],
         "user.passwd audit")
    raw = db_bytes(d)
    h.check(PW.encode() not in raw and PW2.encode() not in raw, "a password appears in the database files")
    fails(cli(["user", "passwd", "alice", "--password-stdin"], d, stdin="tooshort\n"), 2, "short", "password:")
    fails(cli(["user", "passwd", "alice", "--password-stdin"], d, stdin="alice\n"), 2, "too short", "password:")
    fails(cli(["user", "passwd", "ghost", "--password-stdin"], d, stdin=PW + "\n"), 1, "unknown user",
          "user 'ghost' not found")
    fails(cli(["user", "passwd", "alice"], d), 2, "no tty, no flag", "--password-stdin")
    h.eq(len(audit(d, "user.passwd")), 1, "failed passwd attempts write no ok row")


def test_user_role():
    d = new_data()
    add_user(d, "alice", "admin")
    add_user(d, "bob", "viewer")
    r = ok(cli(["user", "role", "bob", "operator"], d), "role bob operator")
    h.eq(r.stdout.strip(), "user bob: role viewer -> operator", "role output")
    r = ok(cli(["user", "role", "bob", "admin", "--json"], d), "role --json")
    h.eq(json.loads(r.stdout)["role"], "admin", "role in --json")
    ok(cli(["user", "role", "alice", "viewer"], d), "demote alice while bob is admin")
    r = ok(cli(["user", "role", "alice", "viewer"], d), "same role again")
    h.contains(r.stdout, "already has this role", "no-op role change")
    fails(cli(["user", "role", "bob", "superuser"], d), 2, "bad role", "role: 'superuser'")
    fails(cli(["user", "role", "ghost", "viewer"], d), 1, "unknown user", "user 'ghost' not found")
    fails(cli(["user", "role", "bob"], d), 2, "missing role", "expected 2 arguments")
    h.eq([(a["target"], a["detail"]) for a in audit(d, "user.role")],
         [("bob", "role viewer -> operator"), ("bob", "role operator -> admin"), ("alice", "role admin -> viewer")],
         "user.role audit rows")


def run_on_tty(args, answers, timeout=30):
    """Runs opshub with stdin and stderr on a pty; types each answer after a prompt
    ending in ': ' appears. Returns (exit code, stdout, everything the terminal showed)."""
    master, slave = pty.openpty()
    p = subprocess.Popen([h.OPSHUB_BIN] + args, stdin=slave, stdout=subprocess.PIPE, stderr=slave,
                         env=h.opshub_env(), cwd=ENV["tmp"].path)
    os.close(slave)
    shown, typed = b"", 0
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            r, _, _ = select.select([master], [], [], 0.1)
            if r:
                try:
                    chunk = os.read(master, 65536)
                except OSError:
                    chunk = b""
                if not chunk and p.poll() is not None:
                    break
                shown += chunk
                if typed < len(answers) and shown.count(b": ") > typed:
                    os.write(master, answers[typed].encode() + b"\n")
                    typed += 1
            elif p.poll() is not None:
                break
        out, _ = p.communicate(timeout=10)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        os.close(master)
    text = shown.decode(errors="replace")
    for m in SANITIZER_MARKS:
        h.check(m not in text, f"sanitizer report on the terminal: {text[-3000:]}")
    return p.returncode, out.decode(errors="replace"), text


def test_password_prompt_on_a_terminal():
    d = new_data()
    code, out, shown = run_on_tty(["user", "add", "alice", "--role", "admin", "--data", d], [PW, PW])
    h.eq(code, 0, f"exit code with matching entries (terminal {shown!r})")
    h.contains(shown, "New password: ", "first prompt")
    h.contains(shown, "Repeat the password: ", "second prompt")
    h.check(PW not in shown, f"the password was echoed: {shown!r}")
    h.contains(out, "user alice added", "stdout")
    code, out, shown = run_on_tty(["user", "add", "bob", "--role", "viewer", "--data", d], [PW, PW2])
    h.eq(code, 2, f"exit code with different entries (terminal {shown!r})")
    h.contains(shown, "password: the two entries do not match", "mismatch message")
    code, out, shown = run_on_tty(["user", "passwd", "alice", "--data", d], [PW2, PW2])
    h.eq(code, 0, f"passwd on a terminal (terminal {shown!r})")
    h.eq([u["username"] for u in query(d, "SELECT username FROM users")], ["alice"], "bob not added")


# --------------------------------------------------------------------------------
# tokens

def create_token(d, *extra):
    r = ok(cli(["token", "create"] + list(extra), d), f"token create {extra}")
    return r


def test_token_create_list_revoke():
    d = new_data()
    r = create_token(d, "--role", "operator", "--name", "ci deploy")
    lines = r.stdout.splitlines()
    h.eq(len(lines), 1, f"stdout is the token alone: {r.stdout!r}")
    token = lines[0]
    h.check(TOKEN_RE.match(token), f"token format {token!r}")
    h.contains(r.stderr, "store it now: it cannot be shown again", "note on stderr")
    h.check(token not in r.stderr, "token repeated on stderr")
    rows = query(d, "SELECT * FROM api_tokens")
    h.eq(len(rows), 1, "one token row")
    t = rows[0]
    h.eq(t["token_hash"], hashlib.sha256(token.encode()).hexdigest(), "stored hash is SHA-256 of the token")
    h.eq((t["name"], t["role"], t["prefix"], t["created_by"], t["expires_at"]),
         ("ci deploy", "operator", token[:14], f"cli:{OS_USER}", None), "token row")
    h.contains(r.stderr, t["id"], "id named on stderr")
    h.check(token.encode() not in db_bytes(d), "the token appears in the database files")
    h.check(token[14:].encode() not in db_bytes(d), "the secret part appears in the database files")

    r = ok(cli(["token", "list"], d), "token list")
    h.check(token not in r.stdout and t["token_hash"] not in r.stdout, "token or hash in the list")
    lines = [ln for ln in r.stdout.splitlines() if ln.strip()]
    h.eq(lines[0].split(), ["ID", "NAME", "PREFIX", "ROLE", "CREATED", "EXPIRES", "LAST_USED", "STATUS"], "header")
    h.eq(len(lines), 2, "rows")
    for v in (t["id"], "ci deploy", token[:14], "operator", "never", "active"):
        h.contains(lines[1], v, "token row in the table")

    r2 = ok(cli(["token", "create", "--role", "viewer", "--name", "grafana", "--expires", "90d", "--json"], d),
            "token create --json")
    doc = json.loads(r2.stdout)
    h.eq(list(doc), ["token", "id", "name", "prefix", "role", "created_at", "expires_at"], "keys in order")
    h.check(TOKEN_RE.match(doc["token"]), "token in --json")
    h.eq((doc["name"], doc["role"], doc["prefix"]), ("grafana", "viewer", doc["token"][:14]), "--json fields")
    row = query(d, "SELECT * FROM api_tokens WHERE id = ?", (doc["id"],))[0]
    h.eq(row["expires_at"] - row["created_at"], 90 * 86400 * 1000, "expires_at = created_at + 90d")
    h.check(h.is_iso_ms(doc["created_at"]) and h.is_iso_ms(doc["expires_at"]), "ISO times")
    h.eq(row["token_hash"], hashlib.sha256(doc["token"].encode()).hexdigest(), "hash of the --json token")

    lst = json.loads(ok(cli(["token", "list", "--json"], d), "token list --json").stdout)["tokens"]
    h.eq([x["name"] for x in lst], ["grafana", "ci deploy"], "newest first")
    h.eq(set(lst[0]), {"id", "name", "prefix", "role", "created_by", "created_at", "expires_at", "last_used_at",
                       "revoked_at", "status"}, "keys of a listed token")
    h.check("hash" not in json.dumps(lst) and token not in json.dumps(lst), "no hash or token in --json list")

    r = ok(cli(["token", "revoke", token[:14]], d), "revoke by prefix")
    h.contains(r.stdout, f"token {t['id']} (ci deploy, prefix {token[:14]}) revoked", "revoke output")
    h.check(query(d, "SELECT revoked_at FROM api_tokens WHERE id = ?", (t["id"],))[0]["revoked_at"], "revoked_at")
    names = [x["name"] for x in json.loads(cli(["token", "list", "--json"], d).stdout)["tokens"]]
    h.eq(names, ["grafana"], "revoked token hidden without --all")
    r = ok(cli(["token", "list", "--all"], d), "token list --all")
    h.check(any("ci deploy" in ln and ln.rstrip().endswith("revoked") for ln in r.stdout.splitlines()),
            f"revoked token in --all: {r.stdout}")
    fails(cli(["token", "revoke", t["id"]], d), 1, "revoke twice", "already revoked")
    r = ok(cli(["token", "revoke", doc["id"], "--json"], d), "revoke by id --json")
    h.eq(json.loads(r.stdout)["status"], "revoked", "status after revoke")
    fails(cli(["token", "revoke", "t_000000000000000000000000"], d), 1, "unknown id", "no token matches")
    fails(cli(["token", "revoke", "opshub_zzzzzzz"], d), 1, "unknown prefix", "no token matches 'opshub_zzzzzzz'")
    fails(cli(["token", "revoke", "grafana"], d), 2, "neither id nor prefix", "neither an id")
    fails(cli(["token", "revoke", "opshub_"], d), 2, "scheme alone", "neither an id")

    creates, revokes = audit(d, "token.create"), audit(d, "token.revoke")
    h.eq(len(creates), 2, "token.create rows")
    h.eq(len(revokes), 2, "token.revoke rows")
    for a in creates + revokes:
        h.eq((a["actor_kind"], a["actor"], a["result"]), ("cli", f"cli:{OS_USER}", "ok"), "audit actor")
        h.check(token not in json.dumps(a) and doc["token"] not in json.dumps(a), "token in an audit row")
    h.eq(creates[0]["target"], f"{t['id']} (ci deploy)", "token.create target: id and name")
    h.eq(revokes[0]["target"], f"{t['id']} (ci deploy)", "token.revoke target")


def insert_token(d, tid, prefix, revoked=None, expires=None):
    con = db(d)
    try:
        con.execute("INSERT INTO api_tokens (id, name, prefix, token_hash, role, created_by, created_at, expires_at,"
                    " revoked_at) VALUES (?, ?, ?, ?, 'viewer', 'test', ?, ?, ?)",
                    (tid, "n-" + tid, prefix, hashlib.sha256(tid.encode()).hexdigest(), h.now_ms(), expires, revoked))
        con.commit()
    finally:
        con.close()


def test_token_revoke_ambiguous_whole_token_and_expired():
    d = new_data()
    add_user(d, "owner", "admin")  # creates the database (a list only reads an existing one)
    insert_token(d, "t_aaaaaaaaaaaaaaaaaaaaaaa1", "opshub_AAAAAA1")
    insert_token(d, "t_aaaaaaaaaaaaaaaaaaaaaaa2", "opshub_AAAAAA2")
    insert_token(d, "t_aaaaaaaaaaaaaaaaaaaaaaa3", "opshub_BBBBBBB", expires=h.now_ms() - 1000)
    fails(cli(["token", "revoke", "opshub_AAAAAA"], d), 1, "ambiguous prefix", "matches several tokens",
          "t_aaaaaaaaaaaaaaaaaaaaaaa1", "t_aaaaaaaaaaaaaaaaaaaaaaa2")
    ok(cli(["token", "revoke", "opshub_AAAAAA2"], d), "exact prefix")
    st = {x["id"]: x["status"] for x in json.loads(cli(["token", "list", "--json", "--all"], d).stdout)["tokens"]}
    h.eq(st, {"t_aaaaaaaaaaaaaaaaaaaaaaa1": "active", "t_aaaaaaaaaaaaaaaaaaaaaaa2": "revoked",
              "t_aaaaaaaaaaaaaaaaaaaaaaa3": "expired"}, "statuses")
    r = ok(cli(["token", "revoke", "opshub_AAAAAA"], d), "prefix now matching one active token")
    h.contains(r.stdout, "t_aaaaaaaaaaaaaaaaaaaaaaa1", "the active one is revoked")
    fails(cli(["token", "revoke", "opshub_AAAAAA"], d), 1, "prefix matching only revoked tokens", "several")
    ok(cli(["token", "revoke", "opshub_B"], d), "revoke an expired token by a short prefix")
    # a whole token is matched by its hash and never echoed
    tok = cli(["token", "create", "--role", "admin", "--name", "leaked"], d).stdout.strip()
    r = ok(cli(["token", "revoke", tok], d), "revoke by the whole token")
    h.check(tok not in r.stdout + r.stderr, "whole token echoed")
    fails(cli(["token", "revoke", tok], d), 1, "whole token again", "already revoked")
    r = fails(cli(["token", "revoke", tok[:-1] + ("A" if tok[-1] != "A" else "B")], d), 1, "wrong whole token",
              "no token matches 'the token given'")
    h.check(tok[:-1] not in r.stderr, "token text in the error")
    h.check(tok.encode() not in db_bytes(d), "the token appears in the database files")


def test_token_create_bad_input_exit_2():
    d = new_data()
    cases = [
        (["--name", "x"], "role: missing"),
        (["--role", "root", "--name", "x"], "role: 'root' is not one of"),
        (["--role", "viewer"], "name: missing"),
        (["--role", "viewer", "--name", ""], "name: must be 1 to 64"),
        (["--role", "viewer", "--name", "n" * 65], "name: must be 1 to 64 characters (got 65)"),
        (["--role", "viewer", "--name", "tab\there"], "name: may contain only printable"),
        (["--role", "viewer", "--name", "x", "--expires", "59m"], "expires: '59m' is outside 1h..3650d"),
        (["--role", "viewer", "--name", "x", "--expires", "3651d"], "expires: '3651d' is outside"),
        (["--role", "viewer", "--name", "x", "--expires", "soon"], "expires: 'soon' is not a duration"),
        (["--role", "viewer", "--name", "x", "--expires", "-5d"], "expires:"),
    ]
    for args, needle in cases:
        r = fails(cli(["token", "create"] + args, d), 2, f"token create {args}", needle)
        h.eq(r.stdout, "", f"nothing on stdout for {args}")
    ok(cli(["token", "create", "--role", "viewer", "--name", "n" * 64, "--expires", "1h"], d), "64-char name, 1h")
    ok(cli(["token", "create", "--role", "viewer", "--name", "x", "--expires", "3650d"], d), "3650d")
    ok(cli(["token", "create", "--role", "viewer", "--name", "x", "--expires", "never"], d), "never")
    fails(cli(["token", "list", "--name", "x"], d), 2, "--name on list", "does not apply")


# --------------------------------------------------------------------------------
# finding the database; failures

def test_same_database_as_serve():
    # default ./data relative to the working directory, created like serve does
    cwd = ENV["tmp"].join("cwd1")
    os.makedirs(cwd)
    ok(cli(["user", "add", "alice", "--role", "admin", "--password-stdin"], stdin=PW + "\n", cwd=cwd), "default data")
    h.check(os.path.exists(os.path.join(cwd, "data", "opshub.db")), "./data/opshub.db created")
    # storage.url from --config; ./opshub.yaml used when present
    dbfile = ENV["tmp"].join("fromconf.db")
    cfg = ENV["tmp"].join("cwd2", "opshub.yaml")
    os.makedirs(os.path.dirname(cfg))
    with open(cfg, "w") as f:
        f.write(h.make_config([], storage_url=f"sqlite://{dbfile}"))
    ok(cli(["token", "create", "--role", "viewer", "--name", "a", "--config", cfg]), "--config")
    ok(cli(["token", "create", "--role", "viewer", "--name", "b"], cwd=os.path.dirname(cfg)), "./opshub.yaml")
    h.eq(h.sqlite_query(dbfile, "SELECT name FROM api_tokens ORDER BY name"), "a\nb", "tokens in storage.url db")
    # DATABASE_URL when the config has no storage.url
    envdb = ENV["tmp"].join("env.db")
    ok(cli(["user", "add", "eve", "--role", "viewer", "--password-stdin"], stdin=PW + "\n",
           env={"DATABASE_URL": f"sqlite://{envdb}"}), "DATABASE_URL")
    h.eq(h.sqlite_query(envdb, "SELECT username FROM users"), "eve", "user in DATABASE_URL db")
    # a bad config file is a usage error
    bad = ENV["tmp"].join("bad.yaml")
    with open(bad, "w") as f:
        f.write("storage:\n  url: [\n")
    fails(cli(["user", "list", "--config", bad]), 2, "bad config", bad)
    fails(cli(["user", "list", "--config", ENV["tmp"].join("missing.yaml")]), 2, "missing config")


def test_database_unreachable_exit_1_without_password():
    port = h.closed_port()
    cfg = ENV["tmp"].join("pgdown.yaml")
    with open(cfg, "w") as f:
        f.write(h.make_config([], storage_url=f"postgres://opshub:SuperSecretPw@127.0.0.1:{port}/opshub"))
    for args in (["user", "list"], ["token", "list"], ["token", "create", "--role", "viewer", "--name", "x"],
                 ["token", "revoke", "opshub_abcdefg"], ["user", "disable", "x"]):
        r = fails(cli(args + ["--config", cfg]), 1, f"{args} with the database down", "cannot open the database",
                  f"127.0.0.1:{port}")
        h.check("SuperSecretPw" not in r.stderr + r.stdout, f"password printed: {r.stderr!r}")
        h.eq(r.stdout, "", "nothing on stdout")
    r = fails(cli(["user", "add", "x1", "--role", "viewer", "--password-stdin", "--config", cfg], stdin=PW + "\n"),
              1, "user add with the database down", "cannot open the database")
    h.check("SuperSecretPw" not in r.stderr and PW not in r.stderr, "secret printed")
    r = cli(["user", "list"], env={"DATABASE_URL": f"postgres://u:EnvSecret123@127.0.0.1:{port}/x"})
    fails(r, 1, "DATABASE_URL down", "cannot open the database")
    h.check("EnvSecret123" not in r.stderr, f"password printed: {r.stderr!r}")


def test_postgres_add_list_token():
    pg = h.Postgres().start()   # fails, never skips, without PostgreSQL
    cfg = ENV["tmp"].join("pg.yaml")
    with open(cfg, "w") as f:
        f.write(h.make_config([], storage_url=pg.url("pgpass-not-needed")))
    ok(cli(["user", "add", "alice", "--role", "admin", "--password-stdin", "--config", cfg], stdin=PW + "\n"),
       "user add on PostgreSQL")
    fails(cli(["user", "add", "alice", "--role", "admin", "--password-stdin", "--config", cfg], stdin=PW + "\n"),
          1, "duplicate on PostgreSQL", "already exists")
    doc = json.loads(ok(cli(["user", "list", "--json", "--config", cfg]), "user list on PostgreSQL").stdout)
    h.eq([(u["username"], u["role"]) for u in doc["users"]], [("alice", "admin")], "users on PostgreSQL")
    fails(cli(["user", "disable", "alice", "--config", cfg]), 1, "last admin on PostgreSQL", "last enabled admin")
    token = ok(cli(["token", "create", "--role", "viewer", "--name", "pg", "--config", cfg]), "token create").stdout
    token = token.strip()
    h.eq(pg.psql("SELECT token_hash FROM api_tokens"), hashlib.sha256(token.encode()).hexdigest(), "hash in PostgreSQL")
    ok(cli(["token", "revoke", token[:14], "--config", cfg]), "revoke on PostgreSQL")
    h.eq(pg.psql("SELECT action || ':' || actor_kind || ':' || result FROM audit_log ORDER BY id"),
         "user.create:cli:ok\nuser.disable:cli:denied\ntoken.create:cli:ok\ntoken.revoke:cli:ok", "audit on PostgreSQL")
    h.check(PW not in pg.psql("SELECT password_hash FROM users"), "password stored")



KEY_A = base64.b64encode(bytes(range(32))).decode()
KEY_B = base64.b64encode(bytes(range(32, 64))).decode()


def test_read_only_commands_create_nothing_in_a_wrong_data_dir():
    # `secrets status`, `user list` and `token list` only read: pointed at a data directory
    # that holds nothing, they say so and leave it as it was (no key file, no database).
    data = new_data()
    os.mkdir(data)
    r = fails(cli(["secrets", "status"], data), 2, "secrets status in an empty dir",
              "encryption-key does not exist", "is --data right?")
    h.eq(os.listdir(data), [], "the data dir after secrets status")
    for cmd in (["user", "list"], ["token", "list"]):
        fails(cli(cmd, data), 1, " ".join(cmd) + " in an empty dir", "no database at", "is --data right?")
        h.eq(os.listdir(data), [], "the data dir after " + " ".join(cmd))
    missing = new_data()
    fails(cli(["secrets", "status"], missing), 2, "secrets status, no dir", "does not exist")
    fails(cli(["user", "list"], missing), 1, "user list, no dir", "no database at")
    h.check(not os.path.exists(missing), "a missing data dir is not created")
    # With the key from the environment the database is still not created.
    r = fails(cli(["secrets", "status"], data, env={"ENCRYPTION_KEY_BASE64": KEY_A}), 1, "status, key in env",
              "no database at")
    h.eq(os.listdir(data), [], "the data dir after secrets status with a key in the environment")
    h.check(KEY_A not in r.stdout + r.stderr, "the key appears in the output")


def test_secrets_status_and_rotate_key():
    data = new_data()
    # Outside production, without ENCRYPTION_KEY_BASE64, the daemon or rotate-key generates a key
    # once (mode 0600); status never does.
    fails(cli(["secrets", "status", "--json"], data), 2, "status before any key", "does not exist")
    r = ok(cli(["secrets", "rotate-key", "--json"], data), "rotate-key generates the key")
    h.eq(json.loads(r.stdout)["resealed"], 0, "nothing to re-seal yet")
    r = ok(cli(["secrets", "status", "--json"], data), "secrets status")
    doc = json.loads(r.stdout)
    h.eq(doc["keys"], [], "no stored secrets yet")
    keyfile = os.path.join(data, "encryption-key")
    h.check(os.path.exists(keyfile), "generated key file")
    h.eq(os.stat(keyfile).st_mode & 0o777, 0o600, "key file mode")
    again = json.loads(ok(cli(["secrets", "status", "--json"], data), "status again").stdout)
    h.eq(again["current_key"], doc["current_key"], "the generated key is reused")
    env = {"ENCRYPTION_KEY_BASE64": KEY_B, "ENCRYPTION_KEY_OLD_BASE64": KEY_A}
    r = ok(cli(["secrets", "rotate-key", "--json"], data, env=env), "rotate-key")
    out = json.loads(r.stdout)
    h.eq(out["resealed"], 0, "nothing to re-seal in an empty store")
    h.check(out["current_key"] != doc["current_key"], "the current key is the new one")
    rows = h.sqlite_query(os.path.join(data, "opshub.db"),
                          "SELECT action, result, actor_kind FROM audit_log WHERE action = 'secrets.rotate_key'")
    h.contains(rows, "secrets.rotate_key|ok|cli", "rotation audited")
    for v in (KEY_A, KEY_B):
        h.check(v not in r.stdout + r.stderr, "a key appears in the output")
    bad = fails(cli(["secrets", "status"], data, env={"ENCRYPTION_KEY_BASE64": base64.b64encode(b"x" * 16).decode()}),
                2, "short key", "ENCRYPTION_KEY_BASE64")
    h.check(base64.b64encode(b"x" * 16).decode() not in bad.stderr, "the bad key is not echoed")
    fails(cli(["secrets", "status"], data, env={"ENCRYPTION_KEY_BASE64": KEY_A, "ENCRYPTION_KEY_OLD_BASE64": "nope"}),
          2, "bad old key", "ENCRYPTION_KEY_OLD_BASE64")
    fails(cli(["secrets", "status"], new_data(), env={"OPSHUB_ENV": "production"}), 2, "production without a key",
          "required when OPSHUB_ENV/NODE_ENV is production")
    fails(cli(["secrets", "bogus"], data), 2, "unknown subcommand", "unknown subcommand")
    ok(cli(["secrets", "--help"]), "secrets --help")

if __name__ == "__main__":
    h.run(h.collect(globals()), setup=setup, test_timeout=120)
