#!/usr/bin/env python3
"""Times the calls of issue 13 ("National scale stays fast") on two running servers at once.

Used by bench/scale.sh; standard library only. Each server is given as
LABEL=BASE_URL,DATABASE_URL,ADMIN_TOKEN,PID. For each server it first builds the same small
fixture through the API (a probe webinar, a business with 50 registrations, a 60-registrant
webinar), then times every call REPS times, interleaving the servers call by call (so a load on the
machine weighs on both alike), and prints one JSON object: per label and call, the median and p90
in milliseconds, response bytes, plus the servers' RSS (now and peak, from /proc).

The fixture has 60 published roadshow stops in TX with "Financing" in their titles (so the public
list, its state filter and the search answer a full page on both databases). On the seeded
database, "registrants" calls use the seeded 20,000-registrant national webinar (seed id of event
1, deep page: after the 15,000th); on the empty one, the fixture's 120-registrant webinar (deep
page: after the 50th). The `small_*` calls use the fixture webinar on both, for the same answer.
"""
import base64
import http.client
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.parse
import uuid
from datetime import datetime, timedelta, timezone

REPS = 15


class Server:
    def __init__(self, spec):
        label, rest = spec.split("=", 1)
        base, db_url, token, pid = rest.split(",")
        self.label, self.db_url, self.token, self.pid = label, db_url, token, int(pid)
        u = urllib.parse.urlparse(base)
        self.host, self.port = u.hostname, u.port
        self.conn = None
        self.rss_peak_kb = 0

    def request(self, method, path, body=None, token=None, admin=False):
        headers = {}
        if body is not None:
            body = json.dumps(body)
            headers["content-type"] = "application/json"
        if admin:
            headers["authorization"] = f"Bearer {self.token}"
        elif token:
            headers["authorization"] = f"Bearer {token}"
        for attempt in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=120)
            try:
                t = time.perf_counter()
                self.conn.request(method, path, body=body, headers=headers)
                res = self.conn.getresponse()
                data = res.read()
                ms = (time.perf_counter() - t) * 1000
                if res.getheader("connection", "").lower() == "close":
                    self.conn.close()
                    self.conn = None
                return res.status, data, ms
            except (http.client.HTTPException, ConnectionError):
                self.conn = None
                if attempt:
                    raise
        raise RuntimeError("unreachable")

    def ok(self, method, path, body=None, want=(200, 201), **kw):
        status, data, _ = self.request(method, path, body, **kw)
        if status not in want:
            raise SystemExit(f"{self.label}: {method} {path} -> {status}: {data[:300]!r}")
        return json.loads(data) if data and data[:1] in (b"{", b"[") else data

    def psql(self, sql):
        out = subprocess.run(["psql", "-tAq", "-v", "ON_ERROR_STOP=1", self.db_url, "-c", sql],
                             check=True, capture_output=True, text=True, timeout=120)
        return out.stdout.strip()

    def rss(self):
        kb = {}
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in ("VmRSS", "VmHWM"):
                    kb[k] = int(v.split()[0])
        self.rss_peak_kb = max(self.rss_peak_kb, kb["VmRSS"])
        return kb


def iso(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def webinar_body(title, capacity, days):
    s = datetime.now(timezone.utc) + timedelta(days=days)
    return {"kind": "webinar", "title": title, "description": "Scale benchmark probe",
            "starts_at": iso(s), "ends_at": iso(s + timedelta(hours=1)), "time_zone": "America/Chicago",
            "capacity": capacity, "join_url": "https://webinar.example.com/j/probe", "topics": ["analytics"]}


def reg_body(business_email, attendee_email, i):
    return {"business": {"name": f"Probe Shop {business_email}", "email": business_email, "state": "TX",
                         "industry": "retail", "employees": "2-9"},
            "attendee": {"name": f"Probe Attendee {i}", "email": attendee_email}, "marketing_consent": False}


class Fixture:
    """What the timed calls need, built the same way on each server."""

    def __init__(self, s, run):
        self.s, self.run = s, run
        self.probe = self.event(f"Scale probe {run}", 1_000_000)
        # A full page (50) of public events in TX whose title has "financing", on both databases,
        # so the public list, the state filter and the search answer a full page everywhere.
        venue = s.ok("POST", "/api/v1/admin/venues",
                     {"name": f"Scale Hall {run}", "address": "1 Main St", "city": "Austin", "state": "TX",
                      "time_zone": "America/Chicago"}, admin=True)["id"]
        for i in range(60):
            body = webinar_body(f"Financing stop {run} {i}", 200, 2 + i)
            body.update({"kind": "roadshow_stop", "venue_id": venue})
            del body["join_url"]
            e = s.ok("POST", "/api/v1/admin/events", body, admin=True)
            s.ok("POST", f"/api/v1/admin/events/{e['id']}/publish", {}, admin=True)
        # 120 registrants: a first page and a full second page.
        self.small = self.event(f"Scale small webinar {run}", 1000)
        for i in range(120):
            s.ok("POST", f"/api/v1/events/{self.small}/registrations",
                 reg_body(f"small-{run}-{i}@probe.example", f"small-att-{run}-{i}@probe.example", i))
        self.export_email = f"export-{run}@probe.example"
        self.export_business = self.business_with_50(self.export_email)
        seeded = s.psql(f"SELECT id FROM events WHERE id = '{uuid.UUID(md5hex('seed-event-1'))}'")
        self.webinar = seeded or self.small
        self.deep_cursor = self.cursor(self.webinar, 15000 if seeded else 50)
        self.n = 0

    def event(self, title, capacity):
        e = self.s.ok("POST", "/api/v1/admin/events", webinar_body(title, capacity, 30), admin=True)
        self.s.ok("POST", f"/api/v1/admin/events/{e['id']}/publish", {}, admin=True)
        return e["id"]

    def business_with_50(self, email):
        ev = self.probe
        for i in range(50):
            self.s.ok("POST", f"/api/v1/events/{ev}/registrations",
                      reg_body(email, f"{i}-{email}", i))
        return self.s.psql(f"SELECT id FROM businesses WHERE email = '{email}'")

    def cursor(self, event_id, offset):
        row = self.s.psql(
            "SELECT to_char(created_at, 'YYYY-MM-DD\"T\"HH24:MI:SS.US') || '|' || id FROM registrations "
            f"WHERE event_id = '{event_id}' ORDER BY created_at, id OFFSET {offset - 1} LIMIT 1")
        at, rid = row.split("|")
        return base64.urlsafe_b64encode(json.dumps([at, rid]).encode()).decode().rstrip("=")

    def privacy_token(self, email, kind):
        token = f"rsp_scale_{uuid.uuid4().hex}"
        self.s.psql(
            "INSERT INTO privacy_requests (id, email, kind, payload, status, token_hash, created_at, processed_at, expires_at) "
            f"VALUES ('{uuid.uuid4()}', '{email}', '{kind}', '{{}}', 'sent', encode(sha256('{token}'::bytea), 'hex'), "
            "now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC' + interval '20 minutes')")
        return token


def md5hex(s):
    import hashlib
    return hashlib.md5(s.encode()).hexdigest()


def calls(f):
    """(name, setup, timed request) per call; setup runs untimed and returns the request."""
    s = f.s
    q = urllib.parse.quote

    def register():
        f.n += 1
        return ("POST", f"/api/v1/events/{f.probe}/registrations",
                reg_body(f"reg-{f.run}-{f.n}@probe.example", f"reg-att-{f.run}-{f.n}@probe.example", f.n), {})

    def cancel_with_promotion():
        f.n += 1
        ev = f.event(f"Scale promo {f.run} {f.n}", 1)
        a = s.ok("POST", f"/api/v1/events/{ev}/registrations",
                 reg_body(f"pa-{f.run}-{f.n}@probe.example", f"pa-{f.run}-{f.n}@probe.example", f.n))
        b = s.ok("POST", f"/api/v1/events/{ev}/registrations",
                 reg_body(f"pb-{f.run}-{f.n}@probe.example", f"pb-{f.run}-{f.n}@probe.example", f.n))
        assert a["status"] == "confirmed" and b["status"] == "waitlisted", (a, b)
        return ("DELETE", f"/api/v1/registrations/{a['id']}", None, {"token": a["manage_token"]})

    def privacy(kind, email_fn):
        def setup():
            return ("POST", "/api/v1/privacy/confirm", {"token": f.privacy_token(email_fn(), kind)}, {})
        return setup

    def erase_email():
        f.n += 1
        email = f"erase-{f.run}-{f.n}@probe.example"
        f.business_with_50(email)
        return email

    def get(path, admin=False):
        return lambda: ("GET", path, None, {"admin": admin})

    w = f.webinar
    return [
        ("events_list", get("/api/v1/events")),
        ("events_list_state", get("/api/v1/events?state=TX")),
        ("events_search", get("/api/v1/events?q=financing")),
        ("event_get", get(f"/api/v1/events/{f.probe}")),
        ("register", register),
        ("cancel_promote", cancel_with_promotion),
        ("registrants_first", get(f"/api/v1/admin/events/{w}/registrations", True)),
        ("registrants_deep", get(f"/api/v1/admin/events/{w}/registrations?cursor={q(f.deep_cursor)}", True)),
        ("registrants_csv", get(f"/api/v1/admin/events/{w}/registrations?format=csv", True)),
        ("small_registrants_first", get(f"/api/v1/admin/events/{f.small}/registrations", True)),
        ("small_registrants_csv", get(f"/api/v1/admin/events/{f.small}/registrations?format=csv", True)),
        ("report_states", get("/api/v1/admin/reports/states", True)),
        ("report_organizations", get("/api/v1/admin/reports/organizations", True)),
        ("outbox_list", get("/api/v1/admin/outbox", True)),
        ("outbox_list_sent", get("/api/v1/admin/outbox?status=sent", True)),
        ("outbox_stats", get("/api/v1/admin/outbox/stats", True)),
        ("audit_object", get(f"/api/v1/admin/audit?object_type=event&object_id={f.probe}", True)),
        ("audit_recent", get("/api/v1/admin/audit", True)),
        ("business_admin_get", get(f"/api/v1/admin/businesses/{f.export_business}", True)),
        ("privacy_export", privacy("export", lambda: f.export_email)),
        ("privacy_erase", privacy("erase", erase_email)),
    ]


def main():
    reps = REPS
    args = sys.argv[1:]
    if args and args[0].startswith("--reps="):
        reps = int(args.pop(0).split("=", 1)[1])
    servers = [Server(a) for a in args]
    run = datetime.now().strftime("%H%M%S")
    fixtures = [Fixture(s, run) for s in servers]
    # What the scheduler of a running process would have done by now (the measured servers run
    # without background work): fold the counters the fixtures changed. The timed calls' own
    # changes stay unfolded, as in the minute between two passes.
    fold_bin = os.environ.get("SCALE_FOLD_BIN")
    for s in servers:
        if fold_bin:
            subprocess.run([fold_bin, "fold-counters"], env={**os.environ, "DATABASE_URL": s.db_url},
                           check=True, capture_output=True, timeout=600)
    for s in servers:
        s.rss()
    plans = [calls(f) for f in fixtures]
    times = {s.label: {} for s in servers}
    sizes = {s.label: {} for s in servers}
    for ci in range(len(plans[0])):
        name = plans[0][ci][0]
        n = max(3, reps // 3) if name in ("privacy_erase", "cancel_promote") else reps
        for rep in range(n):
            order = list(range(len(servers))) if rep % 2 == 0 else list(reversed(range(len(servers))))
            for si in order:
                s = servers[si]
                method, path, body, opts = plans[si][ci][1]()
                status, data, ms = s.request(method, path, body, token=opts.get("token"), admin=opts.get("admin", False))
                if status not in (200, 201):
                    raise SystemExit(f"{s.label}: {name}: {method} {path} -> {status}: {data[:300]!r}")
                times[s.label].setdefault(name, []).append(ms)
                sizes[s.label][name] = len(data)
                s.rss()
    out = {"calls": [p[0] for p in plans[0]], "servers": {}}
    for s in servers:
        kb = s.rss()
        out["servers"][s.label] = {
            "rss_mb": round(kb["VmRSS"] / 1024, 1),
            "rss_peak_mb": round(kb["VmHWM"] / 1024, 1),
            "calls": {
                name: {"median_ms": round(statistics.median(v), 2),
                       "p90_ms": round(sorted(v)[int(0.9 * (len(v) - 1))], 2),
                       "n": len(v), "bytes": sizes[s.label][name]}
                for name, v in times[s.label].items()
            },
        }
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
