"""The example app of deploy/docker-compose.yml: a redis-py program that knows nothing
about respub. It subscribes to a channel and publishes to it, and checks that each
message comes back, the way a cache-invalidation or chat fan-out would use Redis.

Environment: REDIS_URL (default redis://redis:6379/0, the compose service name),
CHANNEL (default "news"), COUNT (messages to send; 0, the default, runs until stopped),
INTERVAL (seconds between messages, default 1). Exits 1 if a message does not come back
within 5 s. tests/deploy runs it against respub and against redis-server.
"""

import os
import sys
import time

import redis

URL = os.environ.get("REDIS_URL", "redis://redis:6379/0")
CHANNEL = os.environ.get("CHANNEL", "news")
COUNT = int(os.environ.get("COUNT", "0"))
INTERVAL = float(os.environ.get("INTERVAL", "1"))
WAIT = 5.0


def next_message(sub, kind):
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        m = sub.get_message(timeout=deadline - time.monotonic())
        if m is not None and m["type"] == kind:
            return m
    sys.exit(f"app: no {kind} on {CHANNEL!r} within {WAIT} s")


def main():
    client = redis.Redis.from_url(URL)
    sub = client.pubsub()
    sub.subscribe(CHANNEL)
    next_message(sub, "subscribe")
    print(f"app: subscribed to {CHANNEL!r} at {client.connection_pool.connection_kwargs['host']}", flush=True)
    sent = 0
    while COUNT == 0 or sent < COUNT:
        sent += 1
        payload = f"hello {sent}"
        receivers = client.publish(CHANNEL, payload)
        got = next_message(sub, "message")["data"].decode()
        print(f"app: published {payload!r} to {receivers} subscriber(s), received {got!r}", flush=True)
        if got != payload:
            sys.exit(f"app: expected {payload!r}")
        if COUNT == 0 or sent < COUNT:
            time.sleep(INTERVAL)
    sub.close()
    client.close()
    print(f"app: {sent} messages went round", flush=True)


if __name__ == "__main__":
    main()
