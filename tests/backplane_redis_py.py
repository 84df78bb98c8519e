"""redis-py against two respub nodes joined by the NATS backplane (tests/backplane.rs).

Subscribes (a channel and a pattern) on node A, publishes on node C, and checks that
every message arrives once per subscription, in order, and that PUBSUB NUMSUB asked on
C counts the subscriber on A. Usage: backplane_redis_py.py PORT_A PORT_C
"""

import sys
import time

import redis

port_a, port_c = int(sys.argv[1]), int(sys.argv[2])
a = redis.Redis(port=port_a)
c = redis.Redis(port=port_c)
p = a.pubsub()
p.subscribe("orders")
p.psubscribe("ord*")
for _ in range(2):
    m = p.get_message(timeout=5)
    assert m and m["type"] in ("subscribe", "psubscribe"), m


def next_message(timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        m = p.get_message(timeout=deadline - time.monotonic())
        if m is not None:
            return m
    return None


# The subscription crosses to C's NATS server a moment after its confirmation: probe
# until one arrives, then a fence, after which the stream holds only what follows.
deadline = time.monotonic() + 15
while True:
    assert time.monotonic() < deadline, "the subscription on A never saw C's messages"
    c.publish("orders", "probe")
    m = p.get_message(timeout=0.1)
    if m is not None:
        break
c.publish("orders", "fence")
fences = 0
while fences < 2:
    m = next_message()
    assert m is not None, "fence never arrived"
    if m["data"] == b"fence":
        fences += 1

N = 50
for i in range(N):
    # C's own count: no subscriber there (as Redis Cluster counts).
    assert c.publish("orders", f"order-{i}") == 0
got = {"message": [], "pmessage": []}
while len(got["message"]) < N or len(got["pmessage"]) < N:
    m = next_message()
    assert m is not None, f"missing messages: {len(got['message'])} {len(got['pmessage'])}"
    got[m["type"]].append(m["data"].decode())
want = [f"order-{i}" for i in range(N)]
assert got["message"] == want, got["message"]
assert got["pmessage"] == want, got["pmessage"]

assert c.pubsub_numsub("orders") == [(b"orders", 1)], c.pubsub_numsub("orders")
assert c.pubsub_numpat() == 1
p.close()
print(f"redis-py backplane: ok ({N} messages x 2 subscriptions, A<-C, NUMSUB from C = 1)")
