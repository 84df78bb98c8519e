#!/usr/bin/env python3
"""Logging TCP proxy for diagnosing a client-suite failure: shows the exact bytes a
client library sends and what the server answers.

    python3 tests/clients/wiretap.py LISTEN_PORT SERVER_PORT [SECONDS]

then point one suite at LISTEN_PORT (CLIENTS_PORT=LISTEN_PORT ...). Lines look like
`C3> b'*2\\r\\n$5\\r\\nHELLO...'` (client 3 to server) and `S3< b'%7\\r\\n...'`.
127.0.0.1 only; exits by itself after SECONDS (default 60).
"""

import socket
import sys
import threading


def pump(src, dst, tag):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            print(tag, repr(data[:600]) + (f" ... ({len(data)} bytes)" if len(data) > 600 else ""), flush=True)
            dst.sendall(data)
    except OSError:
        pass
    finally:
        try:
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass


def main():
    listen_port, server_port = int(sys.argv[1]), int(sys.argv[2])
    seconds = float(sys.argv[3]) if len(sys.argv) > 3 else 60.0
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", listen_port))
    srv.listen(64)
    threading.Timer(seconds, lambda: sys.exit(0) or __import__("os")._exit(0)).start()
    n = 0
    while True:
        client, _ = srv.accept()
        n += 1
        upstream = socket.create_connection(("127.0.0.1", server_port), timeout=5)
        upstream.settimeout(None)
        threading.Thread(target=pump, args=(client, upstream, f"C{n}>"), daemon=True).start()
        threading.Thread(target=pump, args=(upstream, client, f"S{n}<"), daemon=True).start()


if __name__ == "__main__":
    main()
