"""
Integration tests of the dns check type: the real opshub asking a real dnsmasq that this file
starts on a free loopback port (harness.Dnsmasq) with its records on its command line.
Expected: A, AAAA (expected as "0::1" for dnsmasq's ::1), CNAME, MX (with and without the
preference), TXT and NS checks with matching `expect` are up with every value in the samples
API, on /metrics and in `opshub check` (table and --json); a name without the type asked for is
down "no MX record for a.test"; an unknown name is down "NXDOMAIN: x.test" (code 3); an expect
entry not answered is down naming it and what was answered; a name dnsmasq refuses (outside
.test, no upstream) is down "REFUSED from ..."; a UDP socket that never answers is down
"timeout after 500 ms (no answer from ...)"; bad configuration gives FILE:LINE:COL from
`opshub config check`; opshub stops cleanly (no sanitizer report under ASan).
"""
import json
import os
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

ENV = {}
VALUES = ["lookup_time_seconds", "answer_rrs", "authority_rrs", "additional_rrs"]
METRICS = {"lookup_time_seconds": "probe_dns_lookup_time_seconds", "answer_rrs": "probe_dns_answer_rrs",
           "authority_rrs": "probe_dns_authority_rrs", "additional_rrs": "probe_dns_additional_rrs"}
HEALTHY = ["a", "aaaa", "cname", "mx", "mx-host", "txt", "ns"]


def dns_check(cid, name, record="A", expect=None, server=None, interval="1s", timeout="800ms"):
    c = {"id": cid, "type": "dns", "query_name": name, "record": record, "server": server or ENV["server"],
         "interval": interval, "timeout": timeout}
    if expect is not None:
        c["expect"] = expect
    return c


def setup():
    ENV["tmp"] = h.TempDir("opshub-dns-it-")
    d = ENV["dnsmasq"] = h.Dnsmasq(host_records=[("a.test", "192.0.2.1", "::1"), ("a.test", "192.0.2.2")],
                                   cnames=[("c.test", "a.test")], mx=[("m.test", "mail.test", 10)],
                                   txt=[("t.test", "v=spf1 mx -all")], ns=[("n.test", "ns1.test")]).start()
    ENV["server"] = d.server()
    silent = ENV["silent"] = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))  # bound, never read: queries go unanswered
    ENV["silent_server"] = f"127.0.0.1:{silent.getsockname()[1]}"
    checks = [
        dns_check("a", "a.test", expect=["192.0.2.1", "192.0.2.2"]),
        dns_check("aaaa", "a.test", "AAAA", expect=["0::1"]),
        dns_check("cname", "c.test", "cname", expect=["A.TEST."]),
        dns_check("mx", "m.test", "MX", expect=["10 mail.test"]),
        dns_check("mx-host", "m.test", "MX", expect=["mail.test"]),
        dns_check("txt", "t.test", "TXT", expect=["v=spf1 mx -all"]),
        dns_check("ns", "n.test", "NS", expect=["ns1.test"]),
        dns_check("missing", "a.test", "MX"),
        dns_check("nx", "x.test"),
        dns_check("mismatch", "a.test", expect=["192.0.2.1", "192.0.2.99"]),
        dns_check("refused", "x.example"),
        dns_check("silent", "a.test", server=ENV["silent_server"], interval="2s", timeout="500ms"),
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


def test_every_record_type_is_up_with_its_values():
    for cid in HEALTHY:
        s = sample(cid)
        h.eq(s["result"], "up", f"{cid} ({s})")
        h.eq(s["error"], "", f"{cid}'s error")
        missing = [k for k in VALUES if k not in s["values"]]
        h.check(not missing, f"{cid}: values missing from the API: {missing} in {s['values']}")
        h.check(0 < s["values"]["lookup_time_seconds"] < 0.8, f"{cid}: lookup_time_seconds {s['values']}")
        h.eq(s["values"]["authority_rrs"], 0, f"{cid}: authority_rrs")
    h.eq(sample("a")["values"]["answer_rrs"], 2, "a: answer_rrs (two addresses)")
    h.eq(sample("mx")["values"]["answer_rrs"], 1, "mx: answer_rrs")


def test_missing_record_nxdomain_mismatch_and_refused_are_down():
    s = sample("missing")
    h.eq((s["result"], s["error"]), ("down", "no MX record for a.test"), "missing")
    h.eq(s["values"]["answer_rrs"], 0, "missing: answer_rrs")
    s = sample("nx")
    h.eq((s["result"], s["error"], s["code"]), ("down", "NXDOMAIN: x.test", 3), "nx")
    s = sample("mismatch")
    h.eq(s["result"], "down", "mismatch")
    # the answers in the server's order, which dnsmasq may rotate
    h.check(s["error"] in ('a.test A: missing "192.0.2.99" (answered: 192.0.2.1, 192.0.2.2)',
                           'a.test A: missing "192.0.2.99" (answered: 192.0.2.2, 192.0.2.1)'),
            f"mismatch error: {s['error']!r}")
    s = sample("refused")
    h.eq((s["result"], s["error"], s["code"]),
         ("down", f"REFUSED from {ENV['server']} for x.example A", 5), "refused")


def test_server_that_does_not_answer_is_down_at_the_timeout():
    s = sample("silent")
    h.eq(s["result"], "down", f"silent ({s})")
    h.eq(s["error"], f"timeout after 500 ms (no answer from {ENV['silent_server']})", "silent error")
    h.check("lookup_time_seconds" not in s["values"], f"silent has no lookup time: {s['values']}")


def test_metrics_show_the_values():
    m = O().metrics()
    for cid in HEALTHY:
        for name, metric in METRICS.items():
            h.check(m.find(metric, check=cid, type="dns"), f"/metrics has no {metric} for {cid}")
        h.eq(m.find("probe_success", check=cid)[0][1], 1, f"probe_success of {cid}")
    h.eq(m.find("probe_dns_answer_rrs", check="a")[0][1], 2, "probe_dns_answer_rrs of a")
    h.eq(m.find("probe_success", check="nx")[0][1], 0, "probe_success of nx")
    h.eq(m.find("probe_dns_answer_rrs", check="nx")[0][1], 0, "probe_dns_answer_rrs of nx")
    h.check(not m.find("probe_dns_lookup_time_seconds", check="silent"), "silent has no lookup time metric")
    h.eq(m.types.get("probe_dns_answer_rrs"), "gauge", "type of probe_dns_answer_rrs")


def test_opshub_check_prints_the_values():
    cfg = ENV["tmp"].join("cli.yaml")
    with open(cfg, "w") as f:
        f.write(ENV["config"])
    r = h.run_cli(["check", "--config", cfg, "a", "txt"])
    h.eq(r.returncode, 0, f"opshub check exit ({r.stdout} {r.stderr})")
    h.contains(r.stdout, "answer_rrs=2", "table values of a")
    h.contains(r.stdout, "lookup_time_seconds=", "table values")
    r = h.run_cli(["check", "--config", cfg, "--json", "a", "nx"])
    h.eq(r.returncode, 2, f"opshub check exit with nx down ({r.stdout} {r.stderr})")
    doc = {c["id"]: c for c in json.loads(r.stdout)["checks"]}
    h.eq(doc["a"]["status"], "up", "CLI a")
    h.eq(doc["a"]["values"]["answer_rrs"], 2, "CLI a answer_rrs")
    missing = [k for k in VALUES if k not in doc["a"]["values"]]
    h.check(not missing, f"values missing from opshub check --json: {missing}")
    h.eq(doc["nx"]["status"], "down", "CLI nx")
    h.contains(json.dumps(doc["nx"]), "NXDOMAIN: x.test", "CLI nx error")


def test_config_errors_have_positions():
    bad = ENV["tmp"].join("bad.yaml")
    with open(bad, "w") as f:
        f.write("checks:\n"
                "  - {id: noname, type: dns, record: A}\n"
                "  - id: badrec\n    type: dns\n    query_name: a.test\n    record: SRV\n"
                "  - id: badserver\n    type: dns\n    query_name: a.test\n    server: dns.example.com\n"
                "  - id: notlist\n    type: dns\n    query_name: a.test\n    expect: 192.0.2.1\n"
                "  - id: notip\n    type: dns\n    query_name: a.test\n    expect: [not-an-ip]\n"
                "  - id: empty\n    type: dns\n    query_name: ''\n"
                f"  - id: long\n    type: dns\n    query_name: {'a' * 60 + ('.' + 'b' * 60) * 4}\n")
    r = h.run_cli(["config", "check", "--config", bad])
    h.eq(r.returncode, 2, "config check exit")
    out = r.stdout + r.stderr
    for want in (f"{bad}:2:5: dns check is missing 'query_name'",
                 f"{bad}:6:13: ", "SRV",
                 f"{bad}:10:13: server must be an IP address",
                 f"{bad}:14:13: expect must be a list of strings, got a string",
                 f"{bad}:18:14: expect entry 'not-an-ip' is not an IPv4 address",
                 f"{bad}:21:17: query_name must not be empty",
                 f"{bad}:24:17: query_name is longer than 253 characters"):
        h.contains(out, want, "config check output")


def test_opshub_stops_cleanly():
    h.eq(O().stop(), 0, "exit code after SIGTERM")
    ENV["silent"].close()


if __name__ == "__main__":
    h.run(h.collect(globals()), setup=setup, test_timeout=60)
