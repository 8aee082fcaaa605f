"""A python sseclient client (the one in Wikimedia's EventStreams documentation example), driven by tests.

Usage: sseclient_client.py URL COUNT
Reads message events as that example does (`SSEClient(url)`, `json.loads(event.data)`) and prints one JSON line
per event: {"id": <its id>, "data": <the parsed event>}, or {"unparsed": <its data>} when the data is not one JSON
value (sseclient splits the block with str.splitlines(), so a line break inside the JSON cuts it); exits after
COUNT events. Nothing else is set: the service serves requests' own User-Agent uncompressed (sseclient reads the
raw socket), whatever its Accept-Encoding.
"""
import json
import sys

from sseclient import SSEClient

url, count = sys.argv[1], int(sys.argv[2])
received = 0
for event in SSEClient(url):
    if event.event != "message" or not event.data:
        continue
    try:
        line = {"id": event.id, "data": json.loads(event.data)}
    except ValueError:
        line = {"unparsed": event.data}
    print(json.dumps(line), flush=True)
    received += 1
    if received >= count:
        break
