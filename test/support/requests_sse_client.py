"""A python requests-sse client (the library pywikibot's EventStreams is built on), driven by tests.

Usage: requests_sse_client.py URL COUNT
Prints one JSON line per answered connection attempt ({"connect": <Last-Event-Id sent or null>, "status": <HTTP status>}) and per
message event ({"meta": ..., "id": <its last event id>}); exits after COUNT messages.
"""
import json
import sys
from datetime import timedelta

import requests
from requests_sse import EventSource

url, count = sys.argv[1], int(sys.argv[2])  # 0: until killed
session = requests.Session()
session.hooks["response"].append(lambda r, *args, **kwargs: print(json.dumps({"connect": r.request.headers.get("Last-Event-Id"), "status": r.status_code}), flush=True))
received = 0
with EventSource(url, session=session, reconnection_time=timedelta(milliseconds=100), timeout=30) as source:
    for event in source:
        if event.type == "message" and event.data:
            print(json.dumps({"meta": json.loads(event.data)["meta"], "id": event.last_event_id}), flush=True)
            received += 1
            if count and received >= count:
                break
