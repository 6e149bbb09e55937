"""
Integration tests of the optional TLS listener (server.tls): HTTPS with a self-signed
certificate made by the openssl CLI, HSTS only over TLS, plain HTTP refused on the TLS port,
the certificate re-read on SIGHUP (renewal in place) with a broken replacement keeping the
old one, and a bad certificate refusing to start with the file named.
"""
import http.client
import os
import shutil
import signal
import ssl
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

ENV = {}


def make_cert(dirpath, name):
    cert, key = os.path.join(dirpath, f"{name}.crt"), os.path.join(dirpath, f"{name}.key")
    r = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                        "-days", "2", "-subj", f"/CN={name}", "-addext",
                        "subjectAltName=IP:127.0.0.1,DNS:localhost"], capture_output=True, text=True, timeout=60)
    h.eq(r.returncode, 0, f"openssl req: {r.stderr}")
    return cert, key


def https_get(port, path, cafile, headers=None):
    ctx = ssl.create_default_context(cafile=cafile)
    c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=10)
    try:
        c.request("GET", path, headers=headers or {})
        r = c.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        c.close()


def setup():
    tmp = ENV["tmp"] = h.TempDir("opshub-tls-")
    ENV["a"] = make_cert(tmp.path, "first")
    ENV["b"] = make_cert(tmp.path, "second")
    live_cert, live_key = tmp.join("live.crt"), tmp.join("live.key")
    shutil.copy(ENV["a"][0], live_cert)
    shutil.copy(ENV["a"][1], live_key)
    ENV["live"] = (live_cert, live_key)
    cfg = h.make_config([], extra={"server": {"tls": {"cert": live_cert, "key": live_key}}})
    o = ENV["o"] = h.track(h.Opshub(cfg, auth=False))
    o.start(wait=False)
    h.wait_for(lambda: h.port_open(o.cur_port), 15, "opshub listening with TLS")


def test_https_serves_with_hsts_and_security_headers():
    o = ENV["o"]
    status, headers, body = https_get(o.cur_port, "/healthz", ENV["a"][0])
    h.eq(status, 200, "GET /healthz over TLS")
    h.eq(body, b'{"ok":true}', "body")
    h.contains(headers.get("strict-transport-security", ""), "max-age=", "HSTS over TLS")
    h.eq(headers.get("x-content-type-options"), "nosniff", "nosniff over TLS")
    status, _, _ = https_get(o.cur_port, "/api/v1/checks", ENV["a"][0])
    h.eq(status, 401, "the API still wants a token over TLS")


def handshake_errors(o):
    status, _, body = https_get(o.cur_port, "/metrics", ENV["a"][0])
    h.eq(status, 200, "GET /metrics over TLS")
    v = h.Metrics(body.decode()).get("opshub_http_tls_handshake_errors_total")
    h.check(v is not None, "opshub_http_tls_handshake_errors_total missing from /metrics")
    return v


def test_plain_http_on_the_tls_port_is_refused_and_counted():
    o = ENV["o"]
    before = handshake_errors(o)
    try:
        r = h.http_request(o.cur_port, "GET", "/healthz", timeout=5)
        h.check(r.status != 200, "plain HTTP answered 200 on the TLS port")
    except (OSError, http.client.HTTPException):
        pass
    # the one plain-text request is one failed handshake, counted once
    h.wait_for(lambda: handshake_errors(o) >= before + 1, 5, "the failed handshake to be counted")
    h.eq(handshake_errors(o), before + 1, "opshub_http_tls_handshake_errors_total after one plain request")


def test_sighup_rereads_the_certificate_and_keeps_it_when_broken():
    o = ENV["o"]
    live_cert, live_key = ENV["live"]
    shutil.copy(ENV["b"][0], live_cert)
    shutil.copy(ENV["b"][1], live_key)
    o.signal(signal.SIGHUP)
    h.wait_for(lambda: "TLS certificate reloaded" in o.log_text(), 10, "the reload log line")
    status, _, _ = https_get(o.cur_port, "/healthz", ENV["b"][0])
    h.eq(status, 200, "new connections get the renewed certificate")
    try:
        https_get(o.cur_port, "/healthz", ENV["a"][0])
        h.check(False, "the old certificate is still served after SIGHUP")
    except ssl.SSLError:
        pass
    # A broken replacement (key of another certificate) is refused; the running one stays.
    shutil.copy(ENV["a"][1], live_key)
    o.signal(signal.SIGHUP)
    h.wait_for(lambda: "TLS certificate reload failed" in o.log_text(), 10, "the failed reload log line")
    status, _, _ = https_get(o.cur_port, "/healthz", ENV["b"][0])
    h.eq(status, 200, "the previous certificate keeps serving")
    shutil.copy(ENV["b"][1], live_key)


def test_bad_certificate_refuses_to_start_naming_the_file():
    tmp = ENV["tmp"]
    bad = tmp.join("bad.crt")
    with open(bad, "w") as f:
        f.write("not a certificate\n")
    cfg = h.make_config([], extra={"server": {"tls": {"cert": bad, "key": ENV["a"][1]}}})
    with h.Opshub(cfg, auth=False) as o:
        o.start(wait=False)
        h.eq(o.wait_exit(15), 1, "exit code with an unreadable certificate")
        h.contains(o.log_text(), "bad.crt", "the message names the file")
    cfg = "server:\n  tls: {cert: /nonexistent.crt}\n"
    with h.Opshub(cfg, auth=False) as o:
        o.start(wait=False)
        h.eq(o.wait_exit(15), 2, "cert without key is a configuration error")
        h.contains(o.log_text(), "tls needs both cert and key", "config message")


def test_zz_tls_daemon_stops_cleanly():
    # exit 0 after SIGTERM, no sanitizer report (TLS contexts and SSLs all freed), no secret
    h.eq(ENV["o"].stop(), 0, "exit code of the TLS daemon after SIGTERM")


def teardown():
    if "o" in ENV:
        ENV["o"].close()   # only does something when a test failed before the stop above


if __name__ == "__main__":
    h.run(h.collect(globals()), setup=setup, teardown=teardown)
