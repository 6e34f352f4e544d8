"""Registers two attendees for a published demo event through the public API and prints, as shell
assignments, the event's id, each registration's id and manage token, so schemathesis can call the manage-token
operations as those registrants (`.ci/conformance.sh`): the first for the operations that read,
the second for those that cancel or erase (which would leave the reads nothing but 404s)."""

import json
import re
import sys
import urllib.request

base, registrant_path, registrant_method = sys.argv[1:4]


def call(method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method)
    req.add_header("Accept", "application/json")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.load(resp)


# How many operations the second pass of conformance.sh (cancel and erase) has.
paths = call("GET", "/api/openapi.json")["paths"]
second_pass = sum(
    1
    for path, operations in paths.items()
    for method in operations
    if re.search(registrant_path, path) and re.search(registrant_method, method.upper())
)
print(f"second_pass_operations={second_pass}")

event = call("GET", "/api/v1/events?limit=1")["items"][0]
print(f"event_id={event['id']}")
for n, who in ((1, "casey"), (2, "robin")):
    created = call(
        "POST",
        f"/api/v1/events/{event['id']}/registrations",
        {
            "business": {"name": f"{who.title()}'s Bakery", "email": f"owner-{who}@conformance.example.org", "state": "TX"},
            "attendee": {"name": f"{who.title()} Conformance", "email": f"{who}@conformance.example.org"},
            "marketing_consent": False,
        },
    )
    print(f"registration_id_{n}={created['id']}")
    print(f"manage_token_{n}={created['manage_token']}")
