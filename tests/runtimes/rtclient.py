#!/usr/bin/python3
"""Loopback clients for tests/integration/t_runtimes.sh.

Every mode speaks one of four small protocols to a server on 127.0.0.1:
  line   "ping N\\n" -> "pong N\\n" (the helper servers in tests/runtimes/)
  http   keep-alive GET /, a reply with Content-Length (nginx)
  redis  PING -> +PONG (inline command)
  pg     PostgreSQL v3 startup (trust auth), then "SELECT 1" -> ReadyForQuery

Modes (all bounded in time; every wait has a deadline):
  leak   open N connections, then close them (FIN) so the server's side goes
         to CLOSE_WAIT; with --hold, half-close (SHUT_WR) without reading and
         keep the sockets open until killed (a back-pressured server)
  idle   open N connections, one request each, then sit idle and record how
         each one ends: eof (FIN), reset (RST), data, or open
  wave   --waves W rounds of N connections that each send a request and read
         the full reply. The first round (it takes the lowest free fd numbers
         in the server) stays connected: the ready file is written, it is kept
         busy (a request every --interval ms) until --active-until (epoch
         seconds) has passed and --go FILE is there, if --active-until is
         given; the other rounds run (each closed after its request), then
         after --go FILE appears one more request on each connection of the
         first round: one that fails was cut
Reports are JSON files written atomically (write + rename).
"""
import argparse
import errno
import json
import os
import selectors
import signal
import socket
import struct
import sys
import time


def write_json(path, obj):
    tmp = "%s.tmp.%d" % (path, os.getpid())
    with open(tmp, "w") as f:
        json.dump(obj, f)
        f.write("\n")
    os.rename(tmp, path)


# --- protocols: request bytes and "is this reply complete?" ---------------

def pg_startup():
    body = struct.pack("!I", 196608)
    for k, v in (("user", "postgres"), ("database", "postgres"),
                 ("application_name", "rtclient")):
        body += k.encode() + b"\0" + v.encode() + b"\0"
    body += b"\0"
    return struct.pack("!I", len(body) + 4) + body


def pg_query(q):
    b = q.encode() + b"\0"
    return b"Q" + struct.pack("!I", len(b) + 4) + b


def pg_complete(buf):
    """True once a ReadyForQuery ('Z') message has arrived; raises on 'E'."""
    i = 0
    while i + 5 <= len(buf):
        t = buf[i:i + 1]
        n = struct.unpack("!I", buf[i + 1:i + 5])[0]
        if i + 1 + n > len(buf):
            return False
        if t == b"E":
            raise ConnectionError("server error: %r" % buf[i + 5:i + 1 + n])
        if t == b"Z":
            return True
        i += 1 + n
    return False


def http_complete(buf):
    h = buf.find(b"\r\n\r\n")
    if h < 0:
        return False
    clen = None
    for line in buf[:h].split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            clen = int(v.strip())
    if clen is None:
        raise ConnectionError("reply without Content-Length")
    return len(buf) >= h + 4 + clen


class Proto:
    def __init__(self, name):
        self.name = name
        self.seq = 0

    def first(self):
        """Bytes and check for the connection's opening exchange, or None."""
        if self.name == "pg":
            return pg_startup(), pg_complete
        return None

    def request(self):
        self.seq += 1
        n = self.seq
        if self.name == "line":
            want = b"pong %d\n" % n
            return b"ping %d\n" % n, lambda b: b.endswith(b"\n") and check_eq(b, want)
        if self.name == "http":
            return (b"GET / HTTP/1.1\r\nHost: rt\r\nConnection: keep-alive\r\n\r\n",
                    http_complete)
        if self.name == "redis":
            return b"PING\r\n", lambda b: b.endswith(b"\r\n") and check_eq(b, b"+PONG\r\n")
        if self.name == "pg":
            return pg_query("SELECT %d" % n), pg_complete
        raise ValueError(self.name)


def check_eq(got, want):
    if got != want:
        raise ConnectionError("unexpected reply %r (wanted %r)" % (got[:80], want))
    return True


def classify(e):
    if isinstance(e, ConnectionResetError):
        return "reset"
    if isinstance(e, socket.timeout) or isinstance(e, TimeoutError):
        return "timeout"
    if isinstance(e, EOFError):
        return "eof"
    return "error: %s" % e


def exchange(socks, msgs, deadline):
    """Send msgs[i] = (bytes, complete) on socks[i] concurrently and read
    until each reply is complete. Returns a list: None (served) or a reason."""
    sel = selectors.DefaultSelector()
    res = [None] * len(socks)
    bufs = [b""] * len(socks)
    pending = set()
    for i, (s, (req, _)) in enumerate(zip(socks, msgs)):
        if s is None:
            res[i] = "not connected"
            continue
        try:
            s.setblocking(True)
            s.settimeout(max(0.1, deadline - time.monotonic()))
            s.sendall(req)
            s.setblocking(False)
            sel.register(s, selectors.EVENT_READ, i)
            pending.add(i)
        except OSError as e:
            res[i] = "send: " + classify(e)
    while pending:
        left = deadline - time.monotonic()
        if left <= 0:
            for i in pending:
                res[i] = "timeout (no full reply)"
            break
        for key, _ in sel.select(min(left, 0.5)):
            i = key.data
            try:
                d = socks[i].recv(65536)
                if not d:
                    raise EOFError()
                bufs[i] += d
                if msgs[i][1](bufs[i]):
                    pending.discard(i)
                    sel.unregister(socks[i])
            except (OSError, EOFError, ConnectionError) as e:
                res[i] = classify(e)
                pending.discard(i)
                sel.unregister(socks[i])
    sel.close()
    for s in socks:
        if s is not None:
            s.setblocking(True)
    return res


def connect_all(port, n, timeout):
    socks, errs = [], []
    for _ in range(n):
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
            socks.append(s)
            errs.append(None)
        except OSError as e:
            socks.append(None)
            errs.append("connect: " + classify(e))
    return socks, errs


def open_session(proto, port, n, deadline):
    """Connect n sockets, run the opening exchange (pg) and one request.
    Returns (socks, [None or reason])."""
    socks, errs = connect_all(port, n, max(1.0, deadline - time.monotonic()))
    first = proto.first()
    if first is not None:
        r = exchange(socks, [first] * n, deadline)
        errs = [e or f for e, f in zip(errs, r)]
    msgs = [proto.request()] * n
    r = exchange([s if e is None else None for s, e in zip(socks, errs)], msgs, deadline)
    errs = [e or f for e, f in zip(errs, r)]
    return socks, errs


def wait_file(path, deadline):
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def port_of(s):
    return s.getsockname()[1] if s is not None else None


# --- modes -----------------------------------------------------------------

def mode_leak(a):
    deadline = time.monotonic() + a.timeout
    socks, errs = connect_all(a.port, a.n, a.timeout)
    if any(errs):
        sys.exit("leak: %s" % errs)
    ports = [port_of(s) for s in socks]
    if a.send:
        for s in socks:
            s.sendall(a.send.encode() + b"\n")
    if not a.hold:
        for s in socks:
            s.close()
        write_json(a.ready, {"ports": ports})
        return
    # Back-pressure: wait until the server has started sending (so it has a
    # pending write), half-close and never read.
    sel = selectors.DefaultSelector()
    for s in socks:
        sel.register(s, selectors.EVENT_READ)
    waiting = set(socks)
    while waiting:
        if time.monotonic() > deadline:
            sys.exit("leak --hold: the server sent nothing on %d sockets" % len(waiting))
        for key, _ in sel.select(0.5):
            waiting.discard(key.fileobj)
            sel.unregister(key.fileobj)
    for s in socks:
        if a.send_bytes:
            s.sendall(b"y" * a.send_bytes)
        s.shutdown(socket.SHUT_WR)
    write_json(a.ready, {"ports": ports})
    end = time.monotonic() + a.max_hold
    while time.monotonic() < end:
        time.sleep(1)


def mode_idle(a):
    proto = Proto(a.proto)
    deadline = time.monotonic() + a.timeout
    socks, errs = open_session(proto, a.port, a.n, deadline)
    if any(errs):
        sys.exit("idle: the first request failed: %s" % errs)
    ports = [port_of(s) for s in socks]
    ends = {str(p): "open" for p in ports}
    stop = {"now": False}
    signal.signal(signal.SIGTERM, lambda *_: stop.update(now=True))
    write_json(a.report, {"ports": ports, "ends": ends})
    write_json(a.ready, {"ports": ports, "time": time.time()})
    sel = selectors.DefaultSelector()
    for s in socks:
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
    end = time.monotonic() + a.max_wait
    left = len(socks)
    while left and not stop["now"] and time.monotonic() < end:
        for key, _ in sel.select(0.5):
            s = key.fileobj
            p = str(port_of(s))
            try:
                d = s.recv(65536)
                ends[p] = "data" if d else "eof"
            except ConnectionResetError:
                ends[p] = "reset"
            except OSError as e:
                ends[p] = "error: %s" % errno.errorcode.get(e.errno, e.errno)
            sel.unregister(s)
            left -= 1
            write_json(a.report, {"ports": ports, "ends": ends})
    write_json(a.report, {"ports": ports, "ends": ends, "finished": True})


def mode_wave(a):
    proto = Proto(a.proto)
    t0 = time.monotonic()
    failures = []
    served = [0]

    def one_wave(w):
        socks, errs = open_session(proto, a.port, a.n, time.monotonic() + a.timeout)
        for s, e in zip(socks, errs):
            if e is None:
                served[0] += 1
            else:
                failures.append({"wave": w, "port": port_of(s), "phase": "first", "why": e})
        return socks, errs

    def requests(final, rnd):
        idx = [i for i, s in enumerate(live) if s is not None]
        r = exchange([live[i] for i in idx], [proto.request()] * len(idx),
                     time.monotonic() + a.timeout)
        for i, e in zip(idx, r):
            if e is not None:
                failures.append({"wave": 0, "port": port_of(live[i]),
                                 "phase": "last" if final else "busy", "round": rnd, "why": e})
                live[i].close()
                live[i] = None

    # The first wave takes the lowest free fd numbers in the server and stays.
    socks, errs = one_wave(0)
    live = [s if e is None else None for s, e in zip(socks, errs)]
    kept_ok = sum(1 for s in live if s is not None)
    write_json(a.ready, {"served": served[0], "n": a.n, "ports": [port_of(s) for s in socks]})
    # With --active-until, keep it busy (a request every --interval ms)
    # until that time has passed and the go file is there: a server's own
    # idle timeout must never end these connections.
    rounds = 0
    go_end = time.monotonic() + a.go_timeout
    while a.active_until and (time.time() < a.active_until or
                              (a.go and not os.path.exists(a.go) and time.monotonic() < go_end)):
        time.sleep(a.interval / 1000.0)
        requests(False, rounds)
        rounds += 1
    # More waves, each closed after its request.
    for w in range(1, a.waves):
        socks, _ = one_wave(w)
        for s in socks:
            if s is not None:
                s.close()
    if a.go and not wait_file(a.go, time.monotonic() + a.go_timeout):
        failures.append({"phase": "go", "why": "no go file"})
    requests(True, rounds)
    result = {"total": a.waves * a.n, "served_first": served[0], "kept": a.n,
              "kept_served_first": kept_ok, "served_kept": sum(1 for s in live if s is not None),
              "busy_rounds": rounds, "failures": failures,
              "elapsed_s": round(time.monotonic() - t0, 3)}
    write_json(a.report, result)
    for s in live:
        if s is not None:
            s.close()


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="mode", required=True)
    for name in ("leak", "idle", "wave"):
        p = sub.add_parser(name)
        p.add_argument("--port", type=int, required=True)
        p.add_argument("--n", type=int, required=True)
        p.add_argument("--ready", required=True)
        p.add_argument("--timeout", type=float, default=10.0)
        p.add_argument("--proto", default="line", choices=["line", "http", "redis", "pg"])
        if name == "leak":
            p.add_argument("--send", default="")
            p.add_argument("--hold", action="store_true")
            p.add_argument("--send-bytes", type=int, default=0)
            p.add_argument("--max-hold", type=float, default=300.0)
        if name == "idle":
            p.add_argument("--report", required=True)
            p.add_argument("--max-wait", type=float, default=120.0)
        if name == "wave":
            p.add_argument("--report", required=True)
            p.add_argument("--waves", type=int, default=1)
            p.add_argument("--go", default="")
            p.add_argument("--go-timeout", type=float, default=120.0)
            p.add_argument("--active-until", type=float, default=0.0)
            p.add_argument("--interval", type=float, default=100.0)
    a = ap.parse_args()
    {"leak": mode_leak, "idle": mode_idle, "wave": mode_wave}[a.mode](a)


if __name__ == "__main__":
    main()
