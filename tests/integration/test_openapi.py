"""
Integration tests of the API description served by the real binary: GET /api/v1/openapi.json
(OpenAPI 3.1, generated from the route table) and GET /api-docs (plain HTML, no script or style,
so the CSP default-src 'none' holds). Both are public. The document is checked against what the
live router does: every documented operation is routed (never 405, nor the router's 404 unless
the operation documents a 404), and an
operation documented as public never answers 401. Validated against the OpenAPI 3.1 schema by
@seriousme/openapi-schema-validator (npm; a missing validator fails). Uses no other route's
behaviour.
"""
import copy
import html
import json
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

ENV = {}
METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


def setup():
    o = ENV["o"] = h.track(h.Opshub(h.make_config([])))
    o.start()


def O():
    return ENV["o"]


def document():
    if "doc" not in ENV:
        r = O().get("/api/v1/openapi.json")
        h.eq(r.status, 200, f"GET /api/v1/openapi.json status (body {r.body[:200]!r})")
        ct = r.header("content-type") or ""
        h.check(ct.startswith("application/json"), f"openapi.json Content-Type {ct!r}")
        ENV["doc"] = r.json()
    return ENV["doc"]


def operations(doc):
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method in METHODS:
                yield path, method, op


def test_openapi_json_is_a_3_1_document_of_this_build():
    doc = document()
    h.eq(doc.get("openapi"), "3.1.0", "openapi version")
    out = h.run_cli(["version"])
    m = re.match(r"opshub (\S+)", out.stdout)
    h.check(m, f"opshub version printed {out.stdout!r}")
    h.eq(doc["info"].get("version"), m.group(1), "info.version is the binary's version")
    h.eq(doc["components"]["securitySchemes"]["bearerAuth"]["scheme"], "bearer", "bearerAuth scheme")
    for path in ("/api/v1/openapi.json", "/api-docs", "/healthz", "/metrics"):
        h.check(path in doc["paths"], f"{path} missing from the document")
    for path, method, op in operations(doc):
        what = f"{method.upper()} {path}"
        role = op.get("x-min-role")
        h.check(role in ("public", "viewer", "operator", "admin"), f"{what}: x-min-role {role!r}")
        h.eq("security" in op, role != "public", f"{what}: security present iff not public")
        for name in re.findall(r"\{([^}]+)\}", path):
            h.check(any(p["in"] == "path" and p["name"] == name and p["required"] for p in op.get("parameters", [])),
                    f"{what}: path parameter {name} not declared")
        h.check(op.get("responses"), f"{what}: no responses")


def test_openapi_json_is_public_and_stable():
    first = O().get("/api/v1/openapi.json", headers={"Authorization": "Bearer not-a-token"})
    h.check(first.status in (200, 401), f"status with a bogus token: {first.status}")
    a = O().get("/api/v1/openapi.json").body
    b = O().get("/api/v1/openapi.json").body
    h.eq(a, b, "two answers of the cached document")


def test_every_documented_operation_is_routed_and_public_means_public():
    doc = document()
    for path, method, op in operations(doc):
        concrete = re.sub(r"\{[^}]+\}", "no-such-id", path)
        body = b"{}" if method in ("post", "put", "patch") else None
        hdrs = {"Content-Type": "application/json"} if body is not None else None
        # A stream never ends: HEAD gets its status without the body.
        streams = "text/event-stream" in op["responses"].get("200", {}).get("content", {})
        r = O().request("HEAD" if streams else method.upper(), concrete, body=body, headers=hdrs)
        what = f"{method.upper()} {concrete} ({r.status}, {r.body[:160]!r})"
        h.check(r.status != 405, f"{what}: documented but the router says 405")
        if r.status == 404 and "404" not in op["responses"]:
            msg = (r.json().get("error") or {}).get("message", "") if r.body else ""
            h.check(not msg.startswith("no route for"), f"{what}: documented but not routed")
        if op.get("x-min-role") == "public":
            h.check(r.status != 401, f"{what}: documented public but answers 401")


def test_api_docs_is_plain_html_listing_every_operation():
    doc = document()
    r = O().get("/api-docs")
    h.eq(r.status, 200, "GET /api-docs status")
    ct = r.header("content-type") or ""
    h.check(ct.startswith("text/html"), f"/api-docs Content-Type {ct!r}")
    h.eq(r.header("content-security-policy"), "default-src 'none'; frame-ancestors 'none'", "CSP on /api-docs")
    page = r.text
    low = page.lower()
    for bad in ("<script", "<style", " style=", "javascript:", "<iframe", "<link"):
        h.check(bad not in low, f"/api-docs contains {bad!r}")
    h.contains(page, '<a href="/api/v1/openapi.json">', "link to the document")
    for path, method, op in operations(doc):
        h.contains(page, f"<code>{html.escape(path, quote=True)}</code>", f"/api-docs row for {path}")
        h.contains(html.unescape(page), op["summary"], f"/api-docs summary of {method} {path}")
    head = O().request("HEAD", "/api-docs")
    h.eq(head.status, 200, "HEAD /api-docs")
    h.eq(head.body, b"", "HEAD /api-docs body")


VALIDATOR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "validate_openapi.mjs")
VALIDATOR_MODULE = os.path.join(os.path.dirname(VALIDATOR), "node_modules", "@seriousme",
                                "openapi-schema-validator", "package.json")


def validate(doc):
    """Runs the npm OpenAPI schema validator on doc; returns (exit code, its JSON verdict)."""
    h.require(shutil.which("node"), "node (Debian package nodejs)")
    h.require(os.path.exists(VALIDATOR_MODULE), "@seriousme/openapi-schema-validator (npm ci in tests/integration)")
    r = subprocess.run(["node", VALIDATOR], input=json.dumps(doc), capture_output=True, text=True, timeout=60)
    try:
        verdict = json.loads(r.stdout)
    except ValueError:
        raise AssertionError(f"validator printed no verdict ({r.returncode}): {r.stdout[-500:]}{r.stderr[-1500:]}")
    return r.returncode, verdict


def test_document_is_valid_openapi_3_1():
    code, verdict = validate(document())
    h.eq(verdict["version"], "3.1", "schema version the validator used")
    h.check(code == 0 and verdict["valid"], f"/api/v1/openapi.json is not valid OpenAPI 3.1: {verdict['errors'][:5]}")


def test_validator_rejects_a_broken_document():
    # The same document with one response lacking its required description: the validator
    # must point at it (it is not a rubber stamp), and an empty document must fail too.
    doc = copy.deepcopy(document())
    path, method, op = next(operations(doc))
    next(iter(op["responses"].values())).pop("description")
    code, verdict = validate(doc)
    h.eq((code, verdict["valid"]), (1, False), "verdict on a response without description")
    pointer = "/paths/" + path.replace("~", "~0").replace("/", "~1") + "/" + method + "/responses/"
    h.check(any(e.get("instancePath", "").startswith(pointer) for e in verdict["errors"]),
            f"no error points at {pointer}: {verdict['errors'][:3]}")
    h.eq(validate({"openapi": "3.1.0"})[0], 1, "exit code for a document without info")


def test_process_still_healthy_at_end():
    h.check(O().running(), "opshub died during the OpenAPI tests")
    O().stop()


if __name__ == "__main__":
    h.run(h.collect(globals()), setup=setup, test_timeout=60)
