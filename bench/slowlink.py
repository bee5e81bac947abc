#!/usr/bin/env python3
"""A slow link on loopback: a TCP proxy that delays every chunk, and counts
how often the client had to wait for an answer.

usage:
  slowlink.py run   [OPTIONS] -- COMMAND [ARGS...]
  slowlink.py serve [OPTIONS] [--control PATH] [--port-file PATH]
  slowlink.py stats --control PATH [--reset]

OPTIONS:
  --target ADDR      where to forward: unix:/var/run/docker.sock (default),
                     or tcp:127.0.0.1:PORT (an sshd, a tcp engine)
  --listen ADDR      127.0.0.1:0 (default: a free port); loopback only
  --delay-ms MS      how long each chunk is held, in each direction
                     (default 25: a 50 ms round trip)
  --connect-ms MS    extra hold of a new connection's first chunk, as the
                     handshake of a real link costs (default 0; a TCP
                     connection over the link would cost one round trip)
  --lifetime S       stop after S seconds whatever happens (default 900)
  --http / --no-http parse HTTP/1.x to count requests and waves (default on;
                     turn it off for an encrypted stream such as ssh)
  --trace            print each request's start and end (ms since the proxy
                     started, connection number, request line) on stderr
  --host-format FMT  `run`: DOCKER_HOST for COMMAND, {port} replaced
                     (default tcp://127.0.0.1:{port})

`run` starts the proxy, runs COMMAND with DOCKER_HOST pointing at it, and
prints one JSON line on stderr: {"wall": s, "waves": n, "requests": n,
"connections": n, "rc": n} (wall is COMMAND's own wall time). `serve` runs
until killed or --lifetime; its control socket answers `stats` (and `reset`,
which also zeroes the counters) with the same JSON line, without wall/rc.

Each chunk read from one side is written to the other side DELAY after it
was read, in order, so a request/response exchange costs 2 x DELAY however
small it is, and requests sent together still travel together (the link is
delayed, not narrow). A new connection costs nothing extra unless
--connect-ms says so.

Waves. A request is in flight from the moment its first byte reaches the
proxy from the client until the last byte of its response has been handed
to the client (after the delay). A request may depend on every answer the
client had when it started, and on nothing else: its wave is one more than
the highest wave among those answers (1 if there were none). The number of
waves is the highest wave of any request: the sequential round trips of the
command, its critical path. Requests sent together are one wave; a request
sent after reading an answer is the next one, even while an unrelated
request of the earlier wave is still in flight. A response that never ends
(an event stream, a hijacked attach) keeps its request in flight until its
connection closes.
"""
import asyncio
import collections
import ipaddress
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time


def fail(msg):
    sys.stderr.write("slowlink.py: error: %s\n" % msg)
    sys.exit(2)


def loopback(host):
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def parse_target(s):
    if s.startswith("unix:"):
        path = s[len("unix:"):]
        return ("unix", "/" + path.lstrip("/") if path.startswith("//") else path)
    if s.startswith("tcp:"):
        host, _, port = s[len("tcp:"):].rpartition(":")
        host = host.strip("[]")
        if not loopback(host):
            fail("target %s is not on loopback; this proxy only talks to loopback" % s)
        return ("tcp", (host, int(port)))
    fail("target must be unix:PATH or tcp:HOST:PORT, not %r" % s)


def parse_listen(s):
    host, _, port = s.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    if not loopback(host):
        fail("listen address %s is not on loopback" % s)
    return host, int(port)


# --- HTTP/1.x message boundaries ---------------------------------------------


class Message:
    """Finds where HTTP/1.x messages start and end in one direction of a
    connection. feed() returns events: ("start", head) when a message's first
    byte arrives, ("end", head) when its last one has. For responses, the
    method of the matching request decides whether a body follows."""

    def __init__(self, kind, methods=None):
        self.kind = kind  # "request" or "response"
        self.methods = methods  # responses: deque of request methods, shared
        self.state = "idle"
        self.buf = b""
        self.head = None
        self.left = 0  # body bytes left (length), or chunk bytes left
        self.raw = False  # upgraded/hijacked: no more HTTP on this connection

    def feed(self, data):
        events = []
        if self.raw:
            return events
        self.buf += data
        while True:
            if self.state == "idle":
                if not self.buf:
                    return events
                self.state, self.head = "head", None
                events.append(("start", None))
            if self.state == "head":
                i = self.buf.find(b"\r\n\r\n")
                if i < 0:
                    if len(self.buf) > 1 << 20:  # not HTTP after all
                        self.raw = True
                    return events
                head, self.buf = self.buf[:i].decode("latin-1"), self.buf[i + 4:]
                if not self.begin_body(head):
                    self.state = "idle"
                    events.append(("end", self.head))
                    if self.raw:
                        return events
                continue
            if self.state == "length":
                n = min(self.left, len(self.buf))
                self.left -= n
                self.buf = self.buf[n:]
                if self.left:
                    return events
                self.state = "idle"
                events.append(("end", self.head))
                continue
            if self.state == "until-close":
                self.buf = b""
                return events
            if self.state == "chunk-size":
                i = self.buf.find(b"\r\n")
                if i < 0:
                    return events
                size = int(self.buf[:i].split(b";")[0].strip() or b"0", 16)
                self.buf = self.buf[i + 2:]
                if size == 0:
                    self.state = "trailer"
                else:
                    self.state, self.left = "chunk-data", size + 2  # data + CRLF
                continue
            if self.state == "chunk-data":
                n = min(self.left, len(self.buf))
                self.left -= n
                self.buf = self.buf[n:]
                if self.left:
                    return events
                self.state = "chunk-size"
                continue
            if self.state == "trailer":
                i = self.buf.find(b"\r\n")
                if i < 0:
                    return events
                line, self.buf = self.buf[:i], self.buf[i + 2:]
                if line == b"":
                    self.state = "idle"
                    events.append(("end", self.head))
                continue

    def begin_body(self, head):
        """Reads a message head; True if a body follows."""
        lines = head.split("\r\n")
        start = lines[0].split(" ")
        headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        self.head = {"start": lines[0], "headers": headers}
        chunked = "chunked" in headers.get("transfer-encoding", "").lower()
        length = headers.get("content-length")
        if self.kind == "request":
            self.head["method"] = start[0]
            self.head["upgrade"] = "upgrade" in headers.get("connection", "").lower()
            if self.methods is not None:
                self.methods.append(self.head)
            if chunked:
                self.state = "chunk-size"
                return True
            if length and int(length) > 0:
                self.state, self.left = "length", int(length)
                return True
            return False
        req = self.methods.popleft() if self.methods else {"method": "GET", "upgrade": False}
        try:
            status = int(start[1])
        except (IndexError, ValueError):
            status = 0
        if 100 <= status < 200 and status != 101:
            self.methods.appendleft(req)  # an interim answer; the real one follows
            self.state = "idle"
            return False
        if status == 101 or (req["upgrade"] and 200 <= status < 300 and not length and not chunked):
            self.raw = True  # hijacked: the request is answered, raw bytes follow
            return False
        if req["method"] == "HEAD" or status in (204, 304):
            return False
        if chunked:
            self.state = "chunk-size"
            return True
        if length is not None:
            if int(length) == 0:
                return False
            self.state, self.left = "length", int(length)
            return True
        self.state = "until-close"
        return True


# --- the proxy ------------------------------------------------------------------


class Link:
    def __init__(self, target, delay, http=True, trace=False, connect=0.0):
        self.target = target
        self.connect = connect
        self.trace = trace
        self.t0 = time.monotonic()
        self.delay = delay
        self.http = http
        self.reset()

    def reset(self):
        self.waves = 0
        self.requests = 0
        self.connections = 0
        self.in_flight = 0  # requests in flight, all connections
        self.answered = 0  # the highest wave the client has an answer from
        self.chunks_up = 0

    def stats(self):
        out = {"connections": self.connections, "chunks_up": self.chunks_up}
        if self.http:
            out.update(waves=self.waves, requests=self.requests)
        return out

    def started(self):
        """A request's first byte arrived: its wave, one after the latest
        wave the client has an answer from."""
        self.requests += 1
        self.in_flight += 1
        wave = self.answered + 1
        self.waves = max(self.waves, wave)
        return wave

    def finished(self, waves):
        """The requests of these waves were answered (or their connection
        closed)."""
        self.in_flight = max(0, self.in_flight - len(waves))
        self.answered = max([self.answered] + waves)

    async def handle(self, creader, cwriter):
        try:
            if self.target[0] == "unix":
                ureader, uwriter = await asyncio.open_unix_connection(self.target[1])
            else:
                ureader, uwriter = await asyncio.open_connection(*self.target[1])
        except OSError:
            cwriter.close()
            return
        self.connections += 1
        pending = []  # requests of this connection not answered yet
        methods = collections.deque()
        up = Message("request", methods)
        down = Message("response", methods)

        conn = self.connections

        def note(what, head):
            if self.trace:
                sys.stderr.write("%9.1f ms  conn %3d  %-7s %s\n" % (
                    (time.monotonic() - self.t0) * 1000, conn, what,
                    (head or {}).get("start", "")[:100]))

        def on_up(data):
            self.chunks_up += 1
            if not self.http:
                return
            for ev, head in up.feed(data):
                if ev == "start":
                    wave = self.started()
                    pending.append(wave)
                    note("wave %d" % wave, head)
                elif self.trace:
                    note("sent", head)

        def on_down(data):
            if not self.http:
                return
            for ev, head in down.feed(data):
                if ev == "end" and pending:
                    self.finished([pending.pop(0)])
                    note("done", head)

        opened = time.monotonic()
        await asyncio.gather(
            self.pipe(creader, uwriter, on_read=on_up, not_before=opened + self.connect),
            self.pipe(ureader, cwriter, on_written=on_down),
        )
        uwriter.close()
        cwriter.close()
        if pending:
            self.finished(pending)  # closed with requests unanswered

    async def pipe(self, reader, writer, on_read=None, on_written=None, not_before=0.0):
        queue = asyncio.Queue()

        async def read():
            try:
                while data := await reader.read(65536):
                    if on_read:
                        on_read(data)
                    queue.put_nowait((max(time.monotonic(), not_before) + self.delay, data))
            except (ConnectionError, OSError):
                pass
            queue.put_nowait((time.monotonic() + self.delay, None))

        async def write():
            try:
                while True:
                    due, data = await queue.get()
                    wait = due - time.monotonic()
                    if wait > 0:
                        await asyncio.sleep(wait)
                    if data is None:
                        break
                    writer.write(data)
                    await writer.drain()
                    if on_written:
                        on_written(data)
            except (ConnectionError, OSError):
                pass
            finally:
                try:
                    if writer.can_write_eof():
                        writer.write_eof()
                    else:
                        writer.close()
                except (ConnectionError, OSError):
                    writer.close()

        # A half-close (the client's stdin ended, as `exec` sends it) is
        # passed on as one: the other direction goes on until it ends too.
        await asyncio.gather(read(), write())


async def serve(link, listen, lifetime, ready=None, control=None, port_file=None):
    server = await asyncio.start_server(link.handle, *listen)
    port = server.sockets[0].getsockname()[1]
    servers = [server]
    if control:

        async def answer(reader, writer):
            line = (await reader.readline()).decode().strip()
            stats = link.stats()
            if line == "reset":
                link.reset()
            writer.write((json.dumps(stats) + "\n").encode())
            await writer.drain()
            writer.close()

        servers.append(await asyncio.start_unix_server(answer, control))
    if port_file:
        with open(port_file + ".tmp", "w") as f:
            f.write("%d\n" % port)
        os.replace(port_file + ".tmp", port_file)
    if ready is not None:
        ready(port)
    try:
        await asyncio.sleep(lifetime)
    finally:
        for s in servers:
            s.close()


def main(argv):
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0 if argv else 2
    if argv[0] not in ("run", "serve", "stats"):
        fail("the first argument is run, serve or stats, not %r (see --help)" % argv[0])
    mode, argv = argv[0], argv[1:]
    opts = {"target": "unix:/var/run/docker.sock", "listen": "127.0.0.1:0", "delay-ms": "25",
            "connect-ms": "0",
            "lifetime": "900", "host-format": "tcp://127.0.0.1:{port}", "control": None,
            "port-file": None}
    http, reset, trace, command = True, False, False, []
    while argv:
        a = argv.pop(0)
        if a == "--":
            command = argv
            break
        if a in ("--http", "--no-http"):
            http = a == "--http"
        elif a == "--trace":
            trace = True
        elif a == "--reset":
            reset = True
        elif a.startswith("--") and a[2:] in opts and argv:
            opts[a[2:]] = argv.pop(0)
        elif a in ("-h", "--help"):
            print(__doc__)
            return 0
        else:
            fail("unknown argument %r (see --help)" % a)

    if mode == "stats":
        if not opts["control"]:
            fail("stats needs --control PATH")
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(10)
        s.connect(opts["control"])
        s.sendall(b"reset\n" if reset else b"stats\n")
        print(s.makefile().readline().strip())
        return 0

    link = Link(parse_target(opts["target"]), float(opts["delay-ms"]) / 1000, http, trace,
                float(opts["connect-ms"]) / 1000)
    listen = parse_listen(opts["listen"])
    lifetime = float(opts["lifetime"])

    if mode == "serve":
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))

        def ready(port):
            print(port, flush=True)

        try:
            asyncio.run(serve(link, listen, lifetime, ready, opts["control"], opts["port-file"]))
        except KeyboardInterrupt:
            pass
        return 0

    if not command:
        fail("run needs -- COMMAND")
    got = {}
    up = threading.Event()

    def ready(port):
        got["port"] = port
        up.set()

    threading.Thread(target=lambda: asyncio.run(serve(link, listen, lifetime, ready)),
                     daemon=True).start()
    if not up.wait(10):
        fail("the proxy did not start")
    env = dict(os.environ, DOCKER_HOST=opts["host-format"].format(port=got["port"]))
    t0 = time.perf_counter()
    try:
        rc = subprocess.run(command, env=env, timeout=lifetime).returncode
    except subprocess.TimeoutExpired:
        rc = 124
    wall = time.perf_counter() - t0
    time.sleep(2 * link.delay)  # let the last answers through before counting
    out = dict(wall=round(wall, 4), rc=rc, **link.stats())
    sys.stderr.write(json.dumps(out) + "\n")
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
