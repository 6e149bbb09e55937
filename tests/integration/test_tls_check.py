"""
Integration tests of the tls check type: the real opshub probing a real nginx that serves
certificates made here with the openssl CLI (a test CA; a leaf for 127.0.0.1/localhost valid
90 days; one expiring in 3 days; one expired in 2020; one for another name), each on its own
TLS port. Expected: valid -> up with days_left ~ 90 (also through SNI with server_name);
valid without ca_file -> down (issuer unknown to the system store); 3 days -> down with the
default crit_days 7, degraded with warn_days 5 / crit_days 2; expired -> down "certificate has
expired"; wrong name -> down "IP address mismatch" (a server_name the certificate lacks:
"hostname mismatch");
nothing listening -> down "connection refused". Values reach the samples API and /metrics.
Bad configuration (warn_days < crit_days, a bad address) gives FILE:LINE:COL from the CLI.
An http check of an https URL reports tls_days_left of the same certificate.
"""
import datetime
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

ENV = {}

CA_CNF = """[ca]
default_ca = testca
[testca]
dir = {d}
database = {d}/index.txt
serial = {d}/serial
new_certs_dir = {d}/newcerts
certificate = {d}/ca.pem
private_key = {d}/ca.key
default_md = sha256
policy = anything
unique_subject = no
copy_extensions = none
[anything]
commonName = supplied
[leaf]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = {san}
"""


def openssl(*args, cwd):
    r = subprocess.run(["openssl"] + list(args), cwd=cwd, capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise AssertionError(f"openssl {' '.join(args)} failed: {r.stderr}")


def stamp(t):
    return t.strftime("%Y%m%d%H%M%SZ")


def make_certs(d):
    """CA and leaves in directory d; returns {name: (cert path, key path, not_after)}."""
    os.makedirs(f"{d}/newcerts")
    open(f"{d}/index.txt", "w").close()
    with open(f"{d}/serial", "w") as f:
        f.write("1000\n")
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", "ca.key", "-out", "ca.pem", "-days", "365", "-subj", "/CN=opshub test CA", cwd=d)
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    leaves = {
        "valid": ("IP:127.0.0.1,DNS:localhost", now - datetime.timedelta(hours=1), now + datetime.timedelta(days=90)),
        "soon": ("IP:127.0.0.1,DNS:localhost", now - datetime.timedelta(days=60), now + datetime.timedelta(days=3)),
        "expired": ("IP:127.0.0.1,DNS:localhost", datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc),
                    datetime.datetime(2020, 2, 1, tzinfo=datetime.timezone.utc)),
        "wrongname": ("DNS:wrong.example.com", now - datetime.timedelta(hours=1), now + datetime.timedelta(days=90)),
    }
    out = {}
    for name, (san, start, end) in leaves.items():
        with open(f"{d}/ca-{name}.cnf", "w") as f:
            f.write(CA_CNF.format(d=d, san=san))
        openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={name}.opshub.test", cwd=d)
        openssl("ca", "-batch", "-notext", "-config", f"ca-{name}.cnf", "-extensions", "leaf",
                "-startdate", stamp(start), "-enddate", stamp(end), "-in", f"{name}.csr", "-out", f"{name}.pem",
                cwd=d)
        out[name] = (f"{d}/{name}.pem", f"{d}/{name}.key", end)
    return out


def tls_check(cid, address, interval="2s", timeout="1500ms", **kw):
    c = {"id": cid, "type": "tls", "address": address, "interval": interval, "timeout": timeout}
    c.update(kw)
    return c


def setup():
    tmp = ENV["tmp"] = h.TempDir("opshub-tls-certs-")
    certs = ENV["certs"] = make_certs(tmp.path)
    ports = ENV["ports"] = dict(zip(certs, h.free_ports(len(certs))))
    servers = "".join(f"""
    server {{
        listen 127.0.0.1:{ports[name]} ssl;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        location / {{ return 200 'tls {name}'; }}
    }}
""" for name, (cert, key, _) in certs.items())
    ENV["nginx"] = h.Nginx(extra_servers=servers).start()
    ca = f"{tmp.path}/ca.pem"
    dead = h.closed_port()
    a = {name: f"127.0.0.1:{p}" for name, p in ports.items()}
    checks = [
        tls_check("valid", a["valid"], ca_file=ca),
        tls_check("valid-sni", a["valid"], ca_file=ca, server_name="localhost"),
        tls_check("valid-untrusted", a["valid"]),
        tls_check("valid-othername", a["valid"], ca_file=ca, server_name="api.example.com"),
        tls_check("soon", a["soon"], ca_file=ca),
        tls_check("soon-warn", a["soon"], ca_file=ca, warn_days=5, crit_days=2),
        tls_check("expired", a["expired"], ca_file=ca),
        tls_check("wrongname", a["wrongname"], ca_file=ca),
        tls_check("refused", f"127.0.0.1:{dead}", ca_file=ca),
        h.http_check("https-soon", f"https://127.0.0.1:{ports['soon']}/", interval="2s", timeout="1500ms",
                     tls_verify=False),
        h.http_check("http-plain", ENV["nginx"].url("/health"), interval="2s", timeout="1500ms"),
    ]
    ENV["ids"] = [c["id"] for c in checks]
    o = ENV["o"] = h.track(h.Opshub(h.make_config(checks)))
    o.start()

    def all_sampled():
        cs = o.get_json("/api/v1/checks")["checks"]
        return all(c.get("last_sample") for c in cs)
    h.wait_for(all_sampled, 20, "every check to have a sample")


def O():
    return ENV["o"]


def sample(cid):
    return O().check_json(cid)["last_sample"]


# id -> (result, error substring (case-insensitive) or "" for an empty error)
EXPECT = {
    "valid": ("up", ""),
    "valid-sni": ("up", ""),
    "valid-untrusted": ("down", "certificate verify failed: unable to get local issuer certificate"),
    "valid-othername": ("down", "certificate verify failed: hostname mismatch"),
    "soon": ("down", "days (crit_days 7): subject"),
    "soon-warn": ("degraded", "days (warn_days 5): subject"),
    "expired": ("down", "certificate verify failed: certificate has expired"),
    "wrongname": ("down", "certificate verify failed: IP address mismatch"),
    "refused": ("down", "connection refused"),
}


def test_each_certificate_gives_expected_result_and_reason():
    checks = {c["id"]: c for c in O().get_json("/api/v1/checks")["checks"]}
    problems = []
    for cid, (result, err) in EXPECT.items():
        s = checks[cid]["last_sample"]
        if s["result"] != result or checks[cid]["status"] != result:
            problems.append(f"{cid}: expected {result}, got status {checks[cid]['status']} sample {s}")
        elif err == "" and s["error"] != "":
            problems.append(f"{cid}: expected no error text, got {s['error']!r}")
        elif err.lower() not in s["error"].lower():
            problems.append(f"{cid}: expected error containing {err!r}, got {s['error']!r}")
    h.check(not problems, "\n  " + "\n  ".join(problems))


def test_valid_certificate_has_about_90_days_and_handshake_time():
    s = sample("valid")
    v = s["values"]
    h.check(89.9 < v["days_left"] <= 90.0, f"days_left {v['days_left']}")
    not_after = ENV["certs"]["valid"][2].timestamp()
    h.check(abs(v["earliest_expiry_seconds"] - not_after) < 1, f"earliest_expiry_seconds {v} vs {not_after}")
    h.check(0 < v["handshake_seconds"] < 1.5, f"handshake_seconds {v['handshake_seconds']}")
    h.check(0 < s["latency_ms"] < 1500, f"latency_ms {s['latency_ms']}")


def test_down_reasons_name_subject_issuer_and_not_after():
    s = sample("soon")
    h.check(2.9 < s["values"]["days_left"] < 3.0, f"days_left {s['values']}")
    h.contains(s["error"], "certificate expires in 3.0 days", "soon's error")
    end = ENV["certs"]["soon"][2].strftime("%Y-%m-%dT%H:%M:%SZ")
    for part in ("subject /CN=soon.opshub.test", "issuer /CN=opshub test CA", f"not_after {end}"):
        h.contains(s["error"], part, "soon's error")
    e = sample("expired")
    h.check(e["values"]["days_left"] < -365, f"expired days_left {e['values']}")
    h.contains(e["error"], "not_after 2020-02-01T00:00:00Z", "expired's error")
    w = sample("wrongname")
    h.contains(w["error"], "subject /CN=wrongname.opshub.test", "wrongname's error")
    h.check("days_left" not in sample("refused")["values"], "refused has no days_left")


def test_the_last_sample_has_subject_issuer_and_not_after_in_its_detail():
    end = ENV["certs"]["valid"][2].strftime("%Y-%m-%dT%H:%M:%SZ")
    h.eq(sample("valid").get("detail"),
         {"subject": "/CN=valid.opshub.test", "issuer": "/CN=opshub test CA", "not_after": end}, "valid's detail")
    h.eq(sample("expired").get("detail", {}).get("not_after"), "2020-02-01T00:00:00Z", "an expired one's detail")
    h.check("detail" not in sample("refused"), f"no certificate, no detail: {sample('refused')}")


def test_metrics_export_days_left_and_earliest_expiry():
    m = h.wait_for(lambda: (lambda x: x if x.find("opshub_tls_cert_days_left", check="soon-warn") else None)(
        O().metrics()), 10, "tls metrics")
    days = m.find("opshub_tls_cert_days_left", check="valid")
    h.check(days and 89.9 < days[0][1] <= 90.0, f"opshub_tls_cert_days_left of valid: {days}")
    exp = m.find("probe_ssl_earliest_cert_expiry", check="expired")
    h.check(exp and abs(exp[0][1] - ENV["certs"]["expired"][2].timestamp()) < 1, f"earliest expiry: {exp}")
    h.check(m.find("opshub_tls_handshake_seconds", check="valid"), "opshub_tls_handshake_seconds of valid")


def test_https_http_check_reports_tls_days_left():
    s = sample("https-soon")
    h.eq(s["result"], "up", f"https-soon result ({s})")
    v = s["values"]
    h.check(2.9 < v.get("tls_days_left", -1) < 3.0, f"https-soon tls_days_left: {v}")
    h.eq(v.get("http_ssl"), 1, "https-soon http_ssl")
    h.check("tls_days_left" not in sample("http-plain")["values"], "plain http has no tls_days_left")
    m = O().metrics()
    got = m.find("opshub_tls_cert_days_left", check="https-soon")
    h.check(got and 2.9 < got[0][1] < 3.0, f"opshub_tls_cert_days_left of https-soon: {got}")


def test_bad_config_reports_file_line_col():
    tmp = ENV["tmp"]
    path = tmp.join("bad.yaml")
    with open(path, "w") as f:
        f.write("checks:\n"
                "  - id: a\n"
                "    type: tls\n"
                "    address: 127.0.0.1:443\n"
                "    warn_days: 5\n"
                "    crit_days: 10\n"
                "  - id: b\n"
                "    type: tls\n"
                "    address: no-port\n")
    r = h.run_cli(["config", "check", "--config", path])
    h.eq(r.returncode, 2, f"exit code of config check ({r.stdout} {r.stderr})")
    out = r.stdout + r.stderr
    h.contains(out, f"{path}:5:16: warn_days (5) must not be less than crit_days (10)", "warn/crit error")
    h.contains(out, f"{path}:9:14:", "address error")


def test_opshub_stops_cleanly():
    O().stop()


if __name__ == "__main__":
    h.run(h.collect(globals()), setup=setup, test_timeout=60)
