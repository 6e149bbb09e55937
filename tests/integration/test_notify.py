"""
Integration tests of notifications (docs/notifications.md): alert rules firing on real checks,
routed through `notify:` to local recorders standing in for the receivers (the production code
path; only the URLs point at 127.0.0.1):
- grouping: 10 alerts of one rule -> exactly one webhook message (Alertmanager's webhook
  payload, version 4) with the 10 alerts, signed with the channel's secret (HMAC-SHA256 of the
  body, checked here), custom headers, delivery id and dedup key;
- repeat_interval: the same group is sent again, unchanged, after repeat_interval;
- resolve: every alert that was sent as firing is sent as resolved, send_resolved false sends
  nothing;
- routing: match / match_re, continue, nested routes, default_channels;
- inhibition: a critical alert mutes the warning of the same project, not of another project;
- a receiver that answers 400: failed after one attempt (never retried), the last error kept,
  the self-alert NotificationDeliveryFailed routed to a working channel; a receiver that is
  down for a while: retried with backoff, delivered once it is back, nothing lost;
- kill -9 with deliveries pending (receiver down): the next start sends every one of them
  (same delivery ids);
- the API (deliveries, one delivery with its payload, retry, channels, test message,
  aggregation groups) and its bad parameters; /metrics; config errors with FILE:LINE:COL;
- detection-to-delivery latency measured end to end (printed; bench/notify reports it);
- the command channel: a real program gets the payload on stdin and the delivery in OPSHUB_*
  variables (never the daemon's environment); exit 75 is tried again, another code fails once
  with stderr's first line, a missing program fails, a program past its timeout is killed with
  its process group and retried until max_age.
"""
# ctest: COST 50
import datetime
import hashlib
import hmac
import json
import os
import sys
import time
import zoneinfo

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
from test_query_api import Page  # noqa: E402

SECRET = "webhook-signing-secret-123"


def checks(port, n, project="shop", prefix="api"):
    return [h.http_check(f"{prefix}{i}", f"http://127.0.0.1:{port}/", interval="200ms", timeout="150ms",
                         project=project) for i in range(n)]


def notify_yaml(rec, extra_routes="", group_wait="1s", group_interval="1s", repeat="1h", inhibit=""):
    return (
        "evaluation_interval: 200ms\n"
        "notify:\n"
        f"  group_wait: {group_wait}\n"
        f"  group_interval: {group_interval}\n"
        f"  repeat_interval: {repeat}\n"
        "  group_by: [alertname]\n"
        "  default_channels: [hook]\n"
        "  channels:\n"
        f"    - {{id: hook, type: webhook, url: '{rec.url('/hook')}', secret: '{SECRET}',\n"
        "       headers: {X-Team: web}}\n"
        f"    - {{id: quiet, type: webhook, url: '{rec.url('/quiet')}', send_resolved: false}}\n"
        f"    - {{id: crit, type: webhook, url: '{rec.url('/crit')}'}}\n"
        f"    - {{id: warn, type: webhook, url: '{rec.url('/warn')}'}}\n"
        f"    - {{id: bad, type: webhook, url: '{rec.url('/bad')}'}}\n"
        f"    - {{id: all, type: webhook, url: '{rec.url('/all')}'}}\n"
        "  routes:\n"
        "    - {match: {alertname: NotificationDeliveryFailed}, channels: [hook]}\n"
        + extra_routes + inhibit)


def messages(rec, path):
    return [r for r in rec.received(path) if r["code"] < 300]


def alert_names(msg):
    return sorted(a["labels"].get("check", a["labels"]["alertname"]) for a in msg["json"]["alerts"])


def refused(tmp, text, wants):
    """`opshub config check` of text: exit 2, each of wants among the errors, every error at
    FILE:LINE:COL. Returns the errors [(line, col, message)]."""
    path = tmp.join("bad.yaml")
    with open(path, "w") as f:
        f.write(text)
    r = h.run_cli(["config", "check", "-c", path])
    h.eq(r.returncode, 2, "invalid config exit code")
    errs = h.config_errors(r.stderr, path)
    got = "\n".join(m for _, _, m in errs)
    for want in wants:
        h.contains(got, want, "config error")
    h.eq(len(errs), len([ln for ln in r.stderr.splitlines() if ln.strip()]), "every error names FILE:LINE:COL")
    return errs


def deliveries(o, **params):
    q = "&".join(f"{k}={v}" for k, v in params.items())
    return o.get_json("/api/v1/notifications" + ("?" + q if q else ""))["notifications"]


def test_grouping_repeat_resolve_signature():
    page = Page()
    page.set("ok\n")
    rec = h.Recorder()
    text = h.make_config(checks(page.port, 10), projects=[{"id": "shop", "name": "Shop"}]) + (
        "alerts:\n"
        "  - {alert: ApiDown, expr: 'probe_success{project=\"shop\"} == 0', labels: {severity: critical},\n"
        "     annotations: {summary: '{{ $labels.check }} is down', runbook_url: 'https://runbooks.local/api'}}\n"
    ) + notify_yaml(rec, repeat="2s", extra_routes=(
        "    - {match: {alertname: ApiDown}, channels: [hook, quiet], group_interval: 500ms, repeat_interval: 2s}\n"))
    o = h.track(h.Opshub(text))
    o.start()
    t_down = time.monotonic()
    page.set("broken\n", code=500)
    h.wait_for(lambda: messages(rec, "/hook"), 20, "the first message")
    latency = messages(rec, "/hook")[0]["t"] - t_down
    # group_wait (1s) lets the 10 alerts of the group gather: one message
    time.sleep(0.8)
    first = messages(rec, "/hook")
    h.eq(len(first), 1, "10 alerts -> exactly 1 message")
    m = first[0]
    p = m["json"]
    h.eq(p["version"], "4", "Alertmanager webhook payload version")
    h.eq(p["status"], "firing", "status")
    h.eq(p["receiver"], "hook", "receiver is the channel id")
    h.eq(p["groupLabels"], {"alertname": "ApiDown"}, "groupLabels")
    h.eq(p["commonLabels"], {"alertname": "ApiDown", "project": "shop", "severity": "critical", "type": "http"},
         "commonLabels")
    h.eq(p["commonAnnotations"], {"runbook_url": "https://runbooks.local/api"}, "commonAnnotations")
    h.eq(alert_names(m), sorted(f"api{i}" for i in range(10)), "the 10 alerts in the message")
    h.eq(p["truncatedAlerts"], 0, "nothing truncated")
    for a in p["alerts"]:
        h.eq(a["status"], "firing", "each alert firing")
        h.eq(a["endsAt"], "0001-01-01T00:00:00Z", "endsAt of a firing alert")
        h.check(h.is_iso_ms(a["startsAt"]) or a["startsAt"].endswith("Z"), f"startsAt {a['startsAt']}")
        h.eq(len(a["fingerprint"]), 16, "fingerprint")
        h.eq(a["annotations"]["summary"], f"{a['labels']['check']} is down", "annotations expanded")
    sig = hmac.new(SECRET.encode(), m["body"], hashlib.sha256).hexdigest()
    h.eq(m["headers"].get("x-opshub-signature"), "sha256=" + sig, "HMAC-SHA256 signature of the body")
    h.eq(m["headers"].get("x-team"), "web", "custom header")
    h.eq(m["headers"].get("content-type"), "application/json", "content type")
    h.check(m["headers"].get("x-opshub-delivery", "").startswith("n"), "delivery id header")
    h.eq(len(m["headers"].get("x-opshub-dedup-key", "")), 16, "dedup key header")
    h.eq(len(messages(rec, "/quiet")), 1, "the second channel of the route got it too")
    # the delivery as the API shows it
    ds = [d for d in deliveries(o) if d["channel"] == "hook" and d["kind"] == "alert"]
    h.eq(len(ds), 1, "one delivery to hook")
    d = ds[0]
    h.eq(d["id"], m["headers"]["x-opshub-delivery"], "delivery id is the header's")
    h.eq(d["status"], "sent", "delivery sent")
    h.eq(d["attempts"], 1, "one attempt")
    h.eq(d["summary"], "[FIRING:10] ApiDown (project=shop severity=critical type=http)", "summary")
    h.check(d["latency_seconds"] >= 0, "latency recorded")
    one = o.get_json(f"/api/v1/notifications/{d['id']}")
    h.eq(one["payload"]["groupKey"], p["groupKey"], "payload of one delivery")
    # repeat_interval: the unchanged group is sent again after 2s
    h.wait_for(lambda: len(messages(rec, "/hook")) >= 2, 10, "the repeat")
    again = messages(rec, "/hook")[1]
    h.check(again["t"] - m["t"] >= 1.9, f"repeated after repeat_interval ({again['t'] - m['t']:.2f}s)")
    h.eq(alert_names(again), alert_names(m), "the repeat holds the same alerts")
    h.check(again["headers"]["x-opshub-delivery"] != m["headers"]["x-opshub-delivery"], "a new delivery")
    h.eq(again["headers"]["x-opshub-dedup-key"], m["headers"]["x-opshub-dedup-key"], "same group, same dedup key")
    # resolve: every alert told as firing is told as resolved
    n_before = len(messages(rec, "/hook"))
    page.set("ok\n")

    def resolved():
        got = set()
        for r in messages(rec, "/hook")[n_before:]:
            got |= {a["labels"]["check"] for a in r["json"]["alerts"] if a["status"] == "resolved"}
        return len(got) == 10

    h.wait_for(resolved, 20, "all 10 resolved")
    last = messages(rec, "/hook")[-1]["json"]
    h.eq(last["status"], "resolved", "the last message says resolved")
    for a in last["alerts"]:
        h.check(a["endsAt"] != "0001-01-01T00:00:00Z", "endsAt of a resolved alert")
    # a group goes once its last flush has told every channel (a loaded machine may need another
    # group_interval): wait for that, then nothing resolved may have reached the quiet channel
    h.wait_for(lambda: o.get_json("/api/v1/alerts/groups")["groups"] == [], 15,
               "groups gone once everything resolved")
    h.eq(len(messages(rec, "/quiet")), len([r for r in messages(rec, "/quiet") if r["json"]["status"] == "firing"]),
         "send_resolved: false -> no resolved message")
    met = o.metrics()
    h.check(met.get("opshub_notifications_total", channel="hook", status="sent") >= 3, "sent counter")
    h.check(met.get("opshub_notification_delivery_seconds_count") >= 1, "latency histogram")
    h.eq(met.get("opshub_notify_outbox_depth"), 0, "outbox empty")
    print(f"  detection-to-delivery latency (check interval 200ms, group_wait 1s): {latency:.2f}s")
    o.stop()


def test_routing_and_inhibition():
    page = Page()
    page.set("broken\n", code=500)
    other = Page()
    other.set("broken\n", code=500)
    rec = h.Recorder()
    text = h.make_config(checks(page.port, 1) + checks(other.port, 1, project="blog", prefix="blog"),
                         projects=[{"id": "shop", "name": "Shop"}, {"id": "blog", "name": "Blog"}],
                         extra={"status_page": {"title": "Status"}}) + (
        "alerts:\n"
        "  - {alert: SiteDown, expr: 'probe_success == 0', labels: {severity: critical}}\n"
        "  - {alert: SiteSlow, expr: 'probe_success == 0', labels: {severity: warning}}\n"
        "  - {alert: Other, expr: 'probe_success{project=\"blog\"} == 0', labels: {severity: info}}\n"
    ) + notify_yaml(rec, group_wait="500ms", extra_routes=(
        "    - match: {severity: critical}\n"
        "      channels: [crit]\n"
        "      continue: true\n"
        "    - match_re: {severity: 'warn.*'}\n"
        "      channels: [warn]\n"
        "      group_by: [alertname, project]\n"
        "      routes:\n"
        "        - {match: {project: blog}, channels: [all]}\n"
        "    - {match: {severity: critical}, channels: [all]}\n"), inhibit=(
        "  inhibit:\n"
        "    - source: {severity: critical, project: shop}\n"
        "      target_match_re: {severity: 'warn.*'}\n"
        "      equal: [project]\n"))
    o = h.track(h.Opshub(text))
    o.start()
    h.wait_for(lambda: messages(rec, "/crit") and messages(rec, "/all") and messages(rec, "/hook"), 20,
               "messages on crit, all and the default channel")
    time.sleep(1.5)
    crit = messages(rec, "/crit")
    h.eq(sorted(set(a["labels"]["project"] for r in crit for a in r["json"]["alerts"])), ["blog", "shop"],
         "critical route (match) gets both projects")
    allm = messages(rec, "/all")
    got = sorted((a["labels"]["alertname"], a["labels"]["project"]) for r in allm for a in r["json"]["alerts"])
    # continue: the critical alerts reach the later sibling too; the blog warning goes to the nested route
    h.eq(got, [("SiteDown", "blog"), ("SiteDown", "shop"), ("SiteSlow", "blog")],
         "continue + nested route")
    # the shop warning is inhibited by the shop critical (equal: project); nothing reaches warn
    h.eq(messages(rec, "/warn"), [], "the warning of shop inhibited, blog's went to the nested route")
    hook = messages(rec, "/hook")
    h.eq(sorted(a["labels"]["alertname"] for r in hook for a in r["json"]["alerts"]), ["Other"],
         "default_channels take what no route took")
    h.check(o.metrics().get("opshub_notify_inhibited_total") >= 1, "inhibited counted")
    o.stop()


def test_failures_retries_and_kill():
    failures(None)


def test_failures_retries_and_kill_postgres():
    """The same on PostgreSQL (the outbox's upserts, the pending rows read back), and silences."""
    pg = h.Postgres().start()
    try:
        o = failures(pg.url(PG_PASSWORD))
        r = o.post("/api/v1/silences", body={"matchers": ["alertname=ApiDown"], "duration": "1h", "comment": "pg"})
        h.eq(r.status, 201, "a silence stored on PostgreSQL")
        sid = r.json()["id"]
        h.eq(o.cli("silence", "expire", sid).returncode, 0, "expired through the CLI on PostgreSQL")
        h.eq(o.get_json(f"/api/v1/silences/{sid}")["status"]["state"], "expired", "read back expired")
        o.stop()
    finally:
        pg.stop("fast")


PG_PASSWORD = "notify-pg-pw"


def failures(storage_url):
    page = Page()
    page.set("ok\n")
    rec = h.Recorder()
    rec.set_answer("/bad", 400, '{"error": "bad payload: missing field"}')
    down = h.Recorder()
    data = h.TempDir()
    text = h.make_config(checks(page.port, 1), projects=[{"id": "shop", "name": "Shop"}],
                         storage_url=storage_url) + (
        "alerts:\n"
        "  - {alert: ApiDown, expr: 'probe_success == 0', labels: {severity: critical}}\n"
    ) + notify_yaml(rec, group_wait="0s", extra_routes=(
        "    - {match: {alertname: ApiDown}, channels: [bad, later]}\n")).replace(
        "  routes:\n",
        f"    - {{id: later, type: webhook, url: '{down.url('/later')}'}}\n  routes:\n")
    down.stop()
    o = h.track(h.Opshub(text, data_dir=data.path))
    o.start()
    page.set("broken\n", code=500)
    # 400: failed at once, never retried
    h.wait_for(lambda: [d for d in deliveries(o) if d["channel"] == "bad" and d["status"] == "failed"], 15,
               "the 400 delivery failed")
    bad = [d for d in deliveries(o) if d["channel"] == "bad"][0]
    h.eq(bad["attempts"], 1, "a 400 is not retried")
    h.contains(bad["last_error"], "HTTP 400", "the last error names the answer")
    h.contains(bad["last_error"], "missing field", "and quotes the receiver")
    h.wait_for(lambda: [r for r in messages(rec, "/hook") if r["json"]["commonLabels"].get("alertname") ==
                        "NotificationDeliveryFailed"], 10, "the self-alert reached a working channel")
    selfalert = [r for r in messages(rec, "/hook")
                 if r["json"]["commonLabels"].get("alertname") == "NotificationDeliveryFailed"][0]["json"]
    h.eq(selfalert["alerts"][0]["labels"]["channel"], "bad", "the self-alert names the channel")
    h.contains(selfalert["alerts"][0]["annotations"]["description"], "HTTP 400", "and the error")
    time.sleep(1.5)
    h.eq(len(rec.received("/bad")), 1, "still one request to the 400 receiver")
    # the receiver that is down: retried with backoff
    h.wait_for(lambda: [d for d in deliveries(o) if d["channel"] == "later" and d["attempts"] >= 2], 15,
               "retried while the receiver is down")
    later = [d for d in deliveries(o) if d["channel"] == "later"][0]
    h.eq(later["status"], "pending", "still pending")
    h.check(later["last_error"] != "", "the connection error is kept")
    h.check(later["next_attempt"] is not None, "next attempt scheduled")
    # a test message to the down channel too: two pending deliveries, then kill -9
    r = o.post("/api/v1/channels/later/test", body={})
    h.eq(r.status, 202, "test message queued")
    test_id = r.json()["id"]
    time.sleep(0.5)
    pending = {d["id"] for d in deliveries(o, status="pending")}
    h.check({later["id"], test_id} <= pending, f"both pending before the kill: {pending}")
    o.kill()
    down.start()
    o2 = h.track(h.Opshub(text, data_dir=data.path, port=o.cur_port))
    o2.start()
    h.wait_for(lambda: {r["headers"]["x-opshub-delivery"] for r in down.received("/later")} >= {later["id"], test_id},
               20, "the pending deliveries sent after the restart")
    got = {r["headers"]["x-opshub-delivery"] for r in down.received("/later")}
    h.check({later["id"], test_id} <= got, "same delivery ids after kill -9")
    h.wait_for(lambda: all(d["status"] == "sent" for d in deliveries(o2) if d["channel"] == "later"), 10,
               "marked sent")
    kinds = sorted(r["json"]["commonLabels"]["alertname"] for r in down.received("/later"))
    h.check("ApiDown" in kinds and "OpshubTest" in kinds, f"the alert and the test message: {kinds}")
    # the firing alert was restored as told: no second firing message to 'later' after the restart
    time.sleep(1.5)
    h.eq(len([r for r in down.received("/later") if r["json"]["commonLabels"]["alertname"] == "ApiDown"]), 1,
         "the firing alert is not announced again after the restart")
    # the self-alert about 'bad' survives the restart: not ended by the rule engine, not resolved
    selfs = [r["json"]["status"] for r in messages(rec, "/hook")
             if r["json"]["commonLabels"].get("alertname") == "NotificationDeliveryFailed"]
    h.eq(selfs, ["firing"], "the self-alert told once, not resolved by the restart")
    hist = [(t["group"], t["state"]) for t in o2.get_json("/api/v1/alerts/history")["data"]["transitions"]
            if t["alertname"] == "NotificationDeliveryFailed"]
    h.eq(hist, [("opshub-notify", "firing")], "its history: firing, never ended at the start")
    # retry of the failed one: back to pending, fails again (400), attempts grow
    r = o2.post(f"/api/v1/notifications/{bad['id']}/retry", body={})
    h.eq(r.status, 202, "retry queued")
    h.wait_for(lambda: len(rec.received("/bad")) == 2, 10, "retried once more")
    h.wait_for(lambda: o2.get_json(f"/api/v1/notifications/{bad['id']}")["attempts"] == 2, 10, "attempts 2")
    sent = [d for d in deliveries(o2, status="sent") if d["channel"] == "later"][0]
    h.eq(o2.post(f"/api/v1/notifications/{sent['id']}/retry", body={}).status, 409, "a sent one is not retried")
    # resolution after the restart reaches 'later' (the restored alert was known)
    page.set("ok\n")
    h.wait_for(lambda: [r for r in down.received("/later") if r["json"]["status"] == "resolved"], 15,
               "resolved after the restart")
    if storage_url:
        return o2
    o2.stop()


def formats_yaml(rec):
    return (
        "notify:\n"
        "  group_wait: 0s\n"
        "  group_interval: 500ms\n"
        "  group_by: [alertname]\n"
        "  default_channels: [pd]\n"
        "  channels:\n"
        f"    - {{id: sl, type: slack, url: '{rec.url('/slack/hook')}'}}\n"
        f"    - {{id: bot, type: slack_bot, api_url: '{rec.url('/slackapi')}', token: xoxb-test-token-1, channel: C0ALERTS}}\n"
        f"    - {{id: bot2, type: slack_bot, api_url: '{rec.url('/slackfail')}', token: xoxb-test-token-2, channel: C0NONE}}\n"
        f"    - {{id: pd, type: pagerduty, api_url: '{rec.url('/pd')}', routing_key: R0UTINGKEY0123456789}}\n"
        f"    - {{id: tg, type: telegram, api_url: '{rec.url('/tg')}', token: '123:telegram-token', chat_id: '-1001'}}\n"
        f"    - {{id: dc, type: discord, url: '{rec.url('/discord')}'}}\n"
        f"    - {{id: ms, type: teams, url: '{rec.url('/teams')}'}}\n"
        f"    - id: custom\n"
        f"      type: discord\n"
        f"      url: '{rec.url('/custom')}'\n"
        "      title: '{{ $labels.alertname }} on {{ $labels.check }} ({{ $value }} firing)'\n"
        "      text: '{{ $annotations.summary | toUpper }} -- runbook: {{ $annotations.runbook_url }}'\n")


def test_channel_formats():
    page = Page()
    page.set("ok\n")
    rec = h.Recorder()
    rec.set_answer("/slackfail", 200, '{"ok": false, "error": "channel_not_found"}')
    text = h.make_config(checks(page.port, 1), projects=[{"id": "shop", "name": "Shop"}],
                         extra={"server": {"base_url": "http://127.0.0.1:4000"}}) + (
        "evaluation_interval: 200ms\n"
        "alerts:\n"
        "  - {alert: ApiDown, expr: 'probe_success == 0', labels: {severity: critical},\n"
        "     annotations: {summary: 'api <b>down</b> & out', runbook_url: 'https://runbooks.local/api'}}\n"
    ) + formats_yaml(rec)
    o = h.track(h.Opshub(text))
    o.start()
    for ch in ["sl", "bot", "bot2", "tg", "dc", "ms", "custom"]:
        h.eq(o.post(f"/api/v1/channels/{ch}/test", body={}).status, 202, f"test message through {ch}")
    page.set("broken\n", code=500)
    api_down = lambda: [r for r in rec.received("/pd")  # noqa: E731
                        if "ApiDown" in json.dumps(r["json"].get("payload", {}).get("summary", "")) or
                        r["json"]["event_action"] == "resolve"]
    h.wait_for(api_down, 15, "pagerduty trigger")
    for path in ["/slack/hook", "/slackapi", "/slackfail", "/tg", "/discord", "/teams", "/custom"]:
        h.wait_for(lambda: rec.received(path), 15, f"the request to {path}")
    one = lambda p: rec.received(p)[0]  # noqa: E731
    # slack: Block Kit in an attachment coloured by severity (info for the test message)
    sl = one("/slack/hook")["json"]
    h.eq(sl["text"], "[FIRING:1] OpshubTest (channel=sl severity=info)", "slack text (notification fallback)")
    att = sl["attachments"][0]
    h.eq(att["color"], "#2f6fdb", "info colour")
    h.eq(att["blocks"][0]["type"], "section", "Block Kit section")
    h.contains(att["blocks"][1]["text"]["text"], "*OpshubTest*", "alert line in mrkdwn")
    h.contains(att["blocks"][1]["text"]["text"], "http://127.0.0.1:4000/#/silences/new?matchers=", "silence link")
    h.contains(att["blocks"][-1]["elements"][0]["text"], "<http://127.0.0.1:4000/#/alerts|Open opshub>", "link")
    # slack_bot: chat.postMessage with the bot token
    bot = one("/slackapi")
    h.eq(bot["path"], "/slackapi/chat.postMessage", "chat.postMessage")
    h.eq(bot["headers"]["authorization"], "Bearer xoxb-test-token-1", "bot token")
    h.eq(bot["json"]["channel"], "C0ALERTS", "channel")
    h.eq(bot["json"]["attachments"][0]["blocks"][0]["type"], "section", "same Block Kit message")
    h.wait_for(lambda: [d for d in deliveries(o) if d["channel"] == "bot2" and d["status"] == "failed"], 10,
               "Slack's ok:false is a failure")
    h.eq([d["last_error"] for d in deliveries(o) if d["channel"] == "bot2"], ["slack: channel_not_found"],
         "Slack's error kept")
    # telegram: sendMessage with HTML, the token in the path
    tg = one("/tg")
    h.eq(tg["path"], "/tg/bot123:telegram-token/sendMessage", "Bot API path")
    h.eq(tg["json"]["chat_id"], "-1001", "chat id")
    h.eq(tg["json"]["parse_mode"], "HTML", "parse mode")
    h.contains(tg["json"]["text"], "<b>[FIRING:1] OpshubTest (channel=tg severity=info)</b>", "HTML title")
    # discord: one embed
    dc = one("/discord")["json"]
    h.eq(dc["embeds"][0]["title"], "[FIRING:1] OpshubTest (channel=dc severity=info)", "embed title")
    h.eq(dc["embeds"][0]["color"], 0x2f6fdb, "embed colour")
    # a channel's own title and text templates ($labels, $annotations, $value)
    cu = one("/custom")["json"]["embeds"][0]
    h.eq(cu["title"], "OpshubTest on  (1 firing)", "title template (the test alert has no check label)")
    h.eq(cu["description"].split("\n")[0], "A TEST MESSAGE FROM OPSHUB: THIS CHANNEL WORKS -- runbook: ",
         "text template with a function")
    # teams: an Adaptive Card
    ms = one("/teams")["json"]
    h.eq(ms["attachments"][0]["contentType"], "application/vnd.microsoft.card.adaptive", "adaptive card")
    h.eq(ms["attachments"][0]["content"]["type"], "AdaptiveCard", "card type")
    # pagerduty: Events API v2 trigger, then resolve with the same dedup_key
    pd = api_down()[0]
    h.eq(pd["path"], "/pd/v2/enqueue", "Events API v2 path")
    ev = pd["json"]
    h.eq(ev["routing_key"], "R0UTINGKEY0123456789", "routing key")
    h.eq(ev["event_action"], "trigger", "trigger")
    h.eq(ev["payload"]["severity"], "critical", "severity")
    h.eq(ev["payload"]["source"], "api0", "source is the check")
    h.eq(ev["payload"]["summary"], "[FIRING:1] ApiDown (check=api0 project=shop severity=critical type=http)",
         "summary")
    page.set("ok\n")
    h.wait_for(lambda: len(api_down()) >= 2, 15, "pagerduty resolve")
    res = api_down()[1]["json"]
    h.eq(res["event_action"], "resolve", "resolve")
    h.eq(res["dedup_key"], ev["dedup_key"], "same dedup_key")
    # the alert's text is escaped for Slack and Telegram, kept for the others
    h.assert_no_secret_in(o.log_text(), "log")
    for secret in ["xoxb-test-token-1", "R0UTINGKEY0123456789", "telegram-token"]:
        h.check(secret not in json.dumps(o.get_json("/api/v1/channels")), f"{secret} not in the channel list")
        h.check(secret not in o.log_text(), f"{secret} not in the log")
    o.stop()
    # DISABLE_SLACK=1: both Slack channels send nothing, with a log line
    rec2 = h.Recorder()
    o = h.track(h.Opshub(h.make_config([]) + formats_yaml(rec2), env={"DISABLE_SLACK": "1"}))
    o.start()
    chans = {c["id"]: c for c in o.get_json("/api/v1/channels")["channels"]}
    h.check(chans["sl"]["disabled"] and chans["bot"]["disabled"] and not chans["dc"]["disabled"], "disabled")
    h.eq(o.post("/api/v1/channels/sl/test", body={}).status, 202, "queued")
    h.eq(o.post("/api/v1/channels/dc/test", body={}).status, 202, "queued")
    h.wait_for(lambda: rec2.received("/discord"), 10, "discord still sends")
    time.sleep(0.3)
    h.eq(rec2.received("/slack"), [], "slack sent nothing")
    h.contains(o.log_text(), "DISABLE_SLACK is set", "log line")
    o.stop()


CMD_PROGRAM = r"""
import json, os, subprocess, sys, time
mode, out = sys.argv[1], sys.argv[2]
data = sys.stdin.read()
did = os.environ.get("OPSHUB_DELIVERY_ID", "none")
n = len([f for f in os.listdir(out) if f.startswith(did + "-")])
with open(os.path.join(out, f"{did}-{n}.json"), "w") as f:
    json.dump({"mode": mode, "stdin": data, "env": dict(os.environ), "cwd": os.getcwd()}, f)
if mode == "flaky" and n == 0:
    print("receiver busy, try later", file=sys.stderr)
    sys.exit(75)
if mode == "bad":
    print("bad recipient: nobody@example.invalid\nsecond line", file=sys.stderr)
    sys.exit(2)
if mode == "slow":
    child = subprocess.Popen(["sleep", "60"])
    with open(os.path.join(out, f"child-{did}-{n}"), "w") as f:
        f.write(str(child.pid))
    time.sleep(60)
"""


def test_command_channel():
    page = Page()
    page.set("ok\n")
    tmp = h.TempDir()
    prog = tmp.join("receiver.py")
    with open(prog, "w") as f:
        f.write(CMD_PROGRAM)
    out = tmp.join("out")
    os.mkdir(out)

    def chan(cid, mode, extra=""):
        return f"    - {{id: {cid}, type: command, command: [python3, '{prog}', {mode}, '{out}']{extra}}}\n"

    text = h.make_config(checks(page.port, 1), projects=[{"id": "shop", "name": "Shop"}]) + (
        "evaluation_interval: 200ms\n"
        "alerts:\n"
        "  - {alert: ApiDown, expr: 'probe_success == 0', labels: {severity: critical}}\n"
        "notify:\n"
        "  group_wait: 0s\n"
        "  group_interval: 500ms\n"
        "  group_by: [alertname]\n"
        "  default_channels: [ok]\n"
        "  channels:\n"
        + chan("ok", "ok", ", env: {TEAM: web, PATH: '/usr/bin:/bin'}, workdir: /tmp")
        + chan("flaky", "flaky")
        + chan("bad", "bad")
        + chan("slow", "slow", ", timeout: 300ms, max_age: 2s")
        + "    - {id: gone, type: command, command: [/nonexistent/opshub-notifier]}\n")
    o = h.track(h.Opshub(text, env={"SMTP_PASS": "daemon-secret-pass-42"}))
    o.start()
    files = lambda prefix="": sorted(f for f in os.listdir(out) if f.startswith(prefix))  # noqa: E731

    def record(name):
        with open(os.path.join(out, name)) as f:
            return json.load(f)

    # a real alert: the webhook payload on stdin, the delivery in the environment
    page.set("down\n", code=500)
    h.wait_for(lambda: [d for d in deliveries(o) if d["channel"] == "ok" and d["status"] == "sent"], 15,
               "the alert delivered through the program")
    d = [d for d in deliveries(o) if d["channel"] == "ok"][0]
    rec = record(files(d["id"])[0])
    payload = json.loads(rec["stdin"])
    h.eq(payload["version"], "4", "Alertmanager webhook payload on stdin")
    h.eq(payload["status"], "firing", "firing")
    h.eq([a["labels"]["check"] for a in payload["alerts"]], ["api0"], "the alert")
    env = rec["env"]
    h.eq(env["OPSHUB_DELIVERY_ID"], d["id"], "delivery id")
    h.eq(env["OPSHUB_CHANNEL"], "ok", "channel")
    h.eq(env["OPSHUB_STATUS"], "firing", "status")
    h.eq(env["OPSHUB_DEDUP_KEY"], d["dedup_key"], "dedup key")
    h.contains(env["OPSHUB_SUMMARY"], "[FIRING:1] ApiDown", "summary line")
    h.eq(env["TEAM"], "web", "the channel's env")
    h.eq(env["PATH"], "/usr/bin:/bin", "env replaces the fixed PATH")
    h.eq(env.get("LC_ALL"), "C", "fixed locale")
    h.eq(rec["cwd"], "/tmp", "workdir")
    h.check("SMTP_PASS" not in env and "daemon-secret-pass-42" not in json.dumps(env),
            "the daemon's environment is not passed")
    page.set("ok\n")
    h.wait_for(lambda: [r for f in files() if not f.startswith("child-")
                        for r in [record(f)] if r["mode"] == "ok" and json.loads(r["stdin"])["status"] == "resolved"],
               15, "the resolution through the program")

    # exit 75: tried again (backoff about 1 s), then sent
    h.eq(o.post("/api/v1/channels/flaky/test", body={}).status, 202, "test queued")
    h.wait_for(lambda: [d for d in deliveries(o) if d["channel"] == "flaky" and d["status"] == "sent"], 15,
               "sent on the second attempt")
    d = [d for d in deliveries(o) if d["channel"] == "flaky"][0]
    h.eq(d["attempts"], 2, "two attempts")
    h.eq(len(files(d["id"])), 2, "the program ran twice")
    h.eq(record(files(d["id"])[1])["env"]["OPSHUB_DELIVERY_ID"], d["id"], "same delivery id on the retry")

    # another exit code: failed after one attempt, stderr's first line kept
    h.eq(o.post("/api/v1/channels/bad/test", body={}).status, 202, "test queued")
    h.wait_for(lambda: [d for d in deliveries(o) if d["channel"] == "bad" and d["status"] == "failed"], 10,
               "failed at once")
    d = [d for d in deliveries(o) if d["channel"] == "bad"][0]
    h.eq(d["attempts"], 1, "not retried")
    h.eq(d["last_error"], "python3: exit code 2: bad recipient: nobody@example.invalid", "the error")

    # a program that is not there: failed, the reason named
    h.eq(o.post("/api/v1/channels/gone/test", body={}).status, 202, "test queued")
    h.wait_for(lambda: [d for d in deliveries(o) if d["channel"] == "gone" and d["status"] == "failed"], 10,
               "missing program fails")
    d = [d for d in deliveries(o) if d["channel"] == "gone"][0]
    h.eq(d["last_error"], "cannot run /nonexistent/opshub-notifier: no such file or directory", "the error")

    # past its timeout: killed with its process group, retried until max_age, then failed
    h.eq(o.post("/api/v1/channels/slow/test", body={}).status, 202, "test queued")
    h.wait_for(lambda: [d for d in deliveries(o) if d["channel"] == "slow" and d["status"] == "failed"], 15,
               "given up after max_age")
    d = [d for d in deliveries(o) if d["channel"] == "slow"][0]
    h.check(d["attempts"] >= 2, f"retried ({d['attempts']} attempts)")
    h.contains(d["last_error"], "gave up after", "given up")
    h.contains(d["last_error"], "python3: timeout (process group killed)", "timeout named")
    children = files("child-")
    h.check(len(children) >= 1, "the slow program started a child")
    for c in children:
        with open(os.path.join(out, c)) as f:
            pid = int(f.read())
        h.wait_for(lambda: not os.path.exists(f"/proc/{pid}") or
                   open(f"/proc/{pid}/stat").read().split(") ")[1][0] == "Z", 5, f"child {pid} killed")
    chans = {c["id"]: c for c in o.get_json("/api/v1/channels")["channels"]}
    h.eq(chans["ok"]["type"], "command", "type in the channel list")
    h.check("daemon-secret-pass-42" not in o.log_text(), "no secret in the log")
    o.stop()
    # configuration errors
    bad = h.make_config([]) + (
        "notify:\n"
        "  channels:\n"
        "    - {id: a, type: command}\n"
        "    - {id: b, type: command, command: 'mail -s alert ops@example.com'}\n"
        "    - {id: c, type: command, command: ['']}\n"
        "    - {id: d, type: command, command: [x], env: {'1BAD': v}, workdir: relative}\n"
        "    - {id: e, type: command, command: [x], url: 'http://127.0.0.1:9/', title: t}\n")
    refused(tmp, bad, ["a command channel needs 'command'", "command: expected a list of arguments",
                       "the program (the first item) must not be empty", "not an environment variable name",
                       "workdir must be an absolute path", "a command channel has no 'url'",
                       "a command channel has no 'title'"])


def test_silences_api_and_cli():
    page = Page()
    page.set("ok\n")
    rec = h.Recorder()
    data = h.TempDir()
    text = h.make_config(checks(page.port, 2), projects=[{"id": "shop", "name": "Shop"}]) + (
        "alerts:\n"
        "  - {alert: ApiDown, expr: 'probe_success == 0', labels: {severity: critical}}\n"
    ) + notify_yaml(rec, group_wait="500ms", group_interval="500ms")
    o = h.track(h.Opshub(text, data_dir=data.path))
    o.start()
    # a silence of api0 before the alerts fire (matcher strings, duration)
    r = o.post("/api/v1/silences", body={"matchers": ["alertname=ApiDown", 'check="api0"'], "duration": "1h",
                                          "comment": "deploying api0"})
    h.eq(r.status, 201, "silence created")
    sil = r.json()
    h.eq(sil["status"]["state"], "active", "active")
    h.eq(sil["createdBy"], "harness-admin", "createdBy defaults to the caller")
    h.eq(sil["matchers"], [{"name": "alertname", "value": "ApiDown", "isRegex": False, "isEqual": True},
                           {"name": "check", "value": "api0", "isRegex": False, "isEqual": True}], "matchers")
    page.set("broken\n", code=500)
    h.wait_for(lambda: messages(rec, "/hook"), 15, "a message")
    time.sleep(1.2)
    got = sorted(a["labels"]["check"] for r in messages(rec, "/hook") for a in r["json"]["alerts"])
    h.eq(sorted(set(got)), ["api1"], "api0 is silenced, api1 is sent")
    am = {a["labels"]["check"]: a for a in o.get_json("/api/v2/alerts")}
    h.eq(am["api0"]["status"], {"state": "suppressed", "silencedBy": [sil["id"]], "inhibitedBy": []},
         "api0 suppressed by the silence")
    h.eq(am["api1"]["status"]["state"], "active", "api1 active")
    h.eq([x["labels"]["check"] for x in o.get_json("/api/v2/alerts?silenced=false")], ["api1"], "silenced=false")
    # the CLI writes to the same database; the running opshub takes it within a second
    r = o.cli("silence", "add", "alertname=ApiDown", 'check=~"api1|api9"', "--comment", "cli silence",
              "--duration", "30m", "--author", "ops")
    h.eq(r.returncode, 0, f"silence add: {r.stderr}")
    cli_id = r.stdout.strip()
    h.eq(len(cli_id), 36, "a UUID")
    h.wait_for(lambda: {a["labels"]["check"]: a["status"]["silencedBy"] for a in o.get_json("/api/v2/alerts")}
               .get("api1") == [cli_id], 5, "the CLI's silence taken by the running opshub")
    r = o.cli("silence", "list", "--json")
    h.eq(r.returncode, 0, "silence list")
    h.eq(sorted(x["createdBy"] for x in json.loads(r.stdout)), ["harness-admin", "ops"], "both listed")
    # expire the API one: api0 is told at the next group_interval
    n_before = len(messages(rec, "/hook"))
    r = o.request("DELETE", f"/api/v1/silences/{sil['id']}")
    h.eq(r.status, 200, "expired")
    h.eq(r.json()["status"]["state"], "expired", "state expired")
    h.wait_for(lambda: any("api0" in alert_names(m) for m in messages(rec, "/hook")[n_before:]), 10,
               "api0 notified once its silence expired")
    h.eq([x["id"] for x in o.get_json("/api/v1/silences?state=expired")["silences"]], [sil["id"]],
         "the expired silence is kept")
    h.eq(o.request("DELETE", f"/api/v1/silences/{sil['id']}").status, 200, "expiring again changes nothing")
    r = o.cli("silence", "expire", cli_id)
    h.eq(r.returncode, 0, f"silence expire: {r.stderr}")
    h.eq(o.get_json(f"/api/v1/silences/{cli_id}")["status"]["state"], "expired", "expired by the CLI")
    h.eq(o.cli("silence", "expire", "no-such-id").returncode, 1, "unknown id")
    # bad silences: 400 naming the member
    bad = [({"matchers": [], "duration": "1h"}, "matchers"),
           ({"matchers": ['job=~".*"'], "duration": "1h"}, "matchers"),
           ({"matchers": ["job=~\"(\""], "duration": "1h"}, "matchers[0]"),
           ({"matchers": [{"name": "1x", "value": "a"}], "duration": "1h"}, "matchers[0]"),
           ({"matchers": ["a=b"], "endsAt": "2001-01-01T00:00:00Z"}, "endsAt"),
           ({"matchers": ["a=b"], "duration": "soon"}, "duration"),
           ({"matchers": ["a=b"]}, "endsAt"),
           ({"matchers": ["a=b"], "duration": "1h", "color": "red"}, "color")]
    for body, field in bad:
        r = o.post("/api/v1/silences", body=body)
        h.eq(r.status, 400, f"bad silence {body}")
        h.eq(r.json()["error"]["field"], field, f"field of {body}")
    h.eq(o.get("/api/v1/silences?state=gone").status, 400, "bad state")
    h.eq(o.get("/api/v1/silences/none").status, 404, "unknown silence")
    r = o.cli("silence", "add", "job=~.*", "--comment", "x")
    h.eq(r.returncode, 2, "the CLI refuses a silence of everything")
    h.contains(r.stderr, "must not match the empty string", "and says why")
    h.eq(o.cli("silence", "add", "a=b").returncode, 2, "--comment is required")
    o.stop()


def iso_s(ms):
    return datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")


def test_maintenance_windows():
    page = Page()
    page.set("ok\n")
    blog = Page()
    blog.set("ok\n")
    rec = h.Recorder()
    # a daily window in Asia/Dhaka (UTC+6) that began in the last minute, for shop
    dhaka = zoneinfo.ZoneInfo("Asia/Dhaka")
    now = datetime.datetime.now(dhaka)
    start_local = (now - datetime.timedelta(minutes=1)).replace(second=0, microsecond=0)
    start_ms = int(start_local.timestamp() * 1000)
    next_ms = int((start_local + datetime.timedelta(days=1)).timestamp() * 1000)
    t0 = int(time.time() * 1000)
    until = t0 + 6000
    text = h.make_config(checks(page.port, 1) + checks(blog.port, 1, project="blog", prefix="blog"),
                         projects=[{"id": "shop", "name": "Shop"}, {"id": "blog", "name": "Blog"}],
                         extra={"status_page": {"title": "Status"}}) + (
        "alerts:\n"
        "  - {alert: SiteDown, expr: 'probe_success == 0', labels: {severity: critical}}\n"
        "maintenance:\n"
        f"  - {{id: nightly, description: 'Database upgrade', schedule: '{start_local.minute} {start_local.hour} * * *',\n"
        "     duration: 1h, timezone: Asia/Dhaka, projects: [shop]}\n"
        f"  - {{id: blog-move, from: '{iso_s(t0 - 60000)}Z', to: '{iso_s(until)}.{until % 1000:03d}Z',\n"
        "     match: {check: blog0}, public: false}\n"
        "  - {id: later, description: 'Network work', from: '2031-01-01T02:00:00+06:00', to: '2031-01-01T04:00:00+06:00',\n"
        "     projects: [blog]}\n"
    ) + notify_yaml(rec, group_wait="300ms", group_interval="500ms")
    o = h.track(h.Opshub(text))
    o.start()
    ws = {w["id"]: w for w in o.get_json("/api/v1/maintenance")["windows"]}
    h.eq(ws["nightly"]["active"], True, "the Dhaka window is active")
    h.eq(ws["nightly"]["current"]["start"], iso_s(start_ms) + ".000Z", "it began at the schedule's time in Dhaka")
    h.eq(ws["nightly"]["current"]["end"], iso_s(start_ms + 3600000) + ".000Z", "and lasts its duration")
    h.eq(ws["nightly"]["next"]["start"], iso_s(next_ms) + ".000Z", "the next one a day later")
    h.eq(ws["nightly"]["timezone"], "Asia/Dhaka", "zone")
    h.eq(ws["later"]["active"], False, "the one-off window is to come")
    h.eq(ws["later"]["next"], {"start": "2030-12-31T20:00:00.000Z", "end": "2030-12-31T22:00:00.000Z"}, "its span")
    page.set("broken\n", code=500)
    blog.set("broken\n", code=500)
    h.wait_for(lambda: [a for a in o.get_json("/api/v1/alerts")["data"]["alerts"] if a["state"] == "firing"
                        and a["labels"]["check"] == "api0"], 10, "shop's alert fires")
    time.sleep(1.5)
    h.eq(messages(rec, "/hook"), [], "nothing sent: shop in its window, blog0 in the one-off window")
    hist = o.get_json("/api/v1/alerts/history")["data"]["transitions"]
    h.check([t for t in hist if t["labels"]["check"] == "api0" and t["state"] == "firing"],
            "the muted alert is recorded")
    h.check(o.metrics().get("opshub_notify_maintenance_muted_total") >= 1, "muted counted")
    # the one-off window ends: blog0 is told, shop still is not
    h.wait_for(lambda: messages(rec, "/hook"), 15, "blog0 told once its window ended")
    time.sleep(1)
    h.eq(sorted({a["labels"]["check"] for r in messages(rec, "/hook") for a in r["json"]["alerts"]}), ["blog0"],
         "only blog0")
    # the status page shows the public windows, not the private one
    st = json.loads(o.get("/status.json").body)
    h.eq(sorted(w["id"] for w in st["maintenance"]), ["later", "nightly"], "public windows on status.json")
    html = o.get("/status").text
    h.contains(html, "Scheduled maintenance", "status page heading")
    h.contains(html, "In progress:</strong> Database upgrade", "the window in progress")
    h.check("Network work" not in html, "a window years away is not listed")
    o.stop()
    # configuration errors
    bad = h.make_config([]) + (
        "maintenance:\n"
        "  - {id: a, schedule: '61 * * * *', duration: 1h, projects: [x]}\n"
        "  - {id: b, schedule: '0 2 * * 0', duration: 1h, timezone: Mars/Base, projects: [x]}\n"
        "  - {id: c, schedule: '0 2 * * 0', projects: [x]}\n"
        "  - {id: d, schedule: '0 2 * * 0', from: '2026-01-01T00:00:00Z', to: '2026-01-02T00:00:00Z', projects: [x]}\n"
        "  - {id: e, from: '2026-01-02T00:00:00Z', to: '2026-01-01T00:00:00Z', projects: [x]}\n"
        "  - {id: f, schedule: '0 2 * * 0', duration: 1h}\n")
    tmp = h.TempDir()
    path = tmp.join("bad.yaml")
    with open(path, "w") as f:
        f.write(bad)
    r = h.run_cli(["config", "check", "-c", path])
    h.eq(r.returncode, 2, "invalid config")
    errs = "\n".join(m for _, _, m in h.config_errors(r.stderr, path))
    for want in ["bad schedule '61 * * * *' (at character 1): minute", "unknown time zone 'Mars/Base'",
                 "a recurring window needs 'duration'", "recurring (schedule, duration) or one-off",
                 "'to' must be after 'from'", "needs 'projects' or 'match'"]:
        h.contains(errs, want, "maintenance config error")


def test_email_through_a_real_mta():
    import email.utils
    from test_tls import make_cert
    tmp = h.TempDir()
    cert, key = make_cert(tmp.path, "mx")
    mta = h.Exim(cert, key).start()
    page = Page()
    page.set("ok\n")
    smtp_pass = h.secret("smtp-secret-pw")
    text = h.make_config(checks(page.port, 1), projects=[{"id": "shop", "name": "Shop"}]) + (
        "evaluation_interval: 200ms\n"
        "alerts:\n"
        "  - {alert: ApiDown, expr: 'probe_success == 0', labels: {severity: critical},\n"
        "     annotations: {summary: 'api0 is down — ünïcode', runbook_url: 'https://runbooks.local/api'}}\n"
        "notify:\n"
        "  group_wait: 0s\n"
        "  group_interval: 500ms\n"
        "  default_channels: [mail, wrongpw]\n"
        "  group_by: [alertname]\n"
        "  channels:\n"
        f"    - {{id: mail, type: email, to: [ops@example.test, oncall@example.test], from: opshub@example.test,\n"
        f"       smtp_host: 127.0.0.1, smtp_port: {mta.port}, ca_file: '{cert}'}}\n"
        f"    - {{id: wrongpw, type: email, to: [ops@example.test], from: opshub@example.test,\n"
        f"       smtp_host: 127.0.0.1, smtp_port: {mta.port}, ca_file: '{cert}', smtp_user: opshub,\n"
        "       smtp_pass: not-the-password}\n")
    o = h.track(h.Opshub(text, env={"SMTP_USER": "opshub", "SMTP_PASS": "smtp-secret-pw"}))
    o.start()
    page.set("broken\n", code=500)
    # the alert's message; the failing wrongpw channel's self-alert may reach the Maildir first
    firing = lambda: [x for x in mta.messages() if "ApiDown" in str(x["Subject"])]  # noqa: E731
    m = h.wait_for(firing, 20, "the message delivered to the Maildir")[0]
    h.eq(str(m["Subject"]), "[FIRING:1] ApiDown (check=api0 project=shop severity=critical type=http)", "subject")
    h.eq(str(m["From"]), "opshub@example.test", "from")
    h.eq(str(m["To"]), "ops@example.test, oncall@example.test", "to")
    date = email.utils.parsedate_to_datetime(str(m["Date"]))
    h.check(abs(date.timestamp() - time.time()) < 60, f"a correct Date header: {m['Date']}")
    mid = str(m["Message-ID"])
    h.check(mid.startswith("<n") and mid.endswith("@example.test>"), f"Message-ID: {mid}")
    h.eq(m.get_content_type(), "multipart/alternative", "multipart")
    parts = {p.get_content_type(): p.get_content() for p in m.iter_parts()}
    h.eq(sorted(parts), ["text/html", "text/plain"], "text and HTML")
    h.contains(parts["text/plain"], "api0 is down — ünïcode", "text part, UTF-8")
    h.contains(parts["text/plain"], "https://runbooks.local/api", "runbook in the text")
    h.contains(parts["text/html"], "<b>[FIRING:1] ApiDown", "HTML part")
    h.contains(parts["text/html"], "api0 is down — ünïcode", "HTML part, UTF-8")
    h.check("Delivered-To" in m or "Envelope-to" in m, "delivered by the MTA (its own headers)")
    d = [x for x in deliveries(o) if x["channel"] == "mail" and "ApiDown" in x["summary"]][0]
    h.eq(str(m["X-Opshub-Delivery"]), d["id"], "the delivery id in the message")
    h.eq(d["status"], "sent", "sent")
    # the MTA delivers to each recipient on its own: the second copy may land a moment later
    h.wait_for(lambda: len([x for x in mta.messages() if str(x["X-Opshub-Delivery"]) == d["id"]]) >= 2, 10,
               "one copy per recipient in the Maildir")
    h.eq(len([x for x in mta.messages() if str(x["X-Opshub-Delivery"]) == d["id"]]), 2, "and no more")
    # wrong credentials: failed, not retried
    # (the alert's delivery: the self-alert it raises goes to wrongpw too, as a delivery of its own)
    bad = h.wait_for(lambda: [x for x in deliveries(o) if x["channel"] == "wrongpw" and "ApiDown" in x["summary"]
                              and x["status"] == "failed"], 15, "the wrong password fails")[0]
    h.eq(bad["attempts"], 1, "a refused login is not retried")
    h.contains(bad["last_error"], "SMTP 535", "the server's answer")
    # resolved
    page.set("ok\n")
    h.wait_for(lambda: any(str(x["Subject"]).startswith("[RESOLVED]") for x in mta.messages()), 15, "resolved mail")
    h.assert_no_secret_in(o.log_text(), "log")
    h.check(smtp_pass not in json.dumps(o.get_json("/api/v1/channels")), "no password in the channel list")
    o.stop()
    mta.close()
    # TLS off with credentials is refused
    bad = h.make_config([]) + (
        "notify:\n  channels:\n"
        "    - {id: m, type: email, to: [a@example.test], from: b@example.test, smtp_host: 127.0.0.1,\n"
        "       tls: none, smtp_user: u, smtp_pass: p}\n"
        "    - {id: n, type: email, to: [not-an-address], from: b@example.test, smtp_host: 127.0.0.1}\n")
    path = tmp.join("bad.yaml")
    with open(path, "w") as f:
        f.write(bad)
    r = h.run_cli(["config", "check", "-c", path])
    errs = "\n".join(m for _, _, m in h.config_errors(r.stderr, path))
    h.contains(errs, "credentials are never sent without TLS", "no AUTH in the clear")
    h.contains(errs, "'not-an-address' is not an e-mail address", "bad address")


AMTOOL = "/usr/bin/amtool"


def test_alertmanager_api_prometheus_and_amtool():
    rec = h.Recorder()
    o = h.track(h.Opshub(h.make_config([]) + notify_yaml(rec, group_wait="0s", group_interval="500ms")))
    o.start()
    token = o.create_token(role="operator", name="prometheus")
    o.wait_token(token)
    tmp = h.TempDir()
    with open(tmp.join("rules.yml"), "w") as f:
        f.write("groups:\n"
                "  - name: demo\n"
                "    rules:\n"
                "      - alert: PromAlert\n"
                "        expr: vector(1)\n"
                "        labels: {severity: warning, team: db}\n"
                "        annotations: {summary: from prometheus}\n")
    prom = h.Prometheus(
        "global: {evaluation_interval: 1s}\n"
        f"rule_files: ['{tmp.join('rules.yml')}']\n"
        "alerting:\n"
        "  alertmanagers:\n"
        "    - api_version: v2\n"
        f"      authorization: {{credentials: '{token}'}}\n"
        f"      static_configs: [{{targets: ['127.0.0.1:{o.cur_port}']}}]\n",
        extra=["--rules.alert.resend-delay=1s"])
    prom.start()
    h.wait_for(lambda: [m for m in messages(rec, "/hook") if "PromAlert" in json.dumps(m["json"]["commonLabels"])],
               30, "Prometheus' alert routed to the webhook")
    m = [m for m in messages(rec, "/hook") if "PromAlert" in json.dumps(m["json"]["commonLabels"])][0]["json"]
    a = m["alerts"][0]
    h.eq(a["labels"], {"alertname": "PromAlert", "severity": "warning", "team": "db"}, "labels as sent")
    h.eq(a["annotations"], {"summary": "from prometheus"}, "annotations")
    h.contains(a["generatorURL"], "/graph?g0.expr=", "Prometheus' generatorURL kept")
    # amtool against opshub
    require_amtool = os.path.exists(AMTOOL)
    h.check(require_amtool, "amtool (package prometheus-alertmanager) is installed")
    with open(tmp.join("http.yml"), "w") as f:
        f.write(f"authorization: {{credentials: '{token}'}}\n")
    base = [AMTOOL, f"--alertmanager.url=http://127.0.0.1:{o.cur_port}", f"--http.config.file={tmp.join('http.yml')}"]
    import subprocess

    def amtool(*args):
        r = subprocess.run(base + list(args), capture_output=True, text=True, timeout=30)
        return r

    r = amtool("alert", "query", "-o", "json")
    h.eq(r.returncode, 0, f"amtool alert query: {r.stderr}")
    alerts = json.loads(r.stdout)
    h.eq([x["labels"]["alertname"] for x in alerts], ["PromAlert"], "amtool lists the alert")
    r = amtool("silence", "add", "alertname=PromAlert", "team=~d.*", "--comment=maintenance", "--author=amtool-user",
               "--duration=2h")
    h.eq(r.returncode, 0, f"amtool silence add: {r.stderr}")
    sid = r.stdout.strip()
    h.eq(len(sid), 36, "amtool printed the id")
    s = o.get_json(f"/api/v1/silences/{sid}")
    h.eq(s["createdBy"], "amtool-user", "createdBy from amtool")
    h.eq(s["matchers"][1], {"name": "team", "value": "d.*", "isRegex": True, "isEqual": True}, "regex matcher")
    r = amtool("silence", "query", "-o", "json")
    h.eq(r.returncode, 0, f"amtool silence query: {r.stderr}")
    h.eq([x["id"] for x in json.loads(r.stdout)], [sid], "amtool lists the silence")
    h.wait_for(lambda: json.loads(amtool("alert", "query", "-o", "json", "--silenced").stdout or "[]")
               and o.get_json("/api/v2/alerts")[0]["status"]["silencedBy"] == [sid], 10, "the alert silenced")
    r = amtool("silence", "expire", sid)
    h.eq(r.returncode, 0, f"amtool silence expire: {r.stderr}")
    h.eq(o.get_json(f"/api/v1/silences/{sid}")["status"]["state"], "expired", "expired through amtool")
    r = amtool("silence", "query", "-o", "json", "--expired")
    h.eq([x["id"] for x in json.loads(r.stdout)], [sid], "amtool lists it as expired")
    # POST /api/v2/alerts directly: resolve by endsAt in the past; bad alerts refused
    hdr = {"Authorization": f"Bearer {token}"}
    r = o.post("/api/v2/alerts", body=[{"labels": {"alertname": "Direct", "team": "web"}}], headers=hdr)
    h.eq(r.status, 200, "alert taken")
    h.wait_for(lambda: [m for m in messages(rec, "/hook") if m["json"]["commonLabels"].get("alertname") == "Direct"],
               10, "the direct alert sent")
    r = o.post("/api/v2/alerts", body=[{"labels": {"alertname": "Direct", "team": "web"},
                                        "endsAt": "2020-01-01T00:00:00Z"}], headers=hdr)
    h.eq(r.status, 200, "resolution taken")
    h.wait_for(lambda: [m for m in messages(rec, "/hook") if m["json"]["commonLabels"].get("alertname") == "Direct"
                        and m["json"]["status"] == "resolved"], 10, "the direct alert resolved")
    for body, field in [([{"labels": {}}], "[0]"), ([{"annotations": {}}], "[0]"), ({"labels": {}}, None),
                        ([{"labels": {"a": 1}}], "[0]"), ([{"labels": {"a": "b"}, "startsAt": "yesterday"}], "[0]")]:
        r = o.post("/api/v2/alerts", body=body, headers=hdr)
        h.eq(r.status, 400, f"bad alerts {body}")
        h.eq(r.json()["error"].get("field"), field, f"field of {body}")
    st = o.get_json("/api/v2/status")
    h.eq(st["cluster"]["status"], "disabled", "status")
    h.eq([x["name"] for x in o.get_json("/api/v2/receivers")], ["hook", "quiet", "crit", "warn", "bad", "all"],
         "receivers")
    viewer = o.create_token(role="viewer", name="viewer")
    o.wait_token(viewer)
    h.eq(o.post("/api/v2/alerts", body=[{"labels": {"a": "b"}}], headers={"Authorization": f"Bearer {viewer}"})
         .status, 403, "a viewer cannot send alerts")
    prom.close()
    o.stop()


def test_api_and_config_errors():
    rec = h.Recorder()
    o = h.track(h.Opshub(h.make_config([]) + notify_yaml(rec)))
    o.start()
    ch = o.get_json("/api/v1/channels")["channels"]
    h.eq([c["id"] for c in ch], ["hook", "quiet", "crit", "warn", "bad", "all"], "channels in order")
    h.eq(ch[0]["type"], "webhook", "type")
    h.check(SECRET not in json.dumps(ch), "no secret in the channel list")
    r = o.post("/api/v1/channels/hook/test", body={})
    h.eq(r.status, 202, "test queued")
    h.wait_for(lambda: messages(rec, "/hook"), 10, "test message received")
    h.eq(messages(rec, "/hook")[0]["json"]["commonLabels"]["alertname"], "OpshubTest", "the test alert")
    for path, status, field in [("/api/v1/notifications?status=bogus", 400, "status"),
                                ("/api/v1/notifications?limit=0", 400, "limit"),
                                ("/api/v1/notifications?from=yesterday", 400, "from"),
                                ("/api/v1/notifications/nope", 404, None)]:
        r = o.get(path)
        h.eq(r.status, status, path)
        if field:
            h.eq(r.json()["error"]["field"], field, f"{path} names the field")
    h.eq(o.post("/api/v1/channels/nope/test", body={}).status, 404, "unknown channel")
    h.eq(o.post("/api/v1/notifications/nope/retry", body={}).status, 404, "unknown delivery")
    h.assert_no_secret_in(o.log_text(), "log")
    o.stop()
    # configuration errors name FILE:LINE:COL
    bad = h.make_config([]) + (
        "notify:\n"
        "  channels:\n"
        "    - {id: a, type: smoke-signal}\n"
        "    - {id: b, type: webhook}\n"
        "    - {id: c, type: pagerduty}\n"
        "    - {id: d, type: webhook, url: 'http://127.0.0.1:9/', token: x}\n"
        "    - {id: e, type: discord, url: 'http://127.0.0.1:9/', title: '{{ $nope }}'}\n"
        "    - {id: f, type: webhook, url: 'http://127.0.0.1:9/', text: 'x'}\n"
        "  routes:\n"
        "    - {match_re: {severity: '(unclosed'}, channels: [b]}\n"
        "    - {channels: [nowhere]}\n"
        "    - {receiver: b}\n"
        "  group_wait: -1s\n")
    bad_templates = h.make_config([]) + (
        "notify:\n"
        "  channels:\n"
        "    - {id: e, type: discord, url: 'http://127.0.0.1:9/', title: '{{ $nope }}'}\n"
        "    - {id: g, type: slack, url: 'http://127.0.0.1:9/', text: '{{ if }}'}\n")
    tmp = h.TempDir()
    errs = refused(tmp, bad, ["unknown channel type 'smoke-signal'", "a webhook channel needs 'url'",
                              "a pagerduty channel needs 'routing_key'", "a webhook channel has no 'token'",
                              "bad regular expression for 'severity'", "no channel has the id 'nowhere'",
                              "not Alertmanager's 'receiver'", "bad duration '-1s'"])
    text = "\n".join(m for _, _, m in errs)
    where = {m.split(" ")[0]: (line, col) for line, col, m in errs}
    line = bad.splitlines().index("    - {id: a, type: smoke-signal}") + 1
    h.eq(where.get("unknown"), (line, 21), "the bad type's position")
    h.contains(text, "a webhook channel has no 'text'", "the webhook sends the payload itself")
    # templates are checked after the load (the rules layer's engine), at their position
    path2 = tmp.join("bad-templates.yaml")
    with open(path2, "w") as f:
        f.write(bad_templates)
    r = h.run_cli(["config", "check", "-c", path2])
    h.eq(r.returncode, 2, "bad templates refused")
    errs = h.config_errors(r.stderr, path2)
    lines = bad_templates.splitlines()
    h.eq([(ln, m.split(":")[0]) for ln, _, m in errs],
         [(lines.index("    - {id: e, type: discord, url: 'http://127.0.0.1:9/', title: '{{ $nope }}'}") + 1,
           "channel e"),
          (lines.index("    - {id: g, type: slack, url: 'http://127.0.0.1:9/', text: '{{ if }}'}") + 1, "channel g")],
         "each bad template at its line")
    h.contains(errs[0][2], 'undefined variable or field "$nope"', "names the variable")


if __name__ == "__main__":
    h.run(h.collect(globals()))
