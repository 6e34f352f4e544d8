#!/usr/bin/env python3
"""The national-scale calls that read many rows, on an empty and a seeded SQLite database at once.

Used by bench/scale_sqlite.sh; standard library only. Servers are given as
LABEL=BASE_URL,TOKEN,PID,DATABASE_URL.
Builds the same fixture on both through the API (60 published roadshow stops in TX with
"Financing" in their titles, so the lists answer a full page on both; a webinar with 120
registrants), then times each call REPS times, the servers interleaved call by call, and prints
one JSON object: per label and call the median and p90 in ms and the bytes, and the servers' RSS.
On the seeded database the registrant list reads the seeded 20,000-registrant webinar
(`5eed0004-0000-4000-8000-000000000001`, bench/seed_scale_sqlite.sql).
"""
import http.client
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.parse
from datetime import datetime, timedelta, timezone

SEEDED_WEBINAR = "5eed0004-0000-4000-8000-000000000001"


class Server:
    def __init__(self, spec):
        label, rest = spec.split("=", 1)
        base, self.token, pid, self.db_url = rest.split(",")
        self.label, self.pid = label, int(pid)
        u = urllib.parse.urlparse(base)
        self.conn = http.client.HTTPConnection(u.hostname, u.port, timeout=120)
        self.peak_kb = 0

    def request(self, method, path, body=None, admin=False):
        headers = {"content-type": "application/json"} if body is not None else {}
        if admin:
            headers["authorization"] = f"Bearer {self.token}"
        t = time.perf_counter()
        self.conn.request(method, path, body=None if body is None else json.dumps(body), headers=headers)
        res = self.conn.getresponse()
        data = res.read()
        return res.status, data, (time.perf_counter() - t) * 1000

    def ok(self, method, path, body=None, admin=False):
        status, data, _ = self.request(method, path, body, admin)
        if status not in (200, 201):
            raise SystemExit(f"{self.label}: {method} {path} -> {status}: {data[:300]!r}")
        return json.loads(data)

    def rss_kb(self):
        with open(f"/proc/{self.pid}/status") as f:
            kb = {k: int(v.split()[0]) for k, _, v in (line.partition(":") for line in f) if k in ("VmRSS", "VmHWM")}
        self.peak_kb = max(self.peak_kb, kb["VmHWM"])
        return kb["VmRSS"]


def iso(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def event_body(title, capacity, days, **extra):
    s = datetime.now(timezone.utc) + timedelta(days=days)
    body = {"kind": "webinar", "title": title, "description": "Scale benchmark probe", "starts_at": iso(s),
            "ends_at": iso(s + timedelta(hours=1)), "time_zone": "America/Chicago", "capacity": capacity,
            "join_url": "https://webinar.example.com/j/probe", "topics": ["analytics"]}
    body.update(extra)
    return body


def fixture(s, run):
    venue = s.ok("POST", "/api/v1/admin/venues", {"name": f"Scale Hall {run}", "address": "1 Main St", "city": "Austin",
                                                  "state": "TX", "time_zone": "America/Chicago"}, admin=True)["id"]
    for i in range(60):
        body = event_body(f"Financing stop {run} {i}", 200, 2 + i, kind="roadshow_stop", venue_id=venue)
        del body["join_url"]
        e = s.ok("POST", "/api/v1/admin/events", body, admin=True)
        s.ok("POST", f"/api/v1/admin/events/{e['id']}/publish", {}, admin=True)
    small = s.ok("POST", "/api/v1/admin/events", event_body(f"Scale webinar {run}", 1000, 30), admin=True)["id"]
    s.ok("POST", f"/api/v1/admin/events/{small}/publish", {}, admin=True)
    for i in range(120):
        s.ok("POST", f"/api/v1/events/{small}/registrations", {
            "business": {"name": f"Probe Shop {run} {i}", "email": f"p{run}-{i}@probe.example", "state": "TX",
                         "industry": "retail", "employees": "2-9"},
            "attendee": {"name": f"Probe {i}", "email": f"a{run}-{i}@probe.example"}, "marketing_consent": False})
    status, _, _ = s.request("GET", f"/api/v1/admin/events/{SEEDED_WEBINAR}", admin=True)
    return {"small": small, "webinar": SEEDED_WEBINAR if status == 200 else small}


def main():
    reps = 15
    specs = []
    for a in sys.argv[1:]:
        if a.startswith("--reps="):
            reps = int(a.split("=", 1)[1])
        else:
            specs.append(a)
    servers = [Server(a) for a in specs]
    run = str(int(time.time()))
    fx = {s.label: fixture(s, run) for s in servers}
    # What a running scheduler would have done by now (the servers run without background work):
    # fold the counters the fixture changed.
    fold_bin = os.environ.get("SCALE_FOLD_BIN")
    for s in servers:
        if fold_bin:
            subprocess.run([fold_bin, "fold-counters"], env={**os.environ, "DATABASE_URL": s.db_url},
                           check=True, capture_output=True, timeout=600)
    calls = {
        "events_list": lambda f: ("/api/v1/events", False),
        "events_list_state": lambda f: ("/api/v1/events?state=TX", False),
        "events_search": lambda f: ("/api/v1/events?q=financing", False),
        "event_get": lambda f: (f"/api/v1/events/{f['small']}", False),
        "registrants_first": lambda f: (f"/api/v1/admin/events/{f['webinar']}/registrations", True),
        "report_states": lambda f: ("/api/v1/admin/reports/states", True),
        "report_organizations": lambda f: ("/api/v1/admin/reports/organizations", True),
        "outbox_list": lambda f: ("/api/v1/admin/outbox", True),
        "outbox_stats": lambda f: ("/api/v1/admin/outbox/stats", True),
        "audit_recent": lambda f: ("/api/v1/admin/audit", True),
    }
    out = {"reps": reps, "calls": list(calls), "servers": {s.label: {"calls": {}} for s in servers}}
    for name, call in calls.items():
        times = {s.label: [] for s in servers}
        size = {}
        for _ in range(reps):
            for s in servers:
                path, admin = call(fx[s.label])
                status, data, ms = s.request("GET", path, admin=admin)
                if status != 200:
                    raise SystemExit(f"{s.label}: GET {path} -> {status}: {data[:300]!r}")
                times[s.label].append(ms)
                size[s.label] = len(data)
                s.rss_kb()
        for s in servers:
            t = sorted(times[s.label])
            out["servers"][s.label]["calls"][name] = {
                "median_ms": round(statistics.median(t), 2), "p90_ms": round(t[int(len(t) * 0.9) - 1], 2),
                "bytes": size[s.label]}
    for s in servers:
        out["servers"][s.label]["rss_mb"] = round(s.rss_kb() / 1024, 1)
        out["servers"][s.label]["rss_peak_mb"] = round(s.peak_kb / 1024, 1)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
