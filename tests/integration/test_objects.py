"""
Integration tests of checks and projects created through the API: validation by the
configuration loader's rules with the JSON path of the bad field (and the same message as the
YAML loader), the check running from the answer on, merge-patch updates with If-Match,
deletes, config objects read-only (409), projects with checks protected, secret fields sealed
in the database, everything surviving a restart, other processes' edits reaching the daemon,
the file winning an id clash on reload, pagination and filters, and `secrets rotate-key`
re-sealing an API check's URL so the daemon keeps probing with the new key.
"""
import base64
import json
import socket
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

ENV = {}
KEY_A = base64.b64encode(bytes(range(32))).decode()
KEY_B = base64.b64encode(bytes(range(32, 64))).decode()
for _s in (KEY_A, KEY_B, "s3cr3t-pw", "hdr-s3cr3t"):
    h.secret(_s)


def setup():
    t = ENV["target"] = h.Target()
    cfg = h.make_config([h.http_check("from-file", t.url("/ok"), interval="1h", timeout="2s")],
                        projects=[{"id": "shop", "name": "Shop"}])
    ENV["cfg"] = cfg
    o = ENV["o"] = h.track(h.Opshub(cfg, env={"ENCRYPTION_KEY_BASE64": KEY_A}))
    o.start()


def O():
    return ENV["o"]


def secret_url():
    return ENV["target"].url("/ok").replace("http://", "http://monitor:s3cr3t-pw@")


def test_create_validates_like_the_config_file_and_runs_at_once():
    o = O()
    t = ENV["target"]
    r = o.post("/api/v1/checks", body={"id": "api-web", "type": "http", "url": t.url("/ok"), "interval": "5x"})
    h.eq(r.status, 400, "bad interval")
    err = r.json()["error"]
    h.eq(err.get("field"), "interval", "field of the bad interval")
    # The same mistake in YAML gives the same message (after FILE:LINE:COL).
    bad_yaml = h.make_config([{"id": "api-web", "type": "http", "url": t.url("/ok"), "interval": "5x"}])
    path = o.tmp.join("bad.yaml")
    with open(path, "w") as f:
        f.write(bad_yaml)
    cc = h.run_cli(["config", "check", "--config", path])
    h.eq(cc.returncode, 2, "config check of the same mistake")
    yaml_msg = cc.stderr.strip().split(": ", 1)[1]
    h.contains(err["message"], yaml_msg, "the API message is the config loader's")
    r = o.post("/api/v1/checks", body={"id": "api-web", "type": "http", "url": t.url("/ok"),
                                         "expect": {"status": [200, "9xx"]}})
    h.eq(r.json()["error"].get("field"), "expect.status[1]", "nested JSON path")
    r = o.post("/api/v1/checks", body={"id": "api-web", "type": "http", "url": t.url("/ok"), "intervall": "5s"})
    h.contains(r.json()["error"]["message"], "did you mean", "unknown key suggestion")
    r = o.post("/api/v1/checks", body={"id": "from-file", "type": "http", "url": t.url("/ok")})
    h.eq(r.status, 409, "id of a config check")
    r = o.post("/api/v1/checks", body={"id": "api-web", "type": "http", "url": t.url("/ok"), "project": "nope"})
    h.eq(r.json()["error"].get("field"), "project", "unknown project")

    before = t.count("/ok")
    r = o.post("/api/v1/checks", body={"id": "api-web", "type": "http", "url": secret_url(), "project": "shop",
                                         "interval": "1s", "timeout": "500ms", "headers": {"X-Token": "hdr-s3cr3t"}})
    h.eq(r.status, 201, f"create: {r.body[:300]!r}")
    c = r.json()
    h.eq(c["source"], "api", "source")
    h.eq(c["version"], 1, "version")
    h.check("s3cr3t-pw" not in r.text and "hdr-s3cr3t" not in r.text, "no secret in the answer")
    h.wait_for(lambda: t.count("/ok") > before + 1, 10, "the API check probing its target")
    o.wait_status("api-web", "up", timeout=10)
    listed = o.get_json("/api/v1/checks?source=api")["checks"]
    h.eq([x["id"] for x in listed], ["api-web"], "source filter")
    h.eq(o.post("/api/v1/checks", body={"id": "api-web", "type": "http", "url": t.url("/ok")}).status, 409,
         "duplicate API id")


def test_secrets_are_sealed_in_the_database():
    o = O()
    row = h.sqlite_query(o.db_path, "SELECT definition || '|' || secret || '|' || key_id FROM api_objects "
                                    "WHERE kind = 'check' AND id = 'api-web'")
    h.check(row, "row stored")
    h.check("s3cr3t-pw" not in row and "hdr-s3cr3t" not in row, f"secret in clear in the row: {row}")
    h.contains(row, "|v1:", "sealed token")
    data = open(o.db_path, "rb").read()
    wal = o.db_path + "-wal"
    if os.path.exists(wal):
        data += open(wal, "rb").read()
    h.check(b"s3cr3t-pw" not in data and b"hdr-s3cr3t" not in data, "secret bytes in the database files")


def test_patch_with_if_match_and_config_objects_are_read_only():
    o = O()
    r = o.request("PATCH", "/api/v1/checks/api-web", body={"interval": "2s", "labels": {"team": "web"}},
                  headers={"If-Match": '"1"'})
    h.eq(r.status, 200, f"patch: {r.body[:300]!r}")
    h.eq(r.json()["interval"], "2s", "patched interval")
    h.eq(r.json()["version"], 2, "version bumped")
    h.eq(r.json()["labels"], {"team": "web"}, "labels")
    r = o.request("PATCH", "/api/v1/checks/api-web", body={"interval": "3s"}, headers={"If-Match": '"1"'})
    h.eq(r.status, 412, "stale If-Match")
    r = o.request("PATCH", "/api/v1/checks/api-web", body={"timeout": "10s"})
    h.eq(r.status, 400, "timeout above interval")
    h.eq(r.json()["error"].get("field"), "timeout", "field")
    r = o.request("PATCH", "/api/v1/checks/api-web", body={"id": "other"})
    h.eq(r.json()["error"].get("field"), "id", "id is immutable")
    r = o.request("PATCH", "/api/v1/checks/api-web", body=["interval", "2s"])
    h.eq(r.status, 400, "a merge patch must be an object")
    r = o.request("PATCH", "/api/v1/checks/api-web", body={"expect": {"status": [200, 204], "json": {"ok": True}}})
    h.eq(r.status, 200, f"nested object in a patch: {r.body[:200]!r}")
    r = o.request("PATCH", "/api/v1/checks/api-web", body={"labels": None})
    h.eq(r.json()["labels"], {}, "null removes a member")
    r = o.request("PATCH", "/api/v1/checks/from-file", body={"interval": "2s"})
    h.eq(r.status, 409, "config check is read-only")
    h.eq(r.json()["error"]["code"], "read_only", "code")
    h.eq(o.request("DELETE", "/api/v1/checks/from-file").status, 409, "config check cannot be deleted")
    h.eq(o.request("PATCH", "/api/v1/checks/nope", body={}).status, 404, "unknown check")
    op = o.create_token("operator", "op")
    o.wait_token(op)
    h.eq(o.post("/api/v1/checks", body={"id": "x"}, auth=op).status, 403, "operators cannot create checks")


def test_projects_crud_and_protection():
    o = O()
    r = o.post("/api/v1/projects", body={"id": "infra", "name": "Infra", "environments": ["production"]})
    h.eq(r.status, 201, f"create project: {r.body[:200]!r}")
    h.eq(r.json()["source"], "api", "source")
    h.eq(o.post("/api/v1/projects", body={"id": "shop"}).status, 409, "file project id")
    r = o.post("/api/v1/projects", body={"id": "Bad Id"})
    h.eq(r.json()["error"].get("field"), "id", "bad project id field")
    r = o.post("/api/v1/checks", body={"id": "infra-port", "type": "tcp", "address": "127.0.0.1:9",
                                         "project": "infra", "interval": "1h"})
    h.eq(r.status, 201, f"check in an API project: {r.body[:200]!r}")
    r = o.request("DELETE", "/api/v1/projects/infra")
    h.eq(r.status, 409, "project with checks")
    h.eq(o.request("DELETE", "/api/v1/projects/shop").status, 409, "file project")
    r = o.request("PATCH", "/api/v1/projects/infra", body={"name": "Infrastructure"})
    h.eq(r.json()["name"], "Infrastructure", "patched name")
    page = o.get_json("/api/v1/projects?limit=1")
    h.eq(len(page["projects"]), 1, "page size")
    rest = o.get_json(f"/api/v1/projects?cursor={page['next_cursor']}")
    h.eq([p["id"] for p in page["projects"] + rest["projects"]], ["shop", "infra"], "both pages")
    h.eq(o.request("DELETE", "/api/v1/checks/infra-port").status, 204, "delete the check")
    h.eq(o.request("DELETE", "/api/v1/projects/infra").status, 204, "then the project")
    h.eq(o.get("/api/v1/projects/infra").status, 404, "gone")


def test_restart_keeps_api_objects_and_cli_edits_arrive():
    o = O()
    o.stop()
    o.start()
    c = o.check_json("api-web")
    h.eq(c["source"], "api", "API check back after a restart")
    h.eq(c["interval"], "2s", "with its patched definition")
    # Another process deletes it (as another node would): the daemon follows within a poll.
    h.sqlite_query(o.db_path, "DELETE FROM api_objects WHERE id = 'api-web';"
                              "UPDATE meta SET value = value + 1 WHERE key = 'objects_gen'")
    h.wait_for(lambda: o.get("/api/v1/checks/api-web").status == 404, 5, "the daemon to drop the deleted check")


def test_file_wins_an_id_clash_on_reload():
    o = O()
    t = ENV["target"]
    r = o.post("/api/v1/checks", body={"id": "clash", "type": "http", "url": t.url("/ok"), "interval": "1h"})
    h.eq(r.status, 201, "create")
    cfg = h.make_config([h.http_check("from-file", t.url("/ok"), interval="1h", timeout="2s"),
                         h.http_check("clash", t.url("/status/500"), interval="1h", timeout="2s")],
                        projects=[{"id": "shop", "name": "Shop"}])
    o.reload(cfg)
    h.wait_for(lambda: o.check_json("clash")["source"] == "config", 10, "the file's check to take the id")
    skipped = [json.loads(ln) for ln in o.log_text().splitlines()
               if ln.startswith("{") and '"API object skipped"' in ln]
    h.check(any(e.get("kind") == "check" and e.get("id") == "clash" and "duplicate check id" in e.get("error", "")
                for e in skipped), f"the clash is logged: {skipped}")
    o.reload(ENV["cfg"])
    h.wait_for(lambda: o.check_json("clash")["source"] == "api", 10, "the API check back when the file drops it")
    h.eq(o.request("DELETE", "/api/v1/checks/clash").status, 204, "cleanup")


def test_rotate_key_reseals_and_the_daemon_keeps_probing():
    o = O()
    t = ENV["target"]
    r = o.post("/api/v1/checks", body={"id": "rot", "type": "http", "url": secret_url(), "interval": "1s",
                                         "timeout": "500ms"})
    h.eq(r.status, 201, "create")
    o.stop()
    env = {"ENCRYPTION_KEY_BASE64": KEY_B, "ENCRYPTION_KEY_OLD_BASE64": KEY_A}
    r = h.run_cli(["secrets", "rotate-key", "--json", "--config", o.config_path, "--data", o.data_dir], env=env)
    h.eq(r.returncode, 0, f"rotate-key: {r.stderr}")
    out = json.loads(r.stdout)
    h.check(out["resealed"] >= 1, f"re-sealed: {out}")
    h.eq([k["current"] for k in out["keys"]], [True], "every secret under the new key")
    o.env = {"ENCRYPTION_KEY_BASE64": KEY_B}  # the old key is gone now
    o.start()
    before = t.count("/ok")
    h.wait_for(lambda: t.count("/ok") > before + 1, 10, "probing with the URL opened by the new key")
    o.env = {"ENCRYPTION_KEY_BASE64": KEY_A}  # a wrong key: the check cannot be opened, and says so
    o.stop()
    o.start()
    h.wait_for(lambda: "cannot open the secret" in o.log_text(), 10, "the error about the missing key")
    h.eq(o.get("/api/v1/checks/rot").status, 404, "a check whose secret cannot be opened does not run")
    r = o.request("PATCH", "/api/v1/checks/rot", body={"interval": "2s"})
    h.eq(r.status, 409, "a check whose secret cannot be opened cannot be patched (its secret would be lost)")
    h.contains(r.json()["error"]["message"], "can only be deleted", "message")
    o.env = {"ENCRYPTION_KEY_BASE64": KEY_B}
    o.stop()
    o.start()

def test_sigterm_while_writes_are_in_flight_exits_cleanly():
    o = O()
    t = ENV["target"]
    tok = o.ensure_token()
    for i in range(150):
        body = json.dumps({"id": f"late-{i}", "type": "http", "url": t.url("/ok"), "interval": "1h"}).encode()
        s = socket.create_connection(("127.0.0.1", o.cur_port), timeout=5)
        s.sendall(b"POST /api/v1/checks HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + tok.encode() +
                  b"\r\nContent-Type: application/json\r\nContent-Length: " + str(len(body)).encode() +
                  b"\r\n\r\n" + body)
        s.close()  # every client leaves before its answer: nothing holds the server open
    code = o.stop()  # asserts exit 0 and no sanitizer report in the log
    h.eq(code, 0, "clean exit with writes in flight")
    o.start()
    left = [c["id"] for c in o.get_json("/api/v1/checks?source=api&limit=1000")["checks"] if c["id"].startswith("late-")]
    for cid in left:
        h.eq(o.request("DELETE", f"/api/v1/checks/{cid}").status, 204, f"cleanup {cid}")



def teardown():
    # close() stops a daemon still running and checks its exit; an error is counted.
    for k in ("o", "target"):
        if k in ENV:
            ENV[k].close()


if __name__ == "__main__":
    h.run(h.collect(globals()), setup=setup, teardown=teardown)
