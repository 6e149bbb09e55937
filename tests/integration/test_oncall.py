"""
Integration tests of on-call (docs/incidents.md): rotations and escalation policies from the
configuration, answered by a running opshub and checked against instants computed here with
Python's zoneinfo (the system tz database, independent of opshub's own reader):
- GET /api/v1/oncall?at=: each rotation's on-call with since/until, and each step of each
  policy (rotation targets resolved, users and channels named), in UTC+6 (Asia/Dhaka), with a
  business-hours window, across Berlin's change to summer time, and with an override;
- GET /api/v1/rotations and /api/v1/rotations/{id}?from&to: settings, current and next, spans;
- GET /api/v1/rotations/{id}.ics?token=: no token or a wrong one (or another rotation's) is
  404 like an unknown rotation, the feed is read back with a real iCalendar parser (Debian's python3-icalendar) and its
  events are the spans the API gives; the token never reaches the log;
- roles: a viewer reads, no credentials is 401; a reload applies changed rotations.
"""
import datetime
import os
import subprocess
import sys
import zoneinfo

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

UTC = datetime.timezone.utc
DHAKA = zoneinfo.ZoneInfo("Asia/Dhaka")
BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")

CONFIG = """
notify:
  channels:
    - {id: pager, type: webhook, url: 'http://127.0.0.1:9/'}
rotations:
  - {id: ops, name: Ops primary, members: [alice, bob, carol], length: 1w, handoff: 'mon 09:00',
     timezone: Asia/Dhaka, start: 2026-01-05}
  - id: biz
    members: [dana, erik]
    length: daily
    handoff: '09:00'
    timezone: Europe/Berlin
    start: 2026-03-01
    restrict: [{days: mon-fri, from: '09:00', to: '18:00'}]
    overrides:
      - {user: zoe, from: '2026-03-31T10:00:00+02:00', to: '2026-03-31T12:00:00+02:00'}
escalation_policies:
  - id: primary
    description: Ops first, then the CTO
    repeat: 2
    steps:
      - {delay: 0s, targets: [{rotation: ops}, {channel: pager}]}
      - {delay: 15m, targets: [{rotation: biz}, {user: cto}]}
"""


def iso(dt):
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def ops_expected(at):
    """Weekly shifts from Monday 2026-01-05 09:00 in Dhaka (+06, no DST): alice, bob, carol."""
    first = datetime.datetime(2026, 1, 5, 9, 0, tzinfo=DHAKA)
    k = (at - first) // datetime.timedelta(weeks=1)
    start = first + k * datetime.timedelta(weeks=1)
    return ["alice", "bob", "carol"][k % 3], start, start + datetime.timedelta(weeks=1)


def biz_expected(at):
    """Daily shifts at 09:00 Berlin wall-clock from 2026-03-01 (dana first), on call only
    mon-fri 09:00-18:00 Berlin time."""
    local = at.astimezone(BERLIN)
    day = local.date() if local.hour >= 9 else local.date() - datetime.timedelta(days=1)
    k = (day - datetime.date(2026, 3, 1)).days
    in_window = local.weekday() < 5 and 9 <= local.hour < 18
    return (["dana", "erik"][k % 2] if in_window else None), day


def test_oncall_answers():
    o = h.track(h.Opshub(h.make_config([]) + CONFIG))
    o.start()
    for at in [datetime.datetime(2026, 1, 5, 2, 59, tzinfo=UTC), datetime.datetime(2026, 1, 5, 3, 0, tzinfo=UTC),
               datetime.datetime(2026, 2, 11, 17, 30, tzinfo=UTC), datetime.datetime(2026, 12, 4, 6, 0, tzinfo=UTC),
               datetime.datetime(2027, 6, 1, 0, 0, tzinfo=UTC)]:
        got = o.get_json(f"/api/v1/oncall?at={iso(at)}")
        ops = [r for r in got["rotations"] if r["id"] == "ops"][0]
        if at < datetime.datetime(2026, 1, 5, 3, 0, tzinfo=UTC):
            h.eq(ops["user"], None, f"nobody before the first shift ({at})")
            h.eq(ops["until"], "2026-01-05T03:00:00.000Z", "until the first shift")
            continue
        user, start, end = ops_expected(at)
        h.eq((ops["user"], ops["since"], ops["until"]), (user, iso(start), iso(end)), f"ops at {at}")
    # business hours across Berlin's change to summer time (2026-03-29), and an override
    for at in [datetime.datetime(2026, 3, 27, 8, 30, tzinfo=UTC),    # Fri 09:30 CET
               datetime.datetime(2026, 3, 27, 17, 30, tzinfo=UTC),   # Fri 18:30 CET: off
               datetime.datetime(2026, 3, 28, 12, 0, tzinfo=UTC),    # Saturday: off
               datetime.datetime(2026, 3, 30, 6, 30, tzinfo=UTC),    # Mon 08:30 CEST: off
               datetime.datetime(2026, 3, 30, 7, 0, tzinfo=UTC),     # Mon 09:00 CEST: on
               datetime.datetime(2026, 3, 31, 7, 30, tzinfo=UTC)]:   # Tue 09:30 CEST
        got = o.get_json(f"/api/v1/oncall?at={iso(at)}")
        biz = [r for r in got["rotations"] if r["id"] == "biz"][0]
        user, _ = biz_expected(at)
        h.eq(biz["user"], user, f"biz at {at} ({at.astimezone(BERLIN)})")
    monday = o.get_json("/api/v1/oncall?at=2026-03-30T07:00:00Z")
    biz = [r for r in monday["rotations"] if r["id"] == "biz"][0]
    h.eq((biz["since"], biz["until"]), ("2026-03-30T07:00:00.000Z", "2026-03-30T16:00:00.000Z"),
         "09:00-18:00 CEST is 07:00-16:00Z after the change")
    got = o.get_json("/api/v1/oncall?at=2026-03-31T08:30:00Z")
    biz = [r for r in got["rotations"] if r["id"] == "biz"][0]
    h.eq((biz["user"], biz["override"], biz["since"], biz["until"]),
         ("zoe", True, "2026-03-31T08:00:00.000Z", "2026-03-31T10:00:00.000Z"), "the override")
    # the policy's steps resolved at that instant
    pol = got["policies"][0]
    h.eq((pol["id"], pol["repeat"], pol["description"]), ("primary", 2, "Ops first, then the CTO"), "policy")
    h.eq([s["delay_seconds"] for s in pol["steps"]], [0, 900], "delays")
    ops_user = ops_expected(datetime.datetime(2026, 3, 31, 8, 30, tzinfo=UTC))[0]
    h.eq([(t["kind"], t["id"], t.get("user")) for t in pol["steps"][0]["targets"]],
         [("rotation", "ops", ops_user), ("channel", "pager", None)], "step 1 targets")
    h.eq([(t["kind"], t["id"], t.get("user")) for t in pol["steps"][1]["targets"]],
         [("rotation", "biz", "zoe"), ("user", "cto", "cto")], "step 2 targets")
    # bad parameters
    r = o.get("/api/v1/oncall?at=yesterday")
    h.eq((r.status, r.json()["error"]["field"]), (400, "at"), "a bad time names the parameter")
    # roles
    viewer = o.create_token(role="viewer")
    o.wait_token(viewer)
    h.eq(o.get("/api/v1/oncall", auth=viewer).status, 200, "a viewer reads who is on call")
    h.eq(o.get("/api/v1/oncall", auth=False).status, 401, "no credentials")
    h.eq(o.get("/api/v1/rotations", auth=False).status, 401, "no credentials")
    o.stop()


def parse_ics(text):
    """The events of a feed through Debian's python3-icalendar (the system python3, whatever
    python runs this test): [(uid, start, end, summary)]."""
    code = ("import sys, json, icalendar\n"
            "cal = icalendar.Calendar.from_ical(sys.stdin.read())\n"
            "assert cal.get('VERSION') == '2.0', cal.get('VERSION')\n"
            "out = {'name': str(cal.get('X-WR-CALNAME')), 'prodid': str(cal.get('PRODID')), 'events': []}\n"
            "for ev in cal.walk('VEVENT'):\n"
            "    out['events'].append([str(ev['UID']), ev.decoded('DTSTART').isoformat(),\n"
            "                          ev.decoded('DTEND').isoformat(), str(ev['SUMMARY'])])\n"
            "print(json.dumps(out))\n")
    r = subprocess.run(["/usr/bin/python3", "-c", code], input=text, capture_output=True, text=True, timeout=30)
    h.eq(r.returncode, 0, f"icalendar parsed the feed: {r.stderr[-2000:]}")
    import json
    return json.loads(r.stdout)


def test_rotation_feeds_and_spans():
    o = h.track(h.Opshub(h.make_config([]) + CONFIG))
    o.start()
    rots = {r["id"]: r for r in o.get_json("/api/v1/rotations")["rotations"]}
    h.eq(sorted(rots), ["biz", "ops"], "rotations")
    ops = rots["ops"]
    h.eq((ops["name"], ops["members"], ops["length"], ops["handoff"], ops["timezone"], ops["start"]),
         ("Ops primary", ["alice", "bob", "carol"], "1w", "mon 09:00", "Asia/Dhaka", "2026-01-05"), "settings")
    h.eq(rots["biz"]["restrict"], [{"days": "mon,tue,wed,thu,fri", "from": "09:00", "to": "18:00"}], "restrict")
    now = datetime.datetime.now(UTC)
    user, start, end = ops_expected(now)
    h.eq((ops["current"]["user"], ops["current"]["start"], ops["current"]["end"]), (user, iso(start), iso(end)),
         "current")
    h.eq(ops["next"]["user"], ops_expected(end)[0], "next")
    # spans of a range
    one = o.get_json("/api/v1/rotations/biz?from=2026-03-27T00:00:00Z&to=2026-03-31T00:00:00Z")
    spans = one["spans"]
    for a, b in zip(spans, spans[1:]):
        h.eq(a["end"], b["start"], "contiguous spans")
    on = [(s["user"], s["start"], s["end"]) for s in spans if s["user"]]
    h.eq(on, [("dana", "2026-03-27T08:00:00.000Z", "2026-03-27T17:00:00.000Z"),
              ("erik", "2026-03-30T07:00:00.000Z", "2026-03-30T16:00:00.000Z")], "business hours on either side of DST")
    h.eq(o.get("/api/v1/rotations/nope").status, 404, "unknown rotation")
    r = o.get("/api/v1/rotations/biz?from=2026-03-27T00:00:00Z&to=2026-03-01T00:00:00Z")
    h.eq((r.status, r.json()["error"]["field"]), (400, "to"), "a backwards range")
    # the feed: the token is the credential
    path = ops["feed_path"]
    h.check(path.startswith("/api/v1/rotations/ops.ics?token="), f"feed path {path}")
    token = path.split("token=")[1]
    h.eq(o.get("/api/v1/rotations/ops.ics", auth=False).status, 404, "no token")
    h.eq(o.get("/api/v1/rotations/ops.ics?token=" + "A" * 43, auth=False).status, 404, "a wrong token")
    h.eq(o.get("/api/v1/rotations/biz.ics?token=" + token, auth=False).status, 404, "another rotation's token")
    h.eq(o.get("/api/v1/rotations/nope.ics?token=" + token, auth=False).status, 404, "an unknown rotation")
    rng = "&from=2026-01-01T00:00:00Z&to=2026-02-16T00:00:00Z"
    r = o.get(path + rng, auth=False)
    h.eq(r.status, 200, "the feed")
    h.contains(r.headers.get("content-type", ""), "text/calendar", "content type")
    cal = parse_ics(r.body.decode() if isinstance(r.body, bytes) else r.body)
    h.eq(cal["name"], "On call: Ops primary", "calendar name")
    got = [(e[1], e[2], e[3]) for e in cal["events"]]
    want = []
    t = datetime.datetime(2026, 1, 5, 9, 0, tzinfo=DHAKA)
    while t < datetime.datetime(2026, 2, 16, tzinfo=UTC):
        u, s, e = ops_expected(t)
        want.append((s.astimezone(UTC).isoformat(), e.astimezone(UTC).isoformat(), f"{u} on call (Ops primary)"))
        t = e
    h.eq(got, want, "one event per shift, as computed with zoneinfo")
    h.eq(len({e[0] for e in cal["events"]}), len(cal["events"]), "unique UIDs")
    again = parse_ics(o.get(path + rng, auth=False).body.decode())
    h.eq([e[0] for e in again["events"]], [e[0] for e in cal["events"]], "UIDs stable between fetches")
    biz = o.get_json("/api/v1/rotations/biz")["feed_path"]
    cal = parse_ics(o.get(biz + "&from=2026-03-30T00:00:00Z&to=2026-04-01T00:00:00Z", auth=False).body.decode())
    h.eq([(e[1], e[2], e[3].split(" ")[0]) for e in cal["events"]],
         [("2026-03-30T07:00:00+00:00", "2026-03-30T16:00:00+00:00", "erik"),
          ("2026-03-31T07:00:00+00:00", "2026-03-31T08:00:00+00:00", "dana"),
          ("2026-03-31T08:00:00+00:00", "2026-03-31T10:00:00+00:00", "zoe"),
          ("2026-03-31T10:00:00+00:00", "2026-03-31T16:00:00+00:00", "dana")], "business hours and the override")
    h.check(token not in o.log_text(), "the feed token is not logged")
    # a reload applies changed rotations
    o.reload(h.make_config([]) + CONFIG.replace("members: [alice, bob, carol]", "members: [yuri]"))
    h.wait_for(lambda: o.get_json("/api/v1/rotations/ops")["members"] == ["yuri"], 10, "reloaded")
    h.eq(o.get_json("/api/v1/rotations/ops")["current"]["user"], "yuri", "the new member is on call")
    o.stop()


def test_overrides_through_the_api():
    """Operators override who is on call through the API: it changes the rotation's answer, the
    policy's step and the feed at once, the newest of two overlapping overrides wins, a bad
    field is a 400 naming it, a viewer cannot, it is audited, it outlives a restart, and removing
    it brings the rotation back."""
    data = h.TempDir()
    text = h.make_config([]) + CONFIG
    o = h.track(h.Opshub(text, data_dir=data.path))
    o.start()
    for name in ["victor", "wendy", "gone"]:
        h.eq(o.cli("user", "add", name, "--role", "viewer", "--password-stdin",
                   input="a-long-password-123\n").returncode, 0, f"user {name}")
    h.eq(o.cli("user", "disable", "gone").returncode, 0, "a disabled user")
    viewer = o.create_token(role="viewer", name="v")
    o.wait_token(viewer)
    now = datetime.datetime.now(UTC).replace(microsecond=0)
    regular, _, _ = ops_expected(now)
    ops_now = lambda: [r for r in o.get_json("/api/v1/oncall")["rotations"] if r["id"] == "ops"][0]  # noqa: E731
    h.wait_for(lambda: h.eq(ops_now()["user"], regular, "before") or True, 5, "the users known")
    body = {"user": "victor", "start": iso(now - datetime.timedelta(hours=1)),
            "end": iso(now + datetime.timedelta(hours=2)), "reason": "swap with alice"}
    r = o.request("POST", "/api/v1/rotations/ops/overrides", body=body, headers={"Authorization": f"Bearer {viewer}"})
    h.eq(r.status, 403, "a viewer cannot override")
    r = o.post("/api/v1/rotations/ops/overrides", body=body)
    h.eq(r.status, 201, f"override made: {r.body[:300]!r}")
    ov = r.json()
    h.eq((ov["user"], ov["source"], ov["reason"], ov["end"]), ("victor", "api", "swap with alice", body["end"]),
         "the override")
    cur = ops_now()
    h.eq((cur["user"], cur["override"], cur["until"]), ("victor", True, body["end"]), "victor on call now")
    pol = o.get_json("/api/v1/oncall")["policies"][0]
    h.contains(str(pol["steps"][0]["targets"]), "'user': 'victor'", "the policy's first step pages victor")
    # a newer overlapping override wins for its time
    r2 = o.post("/api/v1/rotations/ops/overrides", body={"user": "wendy", "start": iso(now - datetime.timedelta(minutes=5)),
                                                          "end": iso(now + datetime.timedelta(hours=1))})
    h.eq(r2.status, 201, "a second override")
    h.eq(ops_now()["user"], "wendy", "the newest wins")
    later = iso(now + datetime.timedelta(minutes=90))
    at = [x for x in o.get_json(f"/api/v1/oncall?at={later}")["rotations"] if x["id"] == "ops"][0]
    h.eq(at["user"], "victor", "victor again after wendy's ends")
    # bad fields, each named
    for bad, field in [({**body, "user": "nobody"}, "user"), ({**body, "user": "gone"}, "user"),
                       ({**body, "start": "soon"}, "start"), ({**body, "end": body["start"]}, "end"),
                       ({**body, "start": iso(now - datetime.timedelta(days=3)),
                         "end": iso(now - datetime.timedelta(days=2))}, "end"),
                       ({**body, "end": iso(now + datetime.timedelta(days=100))}, "end"),
                       ({"user": "victor", "start": body["start"]}, "end"),
                       ({**body, "reason": "x" * 201}, "reason")]:
        r = o.post("/api/v1/rotations/ops/overrides", body=bad)
        h.eq((r.status, r.json()["error"].get("field")), (400, field), f"refused: {bad}")
    h.eq(o.post("/api/v1/rotations/nope/overrides", body=body).status, 404, "an unknown rotation")
    rows = h.wait_for(lambda: o.get_json("/api/v1/audit?action=override.create")["entries"], 5, "audited")
    h.check(any("victor on call" in x.get("target", "") for x in rows), "the audit row names it")
    # the feed has it
    feed = o.get(o.get_json("/api/v1/rotations/ops")["feed_path"], auth=False).body.decode()
    h.contains(feed, "wendy", "the feed shows the override")
    # a restart keeps them; removing one brings the next answer back
    o.stop()
    o = h.track(h.Opshub(text, data_dir=data.path))
    o.start()
    h.wait_for(lambda: ops_now()["user"] == "wendy", 5, "the overrides read back after a restart")
    rot = o.get_json("/api/v1/rotations/ops")
    ids = {x["user"]: x.get("id") for x in rot["overrides"]}
    h.eq(sorted(ids), ["victor", "wendy"], "both listed")
    h.eq(o.request("DELETE", f"/api/v1/rotations/ops/overrides/{ids['wendy']}").status, 204, "removed")
    h.eq(ops_now()["user"], "victor", "victor again")
    h.eq(o.request("DELETE", f"/api/v1/rotations/ops/overrides/{ids['wendy']}").status, 404, "already removed")
    h.eq(o.request("DELETE", f"/api/v1/rotations/biz/overrides/{ids['victor']}").status, 404,
         "another rotation's override")
    h.eq(o.request("DELETE", f"/api/v1/rotations/ops/overrides/{ids['victor']}").status, 204, "removed")
    h.eq(ops_now()["user"], regular, "the rotation's own answer")
    biz = o.get_json("/api/v1/rotations/biz")["overrides"]
    h.eq([(x["user"], x["source"]) for x in biz], [("zoe", "config")], "the configuration's override, without an id")
    o.stop()


if __name__ == "__main__":
    h.run(h.collect(globals()))
