#!/usr/bin/env python3
"""Stand-in TCP targets for tools/blackbox/blackbox_rate.sh.

Binds COUNT listeners on 127.2.X.Y:PORT (target index i -> X = i // 250,
Y = i % 250 + 1, the same mapping the wrk Lua script uses), starting at index
FIRST, and accepts and immediately closes every connection (what a
`tcp_connect` probe needs). With --echo it instead echoes until the peer closes.

Uses asyncio with raw non-blocking listening sockets (loop.add_reader) so that
accepting costs as little Python as possible. Raises RLIMIT_NOFILE to the hard
limit; the caller must keep COUNT below it (spread over several processes).
Prints "READY <count>" on stdout once every socket is listening.

    python3 listeners.py --first 0 --count 5000 [--port 7500] [--echo]
"""
import argparse
import asyncio
import resource
import signal
import socket
import sys


def addr(i: int) -> str:
    return f"127.2.{i // 250}.{i % 250 + 1}"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--first", type=int, default=0)
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--port", type=int, default=7500)
    ap.add_argument("--backlog", type=int, default=512)
    ap.add_argument("--echo", action="store_true")
    a = ap.parse_args()

    if a.first + a.count > 256 * 250:
        print("too many targets for 127.2.0.0/16 mapping", file=sys.stderr)
        return 2
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if a.count + 64 > hard:
        print(f"need {a.count + 64} fds, hard limit is {hard}", file=sys.stderr)
        return 2

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    socks = []
    accepted = 0

    async def echo(conn: socket.socket) -> None:
        try:
            while True:
                data = await loop.sock_recv(conn, 4096)
                if not data:
                    break
                await loop.sock_sendall(conn, data)
        except OSError:
            pass
        finally:
            conn.close()

    def on_readable(ls: socket.socket) -> None:
        nonlocal accepted
        while True:
            try:
                conn, _ = ls.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:  # e.g. EMFILE under overload: drop and retry later
                return
            accepted += 1
            if a.echo:
                conn.setblocking(False)
                loop.create_task(echo(conn))
            else:
                conn.close()

    for i in range(a.first, a.first + a.count):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((addr(i), a.port))
        s.listen(a.backlog)
        s.setblocking(False)
        loop.add_reader(s.fileno(), on_readable, s)
        socks.append(s)

    stop = loop.create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))
    print(f"READY {len(socks)}", flush=True)
    loop.run_until_complete(stop)
    print(f"accepted {accepted}", flush=True)
    for s in socks:
        s.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
