"""
The configuration examples of the README and docs/checks.md (every ```yaml block, runbook
examples of every check type) load with `opshub config check`, and docs/alerts.md's runbook
alerts load both ways (`config check`; `rules check` and promtool for the rule file): a
renamed field, a removed default or a typo in the docs fails here. ${VARS} the examples use get dummy values; files the
examples name under /etc (a CA bundle, a client certificate) are redirected to real ones this
test writes, since the loader reads them.
"""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DOCS = ("README.md", "docs/checks.md", "docs/status-page.md", "docs/notifications.md", "docs/incidents.md")
ENV = {}


def setup():
    ENV["tmp"] = h.TempDir("opshub-docs-")
    d = ENV["tmp"].path
    key, crt = os.path.join(d, "key.pem"), os.path.join(d, "cert.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", crt,
                    "-days", "2", "-subj", "/CN=docs.opshub.test"], check=True, capture_output=True)
    ENV["crt"], ENV["key"] = crt, key


def blocks(doc):
    with open(os.path.join(ROOT, doc)) as f:
        text = f.read()
    out = []
    for m in re.finditer(r"^```yaml\n(.*?)^```", text, re.S | re.M):
        line = text.count("\n", 0, m.start()) + 2
        out.append((line, m.group(1)))
    return out


def localize(yaml_text):
    """Files under /etc become this test's certificate or key; ${VARS} get values."""
    def path(m):
        p = m.group(0)
        return ENV["key"] if "key" in os.path.basename(p) else ENV["crt"]
    text = re.sub(r"/etc/[A-Za-z0-9_./-]+\.(?:pem|crt|key)", path, yaml_text)
    names = set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)", text))
    return text, {n: "docs-example-value" for n in names}


def test_every_yaml_example_loads():
    problems, n = [], 0
    for doc in DOCS:
        for line, text in blocks(doc):
            n += 1
            body, env = localize(text)
            p = ENV["tmp"].join(f"{os.path.basename(doc)}-{line}.yaml")
            with open(p, "w") as f:
                f.write(body)
            r = h.run_cli(["config", "check", "--config", p], env=env)
            if r.returncode != 0:
                problems.append(f"{doc}:{line}: {r.stderr.strip()[:400]}")
    print(f"  {n} yaml examples checked")
    h.check(n >= 10, f"only {n} yaml examples found: the pattern no longer matches the docs")
    h.check(not problems, "examples that do not load:\n  " + "\n  ".join(problems))


RUNBOOK_CHECKS = """checks:
  - {id: api-health, type: http, url: 'http://127.0.0.1:9/health'}
  - {id: api-metrics, type: prometheus, url: 'http://127.0.0.1:9/metrics'}
  - {id: cache, type: redis, url: 'redis://127.0.0.1:9'}
  - {id: db, type: postgres, url: 'postgres://opshub@127.0.0.1:9/app'}
"""


def test_the_runbook_alerts_of_docs_alerts_load_both_ways():
    found = {b[1].splitlines()[0]: b for b in blocks("docs/alerts.md") if b[1].startswith("# runbook alerts")}
    conf = found.get("# runbook alerts: opshub configuration")
    rules = found.get("# runbook alerts: Prometheus rule file")
    h.check(conf and rules, f"the two runbook blocks of docs/alerts.md ({list(found)})")
    p = ENV["tmp"].join("runbook-opshub.yaml")
    with open(p, "w") as f:
        f.write(RUNBOOK_CHECKS + conf[1])
    r = h.run_cli(["config", "check", "--config", p])
    h.eq(r.returncode, 0, f"docs/alerts.md:{conf[0]}: {r.stdout}{r.stderr}")
    q = ENV["tmp"].join("runbook-rules.yml")
    with open(q, "w") as f:
        f.write(rules[1])
    r = h.run_cli(["rules", "check", q])
    h.eq(r.returncode, 0, f"docs/alerts.md:{rules[0]}: {r.stdout}{r.stderr}")
    h.contains(r.stdout, "SUCCESS: 6 rules found", "rules check counts the rules")
    # the same rule file in the real Prometheus' promtool (Debian's prometheus package)
    r = subprocess.run(["/usr/bin/promtool", "check", "rules", q], capture_output=True, text=True, timeout=60)
    h.eq(r.returncode, 0, f"promtool check rules: {r.stdout}{r.stderr}")
    h.contains(r.stdout, "SUCCESS: 6 rules found", "promtool counts the same rules")


if __name__ == "__main__":
    h.run(h.collect(globals()), setup=setup, test_timeout=120)
