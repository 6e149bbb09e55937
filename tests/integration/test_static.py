"""
Integration tests of static files (server.static_dir, served under /assets/) against the real
binary and a temporary directory: content types, strong ETags and 304, the cache policy of hashed
names, HEAD, every path traversal variant sent as raw bytes (never a byte of what lies outside the
root), hidden names, directories, a symlink leading out, the 16 MiB cap, SIGHUP picking up a new
deploy, a failed reload keeping the served files, an unset static_dir answering 404 like an unknown
route, and a static_dir that cannot be read stopping the start with a message naming it.
"""
import os
import re
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

ENV = {}
SECRET = "outside-the-root-3b1f"
APP_JS = b"console.log('opshub dashboard');\n"


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def config(static_dir):
    server = {"static_dir": static_dir} if static_dir else {}
    return h.make_config([], extra={"server": server})


def setup():
    tmp = ENV["tmp"] = h.TempDir("opshub-static-")
    root = ENV["root"] = tmp.join("dist")
    write(tmp.join("outside", "secret.txt"), SECRET)
    write(os.path.join(root, "index.html"), "<!doctype html><title>opshub</title>")
    write(os.path.join(root, "assets", "app.3f9a1c2b.js"), APP_JS)
    write(os.path.join(root, "assets", "app.3f9a1c2b.js.map"), '{"version":3}')
    write(os.path.join(root, "assets", "style.css"), "body{margin:0}")
    write(os.path.join(root, "assets", "logo.svg"), "<svg xmlns='http://www.w3.org/2000/svg'/>")
    write(os.path.join(root, "assets", "font.woff2"), b"wOF2\x00\x01")
    write(os.path.join(root, "assets", "blob.bin"), b"\x00\x01\x02")
    write(os.path.join(root, "assets", "sub", "deep.json"), '{"deep":true}')
    write(os.path.join(root, "assets", ".env"), SECRET)
    os.symlink(tmp.join("outside", "secret.txt"), os.path.join(root, "assets", "escape.txt"))
    os.symlink("../../outside", os.path.join(root, "assets", "outdir"))
    with open(os.path.join(root, "assets", "big.js"), "wb") as f:
        f.truncate(16 * 1024 * 1024 + 1)
    o = ENV["o"] = h.track(h.Opshub(config(root)))
    o.start()
    o.wait_log("static files loaded")


def O():
    return ENV["o"]


def raw_get(path_bytes, extra=b""):
    """GET with the request target sent byte for byte (no client-side normalising)."""
    s = socket.create_connection(("127.0.0.1", O().cur_port), timeout=10)
    try:
        s.sendall(b"GET " + path_bytes + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + extra + b"\r\n")
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    finally:
        s.close()
    m = re.match(rb"HTTP/1\.1 (\d{3}) ", data)
    return (int(m.group(1)) if m else None), data


def test_files_are_served_with_their_type_etag_and_cache_policy():
    r = O().get("/assets/app.3f9a1c2b.js")
    etag = r.header("etag")
    h.eq(r.status, 200, "GET a hashed script")
    h.eq(r.body, APP_JS, "the script's bytes")
    h.eq(r.header("content-type"), "text/javascript; charset=utf-8", "script type")
    h.eq(r.header("cache-control"), "public, max-age=31536000, immutable", "hashed name cached for a year")
    h.check(re.fullmatch(r'"[0-9a-f]{32}"', r.header("etag") or ""), f"strong ETag: {r.header('etag')!r}")
    h.eq(r.header("content-length"), str(len(APP_JS)), "Content-Length")
    h.eq(r.header("x-content-type-options"), "nosniff", "nosniff on files too")
    expect = {
        "/assets/style.css": ("text/css; charset=utf-8", "no-cache"),
        "/assets/logo.svg": ("image/svg+xml; charset=utf-8", "no-cache"),
        "/assets/font.woff2": ("font/woff2", "no-cache"),
        "/assets/blob.bin": ("application/octet-stream", "no-cache"),
        "/assets/sub/deep.json": ("application/json", "no-cache"),
        "/assets/app.3f9a1c2b.js.map": ("application/json", "public, max-age=31536000, immutable"),
    }
    for path, (ctype, cache) in expect.items():
        r = O().get(path)
        h.eq(r.status, 200, f"GET {path}")
        h.eq(r.header("content-type"), ctype, f"{path} Content-Type")
        h.eq(r.header("cache-control"), cache, f"{path} Cache-Control")
    head = O().request("HEAD", "/assets/app.3f9a1c2b.js")
    h.eq(head.status, 200, "HEAD")
    h.eq(head.body, b"", "HEAD has no body")
    h.eq(head.header("content-length"), str(len(APP_JS)), "HEAD Content-Length")
    h.eq(head.header("etag"), etag, "HEAD ETag")


def test_if_none_match_answers_304():
    etag = O().get("/assets/style.css").header("etag")
    for inm in (etag, "W/" + etag, '"nope", ' + etag, "*"):
        r = O().get("/assets/style.css", headers={"If-None-Match": inm})
        h.eq(r.status, 304, f"If-None-Match {inm!r}")
        h.eq(r.body, b"", "304 has no body")
        h.eq(r.header("etag"), etag, "304 repeats the ETag")
        h.eq(r.header("cache-control"), "no-cache", "304 repeats Cache-Control")
    r = O().get("/assets/style.css", headers={"If-None-Match": '"0000"'})
    h.eq(r.status, 200, "another tag gets the file")


def test_no_path_reaches_outside_the_root():
    cases = [
        b"/assets/../index.html", b"/assets/../../outside/secret.txt", b"/assets/%2e%2e/%2e%2e/outside/secret.txt",
        b"/assets/%2E%2E/%2E%2E/outside/secret.txt", b"/assets/..%2f..%2foutside%2fsecret.txt",
        b"/assets/%252e%252e/%252e%252e/outside/secret.txt", b"/assets/sub/../../../outside/secret.txt",
        b"/assets/./style.css", b"/assets//etc/passwd", b"/assets/%2fetc%2fpasswd", b"/assets/..\\..\\outside",
        b"/assets/%5c..%5c..%5coutside%5csecret.txt", b"/assets/%00", b"/assets/style.css%00.js",
        b"/assets/escape.txt", b"/assets/outdir/secret.txt", b"/assets/.env", b"/assets/%2eenv",
        b"/assets/sub", b"/assets/sub/", b"/assets/", b"/assets", b"/assets/big.js", b"/assets/nope.js",
        b"/assets/" + b"a/" * 40 + b"b.js",
    ]
    for path in cases:
        status, data = raw_get(path)
        what = f"GET {path!r} ({status})"
        h.check(status in (400, 404), f"{what}: expected 400 or 404, got {data[:200]!r}")
        h.check(SECRET.encode() not in data, f"{what} leaked a file outside the root")
        h.check(b"<title>opshub</title>" not in data, f"{what} served index.html from above /assets/")
        if b"\r\n\r\n" in data and data.split(b"\r\n\r\n", 1)[1]:
            h.contains(data.split(b"\r\n\r\n", 1)[1].decode(errors="replace"), '"error"', f"{what}: JSON error body")
    status, data = raw_get(b"/assets/../index.html")
    h.eq(status, 400, "a '..' segment is refused, not looked up")
    h.contains(data.decode(), "path not allowed", "the refusal says why")
    h.check(O().running(), "opshub survived the traversal attempts")


def test_other_methods_are_405_and_big_files_are_left_out():
    r = O().request("POST", "/assets/app.3f9a1c2b.js", body=b"")
    h.eq(r.status, 405, "POST to a file")
    h.eq(r.header("allow"), "GET, HEAD", "Allow")
    h.check(O().log_lines("static file left out"), "a note for what was left out")
    notes = " ".join(x.get("file", "") for x in O().log_lines("static file left out"))
    h.contains(notes, "assets/big.js: larger than 16777216 bytes", "the 16 MiB cap")
    h.contains(notes, "assets/escape.txt: symlink leading out", "the escaping link")
    h.check(SECRET not in O().log_text(), "the secret file's content never reaches the log")


def test_sighup_serves_a_new_deploy():
    root = ENV["root"]
    old_etag = O().get("/assets/style.css").header("etag")
    h.eq(O().get("/assets/app.4d5e6f70.js").status, 404, "the next build's file before the reload")
    write(os.path.join(root, "assets", "app.4d5e6f70.js"), b"console.log('v2')")
    write(os.path.join(root, "assets", "style.css"), "body{margin:1px}")
    h.eq(O().get("/assets/app.4d5e6f70.js").status, 404, "files are read at start and on SIGHUP only")
    n = len(O().log_lines("static files reloaded"))
    O().reload()
    O().wait_log("static files reloaded", count=n + 1)
    r = O().get("/assets/app.4d5e6f70.js")
    h.eq(r.status, 200, "the new file after SIGHUP")
    h.eq(r.body, b"console.log('v2')", "its bytes")
    new_etag = O().get("/assets/style.css").header("etag")
    h.check(new_etag != old_etag, "a changed file gets a new ETag")
    h.eq(O().get("/assets/style.css", headers={"If-None-Match": old_etag}).status, 200,
         "the old ETag no longer matches")


def test_failed_reload_keeps_the_served_files():
    n = len(O().log_lines("static files reload failed, keeping the current ones"))
    O().reload(config(ENV["tmp"].join("no-such-dir")))
    lines = O().wait_log("static files reload failed, keeping the current ones", count=n + 1)
    h.contains(lines[-1].get("error", ""), "no-such-dir': No such file or directory", "the message names the dir")
    h.eq(O().get("/assets/app.3f9a1c2b.js").status, 200, "the files served before stay served")


def test_without_static_dir_the_built_in_assets_are_served():
    n = len(O().log_lines("config reloaded"))
    O().reload(config(None))
    O().wait_log("config reloaded", count=n + 1)
    r = O().get("/assets/app.3f9a1c2b.js")
    h.eq(r.status, 404, "a file that is nowhere: 404")
    h.eq(r.json()["error"]["message"], "no such file: /assets/app.3f9a1c2b.js", "says so")
    # the dashboard's page names its built-in, hashed assets
    index = O().get("/", auth=False)
    h.eq(index.status, 200, "the dashboard page is built in")
    js = re.search(r'src="(/assets/app\.[0-9a-f]{10}\.js)"', index.text)
    h.check(js, f"index.html names its script: {index.text[:300]!r}")
    a = O().get(js.group(1), auth=False)
    h.eq(a.status, 200, "a built-in asset")
    h.eq(a.header("content-type"), "text/javascript; charset=utf-8", "its type")
    h.eq(a.header("cache-control"), "public, max-age=31536000, immutable", "cached for a year")
    h.eq(O().get(js.group(1), headers={"If-None-Match": a.header("etag")}, auth=False).status, 304, "ETag")
    before = len(O().log_lines("static files reloaded"))  # counted before the reload can log it
    O().reload(config(ENV["root"]))
    O().wait_log("static files reloaded", count=before + 1)
    h.eq(O().get("/assets/app.3f9a1c2b.js").status, 200, "served again once static_dir is back")
    h.eq(O().get(js.group(1), auth=False).status, 200, "built-in assets stay behind static_dir")


def test_unreadable_static_dir_stops_the_start():
    missing = ENV["tmp"].join("missing-dist")
    with h.Opshub(config(missing), auth=False) as o:
        o.start(wait=False)
        o.wait_exit(15, expect_code=1)
        h.contains(o.log_text(), "missing-dist': No such file or directory", "the message names the directory")
    cfg = config(None).replace("server:\n", "server:\n  static_dir: ''\n", 1)
    with h.Opshub(cfg, auth=False) as o:
        o.start(wait=False)
        o.wait_exit(15, expect_code=2)
        h.contains(o.log_text(), "static_dir must name a directory", "config message")


def test_process_still_healthy_at_end():
    h.check(O().running(), "opshub died during the static file tests")
    O().stop()


if __name__ == "__main__":
    h.run(h.collect(globals()), setup=setup, test_timeout=60)
