"""A python requests-sse client (the library pywikibot's EventStreams is built on), driven by tests.

Usage: requests_sse_client.py URL COUNT [ACCEPT_ENCODING [USER_AGENT]]
Prints one JSON line per answered connection attempt ({"connect": <Last-Event-Id sent or null>, "status": <HTTP status>,
"encoding": <its Content-Encoding or null>}), one when that response's body ended ({"ended": "end"} when it was complete,
else {"ended": "<the error reading it ended with>"}: requests-sse reconnects silently either way) and one per message event
({"meta": ..., "id": <its last event id>}); exits after COUNT messages. ACCEPT_ENCODING replaces requests' default
("gzip, deflate"; urllib3 decodes both), USER_AGENT requests' own ("python-requests/..."); empty keeps the default.
"""
import json
import logging
import sys
from datetime import timedelta

import requests
from requests_sse import EventSource

url, count = sys.argv[1], int(sys.argv[2])  # 0: until killed
session = requests.Session()
if len(sys.argv) > 3 and sys.argv[3]:
    session.headers["Accept-Encoding"] = sys.argv[3]
if len(sys.argv) > 4 and sys.argv[4]:
    session.headers["User-Agent"] = sys.argv[4]


def emit(line):
    print(json.dumps(line), flush=True)


session.hooks["response"].append(
    lambda r, *args, **kwargs: emit({"connect": r.request.headers.get("Last-Event-Id"), "status": r.status_code, "encoding": r.headers.get("Content-Encoding")})
)


class BodyEnds(logging.Handler):
    """requests-sse logs (at debug) the error a body read ended with, then that it waits to reconnect."""

    error = None

    def emit(self, record):
        if record.exc_info and record.exc_info[1] is not None:
            e = record.exc_info[1]
            self.error = f"{type(e).__name__}: {e}"
        elif record.getMessage().startswith("wait") and record.getMessage().endswith("for reconnect"):
            emit({"ended": self.error or "end"})
            self.error = None


sse_log = logging.getLogger("requests_sse")
sse_log.setLevel(logging.DEBUG)
sse_log.propagate = False
sse_log.addHandler(BodyEnds())

received = 0
with EventSource(url, session=session, reconnection_time=timedelta(milliseconds=100), timeout=30) as source:
    for event in source:
        if event.type == "message" and event.data:
            emit({"meta": json.loads(event.data)["meta"], "id": event.last_event_id})
            received += 1
            if count and received >= count:
                break
