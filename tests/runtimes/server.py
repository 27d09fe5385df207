#!/usr/bin/python3
"""A small asyncio server for tests/integration/t_runtimes.sh.

Three listeners on 127.0.0.1, ephemeral ports, written to the ready file:
  serve     line protocol: "ping N\\n" -> "pong N\\n", the connection stays up
  bp        back-pressure: writes 8 MiB at once (asyncio keeps the rest in
            the transport's buffer and a writer on the fd in the selector);
            eof_received() keeps the transport: CLOSE_WAIT with a selector key
  halfopen  eof_received() keeps the transport (its reader is removed, the
            selector has no key): CLOSE_WAIT held by a transport/protocol
            reference cycle that only the GC can free
The automatic GC is off, so collection happens when the test says so.
Commands on stdin, one per line, each answered "ack CMD ..." on stdout:
  drop    forget the half-open connections, then gc.collect(): the
          transports' __del__ closes their sockets (after an "unclosed
          transport" ResourceWarning, as in any program that leaks them)
  gc      gc.collect()
Errors the event loop reports go to stdout as "LOOP-EXCEPTION ...".
"""
import asyncio
import gc
import json
import os
import sys
import time
import warnings


def log(*a):
    print(time.strftime("%H:%M:%S"), *a, flush=True)


class Serve(asyncio.Protocol):
    def connection_made(self, transport):
        self.t = transport
        self.buf = b""

    def data_received(self, data):
        self.buf += data
        while b"\n" in self.buf:
            line, self.buf = self.buf.split(b"\n", 1)
            if line.startswith(b"ping "):
                self.t.write(b"pong " + line[5:] + b"\n")
            else:
                self.t.write(b"error\n")


BP = []
HALFOPEN = []


class BackPressure(asyncio.Protocol):
    def connection_made(self, transport):
        self.t = transport
        self.fd = transport.get_extra_info("socket").fileno()
        transport.write(b"x" * (8 << 20))
        BP.append(self)
        log("bp writing fd", self.fd, "buffered", transport.get_write_buffer_size())

    def data_received(self, data):
        pass

    def eof_received(self):
        log("bp eof fd", self.fd)
        return True

    def connection_lost(self, exc):
        log("bp lost fd", self.fd, repr(exc))


class HalfOpen(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport  # transport <-> protocol: a cycle
        self.fd = transport.get_extra_info("socket").fileno()
        HALFOPEN.append(self)

    def eof_received(self):
        log("halfopen eof fd", self.fd)
        return True

    def connection_lost(self, exc):
        log("halfopen lost fd", self.fd, repr(exc))


def on_exception(loop, ctx):
    log("LOOP-EXCEPTION", ctx.get("message"), repr(ctx.get("exception")))


async def main():
    ready = sys.argv[sys.argv.index("--ready") + 1]
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(on_exception)
    servers = {}
    for name, proto in (("serve", Serve), ("bp", BackPressure), ("halfopen", HalfOpen)):
        servers[name] = await loop.create_server(proto, "127.0.0.1", 0)

    pending = [b""]

    def command():
        data = os.read(0, 4096)
        if not data:
            loop.remove_reader(0)
            return
        pending[0] += data
        while b"\n" in pending[0]:
            line, pending[0] = pending[0].split(b"\n", 1)
            run(line.decode().strip())

    def run(cmd):
        if cmd == "drop":
            n = len(HALFOPEN)
            HALFOPEN.clear()
            log("ack drop", n, "collected", gc.collect())
        elif cmd == "gc":
            log("ack gc collected", gc.collect())
        elif cmd:
            log("unknown command", cmd)

    loop.add_reader(0, command)
    info = {"pid": os.getpid()}
    for name, srv in servers.items():
        info[name] = srv.sockets[0].getsockname()[1]
    with open(ready + ".tmp", "w") as f:
        json.dump(info, f)
    os.rename(ready + ".tmp", ready)
    log("ready")
    await asyncio.Event().wait()


if __name__ == "__main__":
    gc.disable()
    warnings.simplefilter("always", ResourceWarning)
    asyncio.run(main())
