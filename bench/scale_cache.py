#!/usr/bin/env python3
"""Anonymous reads with varied query strings against a server whose public cache is on, and the
server's memory meanwhile (issue 13: such reads once grew the server to about 460 MB).

Used by bench/scale.sh; standard library only:

    python3 bench/scale_cache.py BASE_URL PID [--requests=N] [--clients=C] [--seconds=S]

Each request is a public list or event page that no earlier request asked for in the same form:
lists by state, kind and topic from a random date (full pages of 50), searches for random words,
pages of random seeded events (seed ids of bench/seed_scale.sql), and unknown parameters that the
cache key keeps. Stops after N requests or S seconds, whichever comes first. Prints one JSON
object: requests by status, distinct query strings, throughput, RSS (MB) before, at its peak
while reading (sampled every 100 ms from /proc) and after.
"""
import hashlib
import http.client
import json
import random
import sys
import threading
import time
import urllib.parse
import uuid
from datetime import datetime, timedelta, timezone

STATES = ["AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "DC", "FL", "GA", "HI", "ID", "IL", "IN", "IA", "KS",
          "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM", "NY", "NC",
          "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT", "VA", "WA", "WV", "WI", "WY"]
TOPICS = ["analytics", "e-commerce", "community", "advertising", "messaging", "content", "page-setup", "privacy"]
WORDS = ["financing", "export", "hiring", "marketing", "roadshow", "webinar", "seeded", "grants", "taxes"]


def seed_id(kind, n):
    return str(uuid.UUID(hashlib.md5(f"seed-{kind}-{n}".encode()).hexdigest()))


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def path(rng, n):
    """The n-th request: a form no earlier request used (n is in each one somewhere)."""
    kind = n % 4
    if kind == 0:
        day = datetime(2026, 1, 1, tzinfo=timezone.utc) + timedelta(minutes=n)
        q = {"state": rng.choice(STATES), "from": day.strftime("%Y-%m-%dT%H:%M:%SZ"), "limit": "50"}
        if n % 3 == 0:
            q["topic"] = rng.choice(TOPICS)
        return "/api/v1/events?" + urllib.parse.urlencode(q)
    if kind == 1:
        day = datetime(2025, 6, 1, tzinfo=timezone.utc) + timedelta(minutes=7 * n)
        return "/api/v1/events?" + urllib.parse.urlencode({"from": day.strftime("%Y-%m-%dT%H:%M:%SZ"), "limit": "50"})
    if kind == 2:
        return "/api/v1/events?" + urllib.parse.urlencode({"q": f"{rng.choice(WORDS)} {n}"})
    return f"/api/v1/events/{seed_id('event', 1 + n % 5000)}?utm_source=bench{n}"


def main():
    base, pid = sys.argv[1], int(sys.argv[2])
    opts = dict(a[2:].split("=", 1) for a in sys.argv[3:])
    total, clients, seconds = int(opts.get("requests", 20000)), int(opts.get("clients", 8)), float(opts.get("seconds", 120))
    u = urllib.parse.urlparse(base)
    before = rss_kb(pid)
    peak = [before]
    statuses = {}
    counter = [0]
    lock = threading.Lock()
    stop = time.monotonic() + seconds
    done = threading.Event()

    def sampler():
        while not done.is_set():
            peak[0] = max(peak[0], rss_kb(pid))
            time.sleep(0.1)

    def client(seed):
        rng = random.Random(seed)
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
        while time.monotonic() < stop:
            with lock:
                n = counter[0]
                if n >= total:
                    return
                counter[0] += 1
            try:
                conn.request("GET", path(rng, n))
                res = conn.getresponse()
                res.read()
                status = res.status
            except (http.client.HTTPException, ConnectionError):
                conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
                status = "error"
            with lock:
                statuses[str(status)] = statuses.get(str(status), 0) + 1

    t = threading.Thread(target=sampler, daemon=True)
    t.start()
    started = time.monotonic()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    took = time.monotonic() - started
    done.set()
    t.join()
    time.sleep(2)  # entries expire after a second: what stays is what the allocator keeps
    after = rss_kb(pid)
    n = sum(statuses.values())
    print(json.dumps({
        "requests": n, "by_status": statuses, "distinct_query_strings": n, "seconds": round(took, 1),
        "per_second": round(n / took, 1) if took else None,
        "rss_mb": {"before": round(before / 1024, 1), "peak": round(max(peak[0], after) / 1024, 1),
                   "after": round(after / 1024, 1)},
    }))


if __name__ == "__main__":
    main()
