#!/usr/bin/env python3
"""Raw-socket probe for cross-connection ordering, the flows the framework suites' "right
after" checks exercise, without any client library in between:

  1. connection A (already past a PING round trip) sends SUBSCRIBE ch and does not wait;
     connection B sends PUBLISH ch at once: the answer must be :1;
  2. A closes; B sends PUBSUB NUMSUB ch at once: the count must be 0.

Each round starts from an idle server (5 ms pause), as redis-server only keeps arrival
order across connections then (see README). Standard library only.

    python3 tests/clients/python/order_probe.py PORT [ROUNDS]

Prints one line per flow with the rounds that went wrong and the bytes B received;
exits 1 if any did.
"""

import socket
import sys
import time


def conn(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def cmd(*args):
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args)


def readline(s):
    buf = b""
    while not buf.endswith(b"\r\n"):
        c = s.recv(1)
        if not c:
            raise ConnectionError(f"closed after {buf!r}")
        buf += c
    return buf


def main():
    port = int(sys.argv[1])
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    b = conn(port)
    bad_pub, bad_numsub = [], []
    for i in range(rounds):
        ch = b"probe.%d" % i
        a = conn(port)
        a.sendall(cmd(b"PING"))
        assert readline(a) == b"+PONG\r\n"
        time.sleep(0.005)
        a.sendall(cmd(b"SUBSCRIBE", ch))
        b.sendall(cmd(b"PUBLISH", ch, b"x"))
        got = readline(b)
        if got != b":1\r\n":
            bad_pub.append((i, got))
        time.sleep(0.005)
        a.close()
        b.sendall(cmd(b"PUBSUB", b"NUMSUB", ch))
        got = b"".join(readline(b) for _ in range(4))  # *2 $N ch :count
        if not got.endswith(b":0\r\n"):
            bad_numsub.append((i, got))
    print(f"PUBLISH right after another connection's SUBSCRIBE: {len(bad_pub)} of {rounds} not :1 "
          f"{bad_pub[:3]}")
    print(f"PUBSUB NUMSUB right after the subscriber closed: {len(bad_numsub)} of {rounds} not 0 "
          f"{bad_numsub[:3]}")
    sys.exit(1 if bad_pub or bad_numsub else 0)


if __name__ == "__main__":
    main()
