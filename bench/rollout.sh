#!/usr/bin/env bash
# Benchmark a start-first rollout under load (issue 18): berth against
# `docker compose` v2 on one engine, in one run.
#
# The app publishes two ports on 127.0.0.1 and takes BOOT seconds to boot:
# busybox httpd serving its version (`v1`, `v2`, `v3`) at / and `ok` at
# /health, and an echo server (busybox `nc -ll -e cat`) for persistent
# connections; its health check fetches /health every second. Three images
# of it are built locally once (bench-rollout-PID:v1, :v2, :v3; v3 has no
# /health, so its health check never passes) and the stack file switches
# `image:` between them. The stack asks for
# `deploy.update_config: {order: start-first, failure_action: rollback}`:
# berth replaces the container beside the old one behind its edge (the
# container that holds the published ports); compose ignores update_config
# on one engine and recreates it (stop the old one, start the new one).
# On SIGTERM the app stops accepting, lets what is in flight finish, and
# exits APP_DRAIN seconds later (APP_DRAIN=0: it exits at once).
#
# Each tool runs on its own project, RUNS times (a new project each run;
# the tools interleaved, rotating who goes first). After an untimed
# `up --wait` of v1, the cases:
#   v1 -> v2       `berth up` / `docker compose up -d --wait --pull never`
#   v2 -> v3       v3 never gets healthy: berth rolls back and exits 1, and
#                  must still serve v2; compose replaces v2 with v3 anyway
#   rollback       `berth rollback` (the release before the newest: v1);
#                  compose has none (n/a)
# Each case runs under two loads at once, both examples/edge_load.rs
# --watch, from LOAD_BEFORE seconds before the command until the app
# answers again and LOAD_AFTER seconds more, and then until the HTTP load
# made at least MIN_REQUESTS requests:
#   HTTP          CLIENTS closed-loop clients, a new connection per GET /
#                 (busybox httpd closes after every answer);
#   keep-alive    KEEPALIVE_CLIENTS clients on the echo port, each on one
#                 persistent connection, a 64-byte message every
#                 KEEPALIVE_PACE_MS; a message the server closed the
#                 connection on before answering is sent again once on a
#                 new connection (as HTTP clients retry an idempotent request
#                 on a kept-alive connection): counted as retried; failed
#                 only when the retry fails too.
# A failed request is one refused, reset, closed without an answer, timed
# out (5 s) or answered other than 200. The outage is the span from the
# start of the first failed request to the end of the last.
#
# The rollout time: the command's wall time against the floor of the run,
# from the engine's own events: the new container's State.StartedAt to its
# first `health_status: healthy` (boot + the first passing check), plus the
# old container's drain (its `kill` to its `die` event: the app's own
# APP_DRAIN), plus 1 s. Where the time goes is printed as a timeline.
#
# Targets:
#   v1 -> v2   berth: 0 failed requests (compose's failures and outage beside)
#   v3         berth: 0 failed, exit status 1, still serving v2
#   rollback   berth: 0 failed, serving v1
#   rollout    berth's up <= boot + first healthy check + drain + 1 s
#   edge       <= 5% throughput, <= 1 ms p99 against direct publishing:
#              that is bench/edge.sh's (EDGE_BENCH=1 runs it at the end)
# A FAIL is only reported; the exit status is non-zero only on errors.
# Everything the benchmark creates (containers, networks, the release images
# berth-releases/<project>*, the app images, temp files) is removed at the
# end by project label and name, also on errors and Ctrl-C; the edge image
# (berth/edge:<hash>) stays, to be reused by the next run of the same build.
#
# Environment:
#   BERTH              berth binary (default: target/release/berth, built)
#   COMPOSE            reference command (default: "docker compose")
#   RUNS               runs per tool (default 1)
#   CLIENTS            HTTP clients (default 8)
#   KEEPALIVE_CLIENTS  keep-alive clients (default 4; 0: none)
#   KEEPALIVE_PACE_MS  pause between a keep-alive client's messages (default 10)
#   MIN_REQUESTS       HTTP requests per case, at least (default 20000)
#   LOAD_BEFORE        seconds of load before the command (default 1)
#   LOAD_AFTER         seconds of load after the app answers again (default 2)
#   BOOT               the app's boot delay in seconds (default 3)
#   APP_DRAIN          seconds the app takes to exit after SIGTERM (default 1)
#   CASE_TIMEOUT       seconds a case may take at most (default 300)
#   EDGE_BENCH         1: run bench/edge.sh at the end (default 0)
#   IMAGE              base image (default berth-test/busybox:latest)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [[ -n "${BERTH:-}" ]]; then
    if [[ "$BERTH" == */* && "$BERTH" != /* ]]; then BERTH="$PWD/$BERTH"; fi
    BUILD_BERTH=0
else
    BERTH="$ROOT/target/release/berth"
    BUILD_BERTH=1
fi
COMPOSE=${COMPOSE:-docker compose}
RUNS=${RUNS:-1}
CLIENTS=${CLIENTS:-8}
KEEPALIVE_CLIENTS=${KEEPALIVE_CLIENTS:-4}
KEEPALIVE_PACE_MS=${KEEPALIVE_PACE_MS:-10}
MIN_REQUESTS=${MIN_REQUESTS:-20000}
LOAD_BEFORE=${LOAD_BEFORE:-1}
LOAD_AFTER=${LOAD_AFTER:-2}
BOOT=${BOOT:-3}
APP_DRAIN=${APP_DRAIN:-1}
CASE_TIMEOUT=${CASE_TIMEOUT:-300}
EDGE_BENCH=${EDGE_BENCH:-0}
IMAGE=${IMAGE:-berth-test/busybox:latest}
LOAD="$ROOT/target/release/examples/edge_load"

die() { echo "bench/rollout.sh: error: $*" >&2; exit 2; }

command -v python3 >/dev/null || die "python3 is required"
command -v docker >/dev/null || die "docker (CLI) is required"
timeout 10 docker info >/dev/null 2>&1 \
    || die "no Docker engine answers${DOCKER_HOST:+ at $DOCKER_HOST}; start dockerd (scripts/engine does)"
read -r -a compose_argv <<<"$COMPOSE"
"${compose_argv[@]}" version >/dev/null 2>&1 || die "reference command does not work: $COMPOSE version"
[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive integer, not '$RUNS'"
[[ "$CLIENTS" =~ ^[1-9][0-9]?$ ]] || die "CLIENTS must be 1-99, not '$CLIENTS'"
[[ "$KEEPALIVE_CLIENTS" =~ ^[0-9][0-9]?$ ]] || die "KEEPALIVE_CLIENTS must be 0-99, not '$KEEPALIVE_CLIENTS'"
[[ "$KEEPALIVE_PACE_MS" =~ ^[0-9]+$ ]] || die "KEEPALIVE_PACE_MS must be a number, not '$KEEPALIVE_PACE_MS'"
[[ "$MIN_REQUESTS" =~ ^[0-9]+$ && "$MIN_REQUESTS" -le 1000000 ]] \
    || die "MIN_REQUESTS must be 0-1000000, not '$MIN_REQUESTS'"
[[ "$BOOT" =~ ^[0-9]+$ && "$BOOT" -le 60 ]] || die "BOOT must be 0-60 seconds, not '$BOOT'"
[[ "$APP_DRAIN" =~ ^[0-9]+$ && "$APP_DRAIN" -le 30 ]] || die "APP_DRAIN must be 0-30 seconds, not '$APP_DRAIN'"
[[ "$CASE_TIMEOUT" =~ ^[1-9][0-9]*$ && "$CASE_TIMEOUT" -le 3600 ]] \
    || die "CASE_TIMEOUT must be 1-3600 seconds, not '$CASE_TIMEOUT'"
for v in LOAD_BEFORE LOAD_AFTER; do
    [[ "${!v}" =~ ^[0-9]+([.][0-9]+)?$ ]] || die "$v must be a number of seconds, not '${!v}'"
done
docker image inspect "$IMAGE" >/dev/null 2>&1 || bash "$ROOT/scripts/test-image" "$IMAGE" \
    || die "cannot build the test image $IMAGE"

cd "$ROOT"
echo "building berth and the load generator (cargo build --release)..." >&2
if [[ $BUILD_BERTH == 1 ]]; then
    cargo build --release --bin berth --example edge_load >&2 || die "cargo build --release failed"
else
    cargo build --release --example edge_load >&2 || die "cargo build --release failed"
fi
[[ -x "$BERTH" ]] || die "berth binary not found or not executable: $BERTH"
[[ -x "$LOAD" ]] || die "the load generator is missing: $LOAD"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/berth-bench-rollout.XXXXXX")
APP="bench-rollout-$$"

cleanup() {
    # By label and name, not through the tools: works even when a tool is
    # broken. The measuring part appends each project to $TMP/projects
    # before it creates anything for it.
    local kind filter ids project projects=()
    if [[ -f "$TMP/projects" ]]; then mapfile -t projects <"$TMP/projects"; fi
    for project in "${projects[@]}"; do
        for filter in "io.berth.project=$project" "com.docker.compose.project=$project"; do
            ids=$(docker ps -aq --filter "label=$filter" 2>/dev/null || true)
            [[ -z "$ids" ]] || docker rm -f -v $ids >/dev/null 2>&1 || true
            for kind in network volume; do
                ids=$(docker $kind ls -q --filter "label=$filter" 2>/dev/null || true)
                [[ -z "$ids" ]] || docker $kind rm $ids >/dev/null 2>&1 || true
            done
        done
        # The release records and the images they kept (berth keeps them
        # after down, on purpose).
        ids=$(docker image ls --format '{{.Repository}}:{{.Tag}}' 2>/dev/null \
            | grep -E "^berth-releases/$project[:/]" || true)
        [[ -z "$ids" ]] || docker image rm $ids >/dev/null 2>&1 || true
    done
    ids=$(docker image ls --format '{{.Repository}}:{{.Tag}}' "$APP" 2>/dev/null || true)
    [[ -z "$ids" ]] || docker image rm $ids >/dev/null 2>&1 || true
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The app's images: v1 and v2 pass their health check once booted, v3 never
# does (no /health). On SIGTERM during the boot the app exits at once;
# afterwards it stops its listeners (new connections are refused, what is
# in flight finishes) and exits APP_DRAIN seconds later.
echo "app images $APP:v1, :v2, :v3 (docker build)..." >&2
python3 - "$TMP" "$IMAGE" "$BOOT" "$APP_DRAIN" <<'PY' || die "cannot write the app's Dockerfiles"
import json, os, sys
tmp, image, boot, drain = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
if drain > 0:
    serve = ('httpd -f -p 80 -h /www & h=$!; nc -ll -p 7 -e cat & n=$!; '
             'trap "kill $h $n; sleep %d; exit 0" TERM; wait' % drain)
else:
    serve = 'httpd -f -p 80 -h /www & nc -ll -p 7 -e cat & wait'
# `sleep & wait`: a trap runs at once during `wait`, not after a
# foreground sleep.
cmd = ["sh", "-c", 'trap "exit 0" TERM; sleep %d & wait $!; %s' % (boot, serve)]
for v in ("v1", "v2", "v3"):
    d = os.path.join(tmp, "app-" + v)
    os.makedirs(d)
    health = "" if v == "v3" else " && echo ok > /www/health"
    with open(os.path.join(d, "Dockerfile"), "w") as f:
        f.write("FROM %s\nRUN mkdir -p /www && echo %s > /www/index.html%s\nCMD %s\n"
                % (image, v, health, json.dumps(cmd)))
PY
for v in v1 v2 v3; do
    docker build -q -t "$APP:$v" "$TMP/app-$v" >/dev/null 2>"$TMP/build.err" \
        || die "docker build of $APP:$v failed: $(tail -5 "$TMP/build.err")"
done

cat >"$TMP/compose.yaml" <<EOF
services:
  web:
    image: \${APP}:\${VERSION}
    ports: ["127.0.0.1:\${HTTP_PORT}:80", "127.0.0.1:\${ECHO_PORT}:7"]
    healthcheck:
      test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1/health"]
      interval: 1s
      timeout: 1s
      retries: 2
      start_period: $((BOOT + 2))s
    deploy:
      update_config:
        order: start-first
        failure_action: rollback
EOF

python3 - "$BERTH" "$LOAD" "$TMP" "$APP" "$$" "$RUNS" "$CLIENTS" "$KEEPALIVE_CLIENTS" \
    "$KEEPALIVE_PACE_MS" "$MIN_REQUESTS" "$LOAD_BEFORE" "$LOAD_AFTER" "$BOOT" "$APP_DRAIN" \
    "$CASE_TIMEOUT" "${compose_argv[@]}" <<'PY'
import atexit, datetime, json, os, signal, socket, statistics, subprocess, sys, time

signal.signal(signal.SIGINT, lambda *_: sys.exit(130))  # Ctrl-C: no traceback; bash cleans up

(berth, load, tmp, app, tag, runs, clients, ka_clients, ka_pace, min_requests, load_before,
 load_after, boot, app_drain, case_timeout) = sys.argv[1:16]
compose = sys.argv[16:]
runs, clients, ka_clients, ka_pace, min_requests = \
    int(runs), int(clients), int(ka_clients), int(ka_pace), int(min_requests)
load_before, load_after, boot, app_drain, case_timeout = \
    float(load_before), float(load_after), int(boot), int(app_drain), float(case_timeout)
STACK = os.path.join(tmp, "compose.yaml")
PROJECTS = os.path.join(tmp, "projects")
ERR = os.path.join(tmp, "stderr")

def fail(msg):
    sys.stderr.write("\nbench/rollout.sh: error: %s\n" % msg)
    sys.exit(2)

def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port

def engine_time(s):
    """RFC 3339 with nanoseconds, as the engine writes it, to epoch seconds."""
    if not s.endswith("Z"):
        fail("unexpected engine timestamp %r" % s)
    base, _, frac = s[:-1].partition(".")
    t = datetime.datetime.strptime(base, "%Y-%m-%dT%H:%M:%S")
    return t.replace(tzinfo=datetime.timezone.utc).timestamp() + float("0." + (frac or "0"))

def inspect(name):
    p = subprocess.run(["docker", "inspect", name], capture_output=True, text=True)
    return json.loads(p.stdout)[0] if p.returncode == 0 else None

def get(port, timeout=2.0):
    """The body of GET / on 127.0.0.1:port (a new connection), or None."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.settimeout(timeout)
            s.sendall(b"GET / HTTP/1.0\r\nHost: bench\r\n\r\n")
            data = b""
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
    except OSError:
        return None
    head, _, body = data.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.") or b" 200 " not in head.split(b"\r\n")[0] + b" ":
        return None
    return body.decode(errors="replace").strip()

def answers_again(port, streak=3, timeout=60.0):
    """Until `streak` GETs in a row are answered: the last body, or None."""
    deadline, ok, body = time.time() + timeout, 0, None
    while ok < streak and time.time() < deadline:
        body = get(port)
        ok = ok + 1 if body is not None else 0
        time.sleep(0.05)
    return body if ok >= streak else None

children = []

@atexit.register
def kill_children():
    for p in children:
        if p.poll() is None:
            p.kill()

def start_load(port, mode, n, pace, need):
    p = subprocess.Popen([load, "--watch", str(port), "--mode", mode, "--clients", str(n),
                          "--pace-ms", str(pace), "--min-requests", str(need),
                          "--max-seconds", str(case_timeout)],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=open(ERR + ".load", "ab"), text=True)
    children.append(p)
    line = p.stdout.readline().split()
    if len(line) != 2 or line[0] != "started":
        fail("the load generator did not start: %r" % line)
    return p

def end_load(p):
    """Tells the load to stop (once it made what it must); its report."""
    p.stdin.close()
    report = p.stdout.read()
    if p.wait() != 0:
        fail("the load generator failed: %s" % open(ERR + ".load", errors="replace").read()[-2000:])
    return json.loads(report)

EVENTS = ("rename", "create", "start", "health_status", "kill", "die", "destroy", "connect",
          "disconnect")

def watch_events():
    """The engine's container and network events from now on, as they
    come: dockerd keeps only its last 256 events, fewer than the health
    checks of a busy engine make in a case."""
    argv = ["docker", "events", "--since", "%.3f" % time.time(), "--format", "{{json .}}",
            "--filter", "type=container", "--filter", "type=network"]
    for e in EVENTS:
        argv += ["--filter", "event=" + e]
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, text=True)
    children.append(p)
    return p

def events(p, ids):
    """What watch_events saw of these containers: (time, id, action)."""
    time.sleep(0.5)  # the last ones on their way
    p.terminate()
    text = p.communicate()[0]
    found = []
    for line in text.splitlines():
        e = json.loads(line)
        actor = e.get("Actor") or {}
        who = actor.get("ID") if e.get("Type") == "container" else \
            (actor.get("Attributes") or {}).get("container")
        if who in ids:
            found.append((e["timeNano"] / 1e9, who, e.get("Action", "")))
    return sorted(found)

class Tool:
    def __init__(self, name, prefix):
        self.name, self.prefix = name, prefix

    def fresh(self, run):
        self.project = "%s-%s-%d" % (self.prefix, tag, run)
        with open(PROJECTS, "a") as f:  # for the cleanup, before anything exists
            f.write(self.project + "\n")
        self.http, self.echo = free_port(), free_port()

    def env(self, version):
        return dict(os.environ, APP=app, VERSION=version, HTTP_PORT=str(self.http),
                    ECHO_PORT=str(self.echo))

    def argv(self, *args):
        if self.name == "berth":
            return [berth, "-f", STACK, "-p", self.project] + list(args)
        return compose + ["-f", STACK, "-p", self.project] + list(args)

    def up(self, wait=False):
        if self.name == "berth":
            return self.argv("up", "--progress", "plain", *(["--wait"] if wait else []))
        return self.argv("up", "-d", "--wait", "--pull", "never")

    def web(self):
        return inspect("%s-web-1" % self.project)

def run_cmd(argv, env):
    """argv's exit status, wall time and stderr (stdout discarded)."""
    with open(ERR, "wb") as err:
        t0 = time.time()
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=err, env=env)
        t1 = time.time()
    return p.returncode, t0, t1, open(ERR, errors="replace").read()

def must(argv, env):
    code, _, _, err = run_cmd(argv, env)
    if code != 0:
        fail("%s exited %d\n%s" % (" ".join(argv), code, err[-3000:]))

def case(t, argv, version):
    """One command under both loads: what the loads saw, and the engine's
    facts about the old and new containers."""
    old = t.web()
    if old is None:
        fail("%s: %s-web-1 is missing before the case" % (t.name, t.project))
    watcher = watch_events()
    http = start_load(t.http, "http", clients, 0, min_requests)
    ka = start_load(t.echo, "echo", ka_clients, ka_pace, 0) if ka_clients else None
    time.sleep(load_before)
    code, t0, t1, err = run_cmd(argv, t.env(version))
    served = answers_again(t.http)
    time.sleep(load_after)
    h = end_load(http)
    k = end_load(ka) if ka else None
    new = t.web()
    ids = {old["Id"]} | ({new["Id"]} if new else set())
    ev = events(watcher, ids)
    return {"code": code, "t0": t0, "t1": t1, "wall": t1 - t0, "stderr": err,
            "served": served, "http": h, "ka": k, "old": old["Id"],
            "new": new["Id"] if new else None, "new_started":
            engine_time(new["State"]["StartedAt"]) if new else None, "events": ev}

def first(ev, who, action, after=0.0):
    for t, w, a in ev:
        if w == who and a == action and t >= after:
            return t
    return None

def timeline(r):
    """(label, seconds from the command's start) of the rollout's facts."""
    ev, old, new, t0 = r["events"], r["old"], r["new"], r["t0"]
    marks = [
        ("old renamed", first(ev, old, "rename")),
        ("new created", first(ev, new, "create")),
        ("new started", first(ev, new, "start")),
        ("new healthy", first(ev, new, "health_status: healthy")),
        # berth admits the new container by connecting it again, with the
        # service's aliases; compose has no such step.
        ("new admission begins", first(ev, new, "disconnect")),
        ("new admitted", first(ev, new, "connect", after=first(ev, new, "disconnect") or 1e18)),
        ("old killed", first(ev, old, "kill")),
        ("old exited", first(ev, old, "die")),
        # Its address leaves the network (and the engine's DNS) here.
        ("old disconnected", first(ev, old, "disconnect")),
        ("old removed", first(ev, old, "destroy")),
    ]
    answers = r["http"]["answers"]
    marks.append(("last answer of the old version",
                  max((a["last"] for v, a in answers.items() if v != r["version"]), default=None)))
    marks.append(("first answer of the new version",
                  answers[r["version"]]["first"] if r["version"] in answers else None))
    marks.append(("command returned", r["t1"]))
    return [(label, t - t0) for label, t in marks if t is not None]

def floor(r):
    """boot + first healthy check + drain + 1 s, from the engine's facts."""
    healthy = first(r["events"], r["new"], "health_status: healthy")
    killed = first(r["events"], r["old"], "kill")
    died = first(r["events"], r["old"], "die")
    if None in (healthy, killed, died, r["new_started"]):
        return None
    return {"boot_check": healthy - r["new_started"], "drain": died - killed,
            "floor": healthy - r["new_started"] + died - killed + 1.0}

tools = [Tool("berth", "rob"), Tool("compose", "roc")]
results = {}  # (tool, case) -> [result per run]
notes = []

def record(t, name, r, version):
    r["version"] = version
    results.setdefault((t.name, name), []).append(r)
    h = r["http"]
    if h["requests"] < min_requests:
        notes.append("%s %s: only %d HTTP requests (the case hit CASE_TIMEOUT)"
                     % (t.name, name, h["requests"]))

def progress(msg):
    sys.stderr.write(msg + "\n")

for i in range(runs):
    order = tools[i % 2:] + tools[:i % 2]
    for t in order:
        t.fresh(i + 1)
        must(t.up(wait=True), t.env("v1"))
        if answers_again(t.http) != "v1":
            fail("%s: v1 does not answer on 127.0.0.1:%d" % (t.name, t.http))
    for name, version in (("v1 -> v2", "v2"), ("v2 -> v3", "v3")):
        for t in order:
            progress("run %d/%d: %s, %s..." % (i + 1, runs, t.name, name))
            record(t, name, case(t, t.up(), version), version)
    b = tools[0]
    progress("run %d/%d: berth, rollback..." % (i + 1, runs))
    r = case(b, b.argv("rollback", "--progress", "plain"), "v1")
    record(b, "rollback", r, "v1")
    for t in tools:
        must(t.argv("down"), t.env("v1"))

# The report.
def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None

def fmt(x, f="%.2f"):
    return "-" if x is None else f % x

def verdict(ok):
    return "PASS" if ok else "FAIL"

def total(tool, name, key, part="http"):
    rs = results.get((tool, name), [])
    return sum(r[part][key] for r in rs if r[part]) if rs else None

def median_of(tool, name, fn):
    return med([fn(r) for r in results.get((tool, name), [])])

def kinds(tool, name, part="http"):
    k = {}
    for r in results.get((tool, name), []):
        for kind, n in ((r[part] or {}).get("kinds") or {}).items():
            k[kind] = k.get(kind, 0) + n
    return ", ".join("%d %s" % (n, kind) for kind, n in sorted(k.items(), key=lambda x: -x[1]))

print()
print("start-first rollout under load: berth vs %s, %d run(s); app boot %d s, drain %d s; "
      "%d core(s), load average %s" % (" ".join(compose), runs, boot, app_drain,
                                       os.cpu_count(), open("/proc/loadavg").read().split()[0]))
print("HTTP: %d clients, a new connection per request; keep-alive: %d clients, one persistent "
      "connection each, a message every %d ms" % (clients, ka_clients, ka_pace))
for name in ("v1 -> v2", "v2 -> v3", "rollback"):
    print()
    print("%-38s %12s %12s" % (name, "berth", "compose"))
    def row(label, fn, f="%s"):
        vals = []
        for tool in ("berth", "compose"):
            rs = results.get((tool, name))
            vals.append("n/a" if not rs else fn(tool))
        print("%-38s %12s %12s" % (label, vals[0], vals[1]))
    row("exit status", lambda tool: "/".join(str(r["code"]) for r in results[(tool, name)]))
    row("serves afterwards", lambda tool: "/".join(str(r["served"]) for r in results[(tool, name)]))
    row("HTTP requests", lambda tool: str(total(tool, name, "requests")))
    row("HTTP failed", lambda tool: str(total(tool, name, "failed")))
    row("HTTP outage (first to last failure)",
        lambda tool: fmt(median_of(tool, name, lambda r: r["http"]["outage"]), "%.2f s"))
    row("HTTP longest wait between answers",
        lambda tool: fmt(median_of(tool, name, lambda r: r["http"]["longest_gap"]), "%.2f s"))
    row("  which began (from the command's start)",
        lambda tool: fmt(median_of(tool, name, lambda r: r["http"]["longest_gap_from"] - r["t0"]),
                         "%+.2f s"))
    row("HTTP answers that took >= 0.5 s", lambda tool: str(total(tool, name, "slow")))
    row("HTTP p99 / max latency", lambda tool: "%s/%s ms" % (
        fmt(median_of(tool, name, lambda r: r["http"]["p99_ms"]), "%.0f"),
        fmt(median_of(tool, name, lambda r: r["http"]["max_ms"]), "%.0f")))
    row("HTTP requests/s", lambda tool: fmt(median_of(tool, name,
                                                      lambda r: r["http"]["per_second"]), "%.0f"))
    if ka_clients:
        row("keep-alive messages", lambda tool: str(total(tool, name, "requests", "ka")))
        row("keep-alive failed", lambda tool: str(total(tool, name, "failed", "ka")))
        row("keep-alive retried on a new connection",
            lambda tool: str(total(tool, name, "retried", "ka")))
        row("keep-alive longest wait between answers",
            lambda tool: fmt(median_of(tool, name, lambda r: r["ka"]["longest_gap"]), "%.2f s"))
    row("command wall time", lambda tool: fmt(median_of(tool, name, lambda r: r["wall"]), "%.2f s"))
    for tool in ("berth", "compose"):
        for part, what in (("http", "HTTP"), ("ka", "keep-alive")):
            k = kinds(tool, name, part) if results.get((tool, name)) else ""
            if k:
                print("  %s's failed %s requests: %s" % (tool, what, k))

# Rollout time, from the engine's events.
print()
print("rollout time (median): the command's wall time against boot + first healthy check + "
      "drain + 1 s")
print("%-38s %12s %12s %12s %12s" % ("", "wall", "boot+check", "drain", "floor"))
for tool, name in (("berth", "v1 -> v2"), ("compose", "v1 -> v2"), ("berth", "rollback")):
    rs = results.get((tool, name), [])
    fl = [floor(r) for r in rs]
    if not rs or None in fl:
        print("%-38s %12s  (events missing)" % ("%s %s" % (tool, name), "-"))
        continue
    print("%-38s %12s %12s %12s %12s" % (
        "%s %s" % (tool, name), fmt(med([r["wall"] for r in rs]), "%.2f s"),
        fmt(med([f["boot_check"] for f in fl]), "%.2f s"),
        fmt(med([f["drain"] for f in fl]), "%.2f s"),
        fmt(med([f["floor"] for f in fl]), "%.2f s")))
print("where the time goes (seconds from the command's start, median):")
for tool, name in (("berth", "v1 -> v2"), ("compose", "v1 -> v2"), ("berth", "rollback")):
    rs = results.get((tool, name), [])
    marks = {}
    for r in rs:
        for label, t in timeline(r):
            marks.setdefault(label, []).append(t)
    line = sorted((med(v), label) for label, v in marks.items())
    print("  %s %s: %s" % (tool, name, ", ".join("%s %+.2f" % (label, t) for t, label in line)))

# Targets.
def all_runs(tool, name, fn):
    rs = results.get((tool, name), [])
    return bool(rs) and all(fn(r) for r in rs)

print()
print("targets")
checks = [
    ("v1 -> v2: berth's failed HTTP requests == 0",
     all_runs("berth", "v1 -> v2", lambda r: r["http"]["failed"] == 0)),
    ("v1 -> v2: berth serves v2 afterwards",
     all_runs("berth", "v1 -> v2", lambda r: r["served"] == "v2" and r["code"] == 0)),
    ("v3: berth's failed HTTP requests == 0",
     all_runs("berth", "v2 -> v3", lambda r: r["http"]["failed"] == 0)),
    ("v3: berth exits 1",
     all_runs("berth", "v2 -> v3", lambda r: r["code"] == 1)),
    ("v3: berth still serves v2",
     all_runs("berth", "v2 -> v3", lambda r: r["served"] == "v2")),
    ("rollback: berth's failed HTTP requests == 0",
     all_runs("berth", "rollback", lambda r: r["http"]["failed"] == 0)),
    ("rollback: berth serves v1 afterwards",
     all_runs("berth", "rollback", lambda r: r["served"] == "v1" and r["code"] == 0)),
]
for tool_case in ("v1 -> v2", "rollback"):
    rs = results.get(("berth", tool_case), [])
    fl = [floor(r) for r in rs]
    ok = bool(rs) and None not in fl and all(r["wall"] <= f["floor"] for r, f in zip(rs, fl))
    checks.append(("rollout time, berth %s <= boot + first healthy check + drain + 1 s"
                   % tool_case, ok))
for label, ok in checks:
    print("  %-72s %s" % (label, verdict(ok)))
print("  %-72s %s" % ("the edge against direct publishing: <= 5% throughput, <= 1 ms p99",
                      "see bench/edge.sh"))
if any(r["http"]["failed"] for (tool, _), rs in results.items() if tool == "berth" for r in rs):
    print()
    print("berth's failed requests, per case and run (seconds from the command's start):")
    for (tool, name), rs in results.items():
        if tool != "berth":
            continue
        for i, r in enumerate(rs):
            h = r["http"]
            if h["failed"]:
                marks = dict(timeline(r))
                print("  %s, run %d: %d failed (%s) from %+.3f to %+.3f; first: %s; old killed "
                      "%s, old exited %s"
                      % (name, i + 1, h["failed"], ", ".join(
                          "%d %s" % (n, k) for k, n in h["kinds"].items()),
                         h["first_failure"] - r["t0"], h["last_failure"] - r["t0"],
                         h["first_error"], fmt(marks.get("old killed"), "%+.3f"),
                         fmt(marks.get("old exited"), "%+.3f")))
for r in results.get(("compose", "v2 -> v3"), []):
    if r["code"] == 0 and "unhealthy" in r["stderr"]:
        notes.append("compose exited 0 on v3 though it said: %s" % next(
            l.strip() for l in r["stderr"].splitlines() if "unhealthy" in l))
        break
for n in notes:
    print("note: " + n)
for (tool, name), rs in results.items():
    for r in rs:
        if tool == "berth" and r["code"] not in (0, 1):
            print("note: berth %s exited %d: %s" % (name, r["code"], r["stderr"][-500:]))
PY

echo
echo "compose: $COMPOSE -f FILE -p PROJECT up -d --wait --pull never (it ignores update_config"
echo "on one engine and recreates the container); compose has no rollback (n/a)."
echo "failed = refused, reset, closed without an answer, timed out (5 s) or not 200; the HTTP"
echo "load runs from ${LOAD_BEFORE} s before the command until the app answers again, ${LOAD_AFTER} s more,"
echo "and at least $MIN_REQUESTS requests."
if [[ "$EDGE_BENCH" == 1 ]]; then
    echo
    echo "the edge against direct publishing (bench/edge.sh):"
    BERTH="$BERTH" bash "$ROOT/bench/edge.sh"
else
    echo "the edge against direct publishing (targets: throughput >= 0.95 of direct, p99 +1 ms at"
    echo "most): run bench/edge.sh (about 2 minutes), or this script with EDGE_BENCH=1."
fi
