#!/usr/bin/env bash
# Benchmark berth against `docker compose` v2 on a real stack: the demo's
# WordPress 6.1 (Apache) + MariaDB 10.11 (stacks/demo/wordpress/compose.yaml),
# on the same, already-built images (berth-demo/*, made from Debian's packages).
#
# The stack is copied into a temp dir (its `build:` paths made absolute, so
# that its `./logs/wordpress` bind mount lands there and not in the
# repository); every project gets its own name and its own free port on
# 127.0.0.1 (WORDPRESS_PORT). For each tool, RUNS times (tools interleaved,
# rotating who goes first, a new project every run), we time:
#   cold up --wait - nothing exists: `berth up --wait` vs
#                    `docker compose up -d --wait --pull never`, and the time
#                    until WordPress answers an HTTP GET / (any status; a fresh
#                    database answers 302 to the install page). A poller sends
#                    the GETs from the moment the command starts.
#                    The health-gated floor of each run comes from the engine's
#                    own facts in that run: db's State.StartedAt to its first
#                    healthy health check (the End of the first log entry with
#                    ExitCode 0), plus wordpress's State.StartedAt to the first
#                    HTTP answer. No tool can be ready sooner: wordpress may
#                    only start once db is healthy (depends_on
#                    service_healthy), and the db health check runs every 10 s.
#   no-op up       - the same up again on the converged stack: `berth up` vs
#                    `docker compose up -d --pull never`
#   down --volumes - reported only; it also resets the stack for the next run
# and then, each tool on its own project converged on `cpus: 0.5` on
# wordpress (an extra -f override file):
#   cpus change    - the override changed to `cpus: 1.0` and `berth up` vs
#                    `docker compose up -d --pull never` run while a bounded
#                    load generator (Python stdlib, LOAD_THREADS threads, a new
#                    connection per request, GET / on 127.0.0.1:PORT only, a
#                    LOAD_TIMEOUT per request) runs from LOAD_BEFORE seconds
#                    before the up until LOAD_AFTER seconds after it returned.
#                    It counts failed requests (refused, reset, closed without
#                    an answer, timed out, 5xx) and the outage: the span from
#                    the start of the first failed request to the end of the
#                    last. docker inspect checks that NanoCpus changed, and
#                    whether the container id stayed the same.
# Medians and the ratios against the targets:
#   cold up:      berth ready / floor <= 1.10 (median of the per-run ratios)
#   no-op up:     berth/compose <= 0.25
#   cpus change:  berth: no failed request (it updates in place, docker update);
#                 compose's outage is reported (it recreates the container)
# A FAIL is only reported; the exit status is non-zero only on errors (a build
# or a command failing, missing tools, no engine, a stack that never answers).
# Everything the benchmark creates (containers, networks, volumes, temp files)
# is removed at the end by project label, also on errors and Ctrl-C; the
# berth-demo/* images are left in place.
#
# Environment:
#   BERTH         berth binary (default: target/release/berth, built by cargo)
#   COMPOSE       reference command (default: "docker compose")
#   RUNS          runs per tool (default 3)
#   WARMUP        untimed cold up/down per tool first (default 1; 0: none)
#   LOAD_THREADS  load generator threads (default 4)
#   LOAD_TIMEOUT  seconds each request may take (default 2)
#   LOAD_BEFORE   seconds of load before the cpus change (default 1)
#   LOAD_AFTER    seconds of load after the up returned (default 5)
#   READY_TIMEOUT seconds WordPress may take to answer after an up (default 180)
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
RUNS=${RUNS:-3}
WARMUP=${WARMUP:-1}
LOAD_THREADS=${LOAD_THREADS:-4}
LOAD_TIMEOUT=${LOAD_TIMEOUT:-2}
LOAD_BEFORE=${LOAD_BEFORE:-1}
LOAD_AFTER=${LOAD_AFTER:-5}
READY_TIMEOUT=${READY_TIMEOUT:-180}
STACK="$ROOT/stacks/demo/wordpress/compose.yaml"

die() { echo "bench/wordpress.sh: error: $*" >&2; exit 2; }

command -v python3 >/dev/null || die "python3 is required"
command -v docker >/dev/null || die "docker (CLI) is required"
timeout 10 docker info >/dev/null 2>&1 \
    || die "no Docker engine answers${DOCKER_HOST:+ at $DOCKER_HOST}; start dockerd (scripts/engine does)"
read -r -a compose_argv <<<"$COMPOSE"
"${compose_argv[@]}" version >/dev/null 2>&1 || die "reference command does not work: $COMPOSE version"
[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive integer, not '$RUNS'"
[[ "$WARMUP" =~ ^[0-9]+$ ]] || die "WARMUP must be a number, not '$WARMUP'"
[[ "$LOAD_THREADS" =~ ^[1-9][0-9]?$ ]] || die "LOAD_THREADS must be 1-99, not '$LOAD_THREADS'"
for v in LOAD_TIMEOUT LOAD_BEFORE LOAD_AFTER READY_TIMEOUT; do
    [[ "${!v}" =~ ^[0-9]+([.][0-9]+)?$ ]] || die "$v must be a number of seconds, not '${!v}'"
done
[[ -f "$STACK" ]] || die "the stack is missing: $STACK"

cd "$ROOT"
if [[ $BUILD_BERTH == 1 ]]; then
    echo "building berth (cargo build --release)..." >&2
    cargo build --release --bin berth >&2 || die "cargo build --release failed"
fi
[[ -x "$BERTH" ]] || die "berth binary not found or not executable: $BERTH"
"$BERTH" up --help 2>/dev/null | grep -q -- '--wait' || die "$BERTH has no 'up --wait' yet"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/berth-bench-wordpress.XXXXXX")

cleanup() {
    # By label, not through the tools: works even when a tool is broken. The
    # measuring part appends each project's label to $TMP/labels before it
    # creates anything for it.
    local kind filter ids labels=()
    if [[ -f "$TMP/labels" ]]; then mapfile -t labels <"$TMP/labels"; fi
    for filter in "${labels[@]}"; do
        ids=$(docker ps -aq --filter "label=$filter" 2>/dev/null || true)
        [[ -z "$ids" ]] || docker rm -f -v $ids >/dev/null 2>&1 || true
        for kind in network volume; do
            ids=$(docker $kind ls -q --filter "label=$filter" 2>/dev/null || true)
            [[ -z "$ids" ]] || docker $kind rm $ids >/dev/null 2>&1 || true
        done
    done
    # Apache writes its logs into the bind-mounted ./logs/wordpress as root:
    # when we are not root, a throwaway container (on an image the stack
    # already has) removes them.
    if ! rm -rf "$TMP" 2>/dev/null && [[ -d "$TMP/stack/logs" ]]; then
        docker run --rm --entrypoint rm -v "$TMP/stack:/stack" berth-demo/wordpress:6.1 \
            -rf /stack/logs >/dev/null 2>&1 || true
        rm -rf "$TMP" || echo "bench/wordpress.sh: warning: cannot remove $TMP" >&2
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The images: the Debian bases (a no-op when they exist), then the stack's own
# images, built once by berth (from the cache when nothing changed) so that
# both tools start the very same, already-present images.
echo "base images (scripts/images)..." >&2
bash "$ROOT/scripts/images" >&2 || die "scripts/images failed"
mkdir "$TMP/stack"
python3 - "$STACK" "$ROOT/stacks/demo/images" "$TMP/stack/compose.yaml" <<'PY' \
    || die "cannot copy $STACK"
import sys
src, images, dst = sys.argv[1:4]
text = open(src).read()
n = text.count("build: ../images/")
if n != 2:
    sys.exit("expected 2 'build: ../images/' in %s, found %d" % (src, n))
open(dst, "w").write(text.replace("build: ../images/", "build: %s/" % images))
PY
echo "stack images (berth build)..." >&2
"$BERTH" -f "$TMP/stack/compose.yaml" -p "berth-bench-build-$$" build --progress quiet \
    || die "berth build of the stack's images failed"
for image in berth-demo/mariadb:10.11 berth-demo/wordpress:6.1; do
    docker image inspect "$image" >/dev/null 2>&1 || die "image $image is missing after the build"
done

python3 - "$BERTH" "$TMP" "$$" "$RUNS" "$WARMUP" "$LOAD_THREADS" "$LOAD_TIMEOUT" \
    "$LOAD_BEFORE" "$LOAD_AFTER" "$READY_TIMEOUT" "${compose_argv[@]}" <<'PY'
import atexit, datetime, http.client, json, os, signal, socket, statistics, subprocess, sys
import threading, time

signal.signal(signal.SIGINT, lambda *_: sys.exit(130))  # Ctrl-C: no traceback; bash cleans up

berth, tmp, tag, runs, warmup, threads, load_timeout, load_before, load_after, \
    ready_timeout = sys.argv[1:11]
compose = sys.argv[11:]
runs, warmup, threads = int(runs), int(warmup), int(threads)
load_timeout, load_before, load_after, ready_timeout = \
    float(load_timeout), float(load_before), float(load_after), float(ready_timeout)
ERR = os.path.join(tmp, "stderr")
LABELS = os.path.join(tmp, "labels")
STACK_DIR = os.path.join(tmp, "stack")
BASE = os.path.join(STACK_DIR, "compose.yaml")
CPUS_OLD, CPUS_NEW = 0.5, 1.0

def write_cpus(name, cpus):
    path = os.path.join(STACK_DIR, name)
    with open(path, "w") as f:
        f.write("services:\n  wordpress:\n    cpus: %s\n" % cpus)
    return path

OLD = write_cpus("cpus-old.yaml", CPUS_OLD)
NEW = write_cpus("cpus-new.yaml", CPUS_NEW)

def fail(msg):
    sys.stderr.write("\nbench/wordpress.sh: error: %s\n" % msg)
    sys.exit(2)

def run(argv, env):
    """Runs argv with its output discarded (stderr kept for an error); the
    wall time. Any failure is an error."""
    with open(ERR, "wb") as err:
        t0 = time.perf_counter()
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=err, env=env)
        wall = time.perf_counter() - t0
    if p.returncode != 0:
        fail("%s exited %d\n%s" % (" ".join(argv), p.returncode,
                                   open(ERR, errors="replace").read()[-3000:]))
    return wall

def out(argv):
    return subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                          text=True).stdout.split()

def quiet(argv):
    subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)

def label_clean(label):
    """Removes what carries the label; what was there to remove."""
    found = []
    ids = out(["docker", "ps", "-aq", "--filter", "label=" + label])
    if ids:
        quiet(["docker", "rm", "-f", "-v"] + ids)
        found.append("%d container(s)" % len(ids))
    for kind in ("network", "volume"):
        ids = out(["docker", kind, "ls", "-q", "--filter", "label=" + label])
        if ids:
            quiet(["docker", kind, "rm"] + ids)
            found.append("%d %s(s)" % (len(ids), kind))
    return found

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
    if p.returncode != 0:
        fail("docker inspect %s failed: %s" % (name, p.stderr.strip()))
    return json.loads(p.stdout)[0]

def http_answer(port, timeout):
    """The HTTP status of one GET / on 127.0.0.1:port (new connection), or None."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request("GET", "/", headers={"Connection": "close"})
        r = c.getresponse()
        r.read()
        return r.status
    except (OSError, http.client.HTTPException):
        return None
    finally:
        c.close()

class Poller(threading.Thread):
    """GET / every 20 ms until the first HTTP answer: its time (epoch)."""

    def __init__(self, port, deadline):
        super().__init__(daemon=True)
        self.port, self.deadline = port, deadline
        self.answered = None
        self.stop = threading.Event()
        self.start()

    def run(self):
        while not self.stop.is_set() and time.time() < self.deadline:
            if http_answer(self.port, 5.0) is not None:
                self.answered = time.time()
                return
            self.stop.wait(0.02)

def wait_answer(port, streak=3):
    """Until `streak` GETs in a row get an HTTP answer below 500."""
    deadline, ok = time.time() + ready_timeout, 0
    while ok < streak:
        if time.time() > deadline:
            fail("WordPress on 127.0.0.1:%d did not answer within %g s" % (port, ready_timeout))
        status = http_answer(port, 2.0)
        ok = ok + 1 if status is not None and status < 500 else 0
        time.sleep(0.05)

# The load generator: its own process (the measuring one only waits), only
# GET / on 127.0.0.1:PORT, a new connection per request, bounded in time (it
# stops when its stdin closes, at the latest after a hard cap) and in count.
LOADGEN = r'''
import http.client, json, signal, socket, sys, threading, time
signal.signal(signal.SIGINT, lambda *_: sys.exit(130))
port, threads, timeout, cap = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
MAX_REQUESTS = 100000
records, lock, stop = [], threading.Lock(), threading.Event()
def one():
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request("GET", "/", headers={"Connection": "close"})
        r = c.getresponse()
        r.read()
        return r.status < 500, str(r.status)
    except (socket.timeout, TimeoutError):
        return False, "timeout"
    except ConnectionRefusedError:
        return False, "refused"
    except http.client.RemoteDisconnected:
        return False, "closed"
    except ConnectionResetError:
        return False, "reset"
    except (OSError, http.client.HTTPException) as e:
        return False, type(e).__name__
    finally:
        c.close()
def worker():
    while not stop.is_set():
        with lock:
            if len(records) >= MAX_REQUESTS:
                return
        t0 = time.time()
        ok, kind = one()
        t1 = time.time()
        with lock:
            records.append((t0, t1, ok, kind))
        if not ok:
            stop.wait(0.02)  # no busy loop on a closed port
def eof():
    sys.stdin.read()
    stop.set()
threading.Thread(target=eof, daemon=True).start()
ws = [threading.Thread(target=worker) for _ in range(threads)]
for w in ws:
    w.start()
print(time.time(), flush=True)
stop.wait(cap)
stop.set()
for w in ws:
    w.join()
json.dump(records, sys.stdout)
'''
LOADGEN_PATH = os.path.join(tmp, "load.py")
with open(LOADGEN_PATH, "w") as f:
    f.write(LOADGEN)
children = []

@atexit.register
def kill_children():
    for p in children:
        if p.poll() is None:
            p.kill()

projects = 0

class Tool:
    """One tool; fresh() starts a new project (name, port, labels)."""

    def __init__(self, name):
        self.name = name

    def fresh(self, files):
        global projects
        projects += 1
        self.project = "%s-%s-%d" % ({"berth": "wpb", "compose": "wpc"}[self.name], tag, projects)
        self.label = "%s=%s" % ({"berth": "io.berth.project",
                                 "compose": "com.docker.compose.project"}[self.name], self.project)
        with open(LABELS, "a") as f:  # for the cleanup, before anything exists
            f.write(self.label + "\n")
        self.files = files
        self.port = free_port()
        self.env = dict(os.environ, WORDPRESS_PORT=str(self.port))

    def base(self, files=None):
        argv = berth if self.name == "berth" else compose
        argv = [argv] if isinstance(argv, str) else list(argv)
        for f in files or self.files:
            argv += ["-f", f]
        return argv + ["-p", self.project]

    def up(self, wait=False, files=None):
        if self.name == "berth":
            return self.base(files) + ["up"] + (["--wait"] if wait else [])
        return self.base(files) + ["up", "-d", "--pull", "never"] + (["--wait"] if wait else [])

    def plan_clean(self, files=None):
        """berth: whether `berth plan` sees nothing to change."""
        return subprocess.run(self.base(files) + ["plan"], stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              env=self.env).returncode == 0

    def down(self):
        return self.base() + ["down", "--volumes"]

    def container(self, service):
        return inspect("%s-%s-1" % (self.project, service))

notes = set()

def cold_cycle(t, rec):
    """Cold up --wait, first answer, floor, no-op up, down --volumes."""
    t.fresh([BASE])
    t0 = time.time()
    poller = Poller(t.port, t0 + ready_timeout)
    up = run(t.up(wait=True), t.env)
    poller.join(max(0.0, t0 + ready_timeout - time.time()))
    poller.stop.set()
    if poller.answered is None:
        fail("%s: WordPress on 127.0.0.1:%d did not answer within %g s of the up"
             % (t.name, t.port, ready_timeout))
    db, wp = t.container("db"), t.container("wordpress")
    for c in (db, wp):
        if not c["State"]["Running"]:
            fail("%s: %s is not running after up --wait" % (t.name, c["Name"]))
    health = (db["State"].get("Health") or {}).get("Log") or []
    healthy = [h for h in health if h.get("ExitCode") == 0]
    if not healthy:
        fail("%s: no healthy check in %s's health log: %s" % (t.name, db["Name"], health))
    db_started = engine_time(db["State"]["StartedAt"])
    db_healthy = engine_time(healthy[0]["End"])
    wp_started = engine_time(wp["State"]["StartedAt"])
    answered = poller.answered
    ready = max(t0 + up, answered) - t0
    floor = (db_healthy - db_started) + (answered - wp_started)
    rec("up", up)
    rec("ready", ready)
    rec("floor", floor)
    rec("ratio", ready / floor)
    db_created = engine_time(db["Created"])
    rec("to_db_created", db_created - t0)
    rec("db_create_start", db_started - db_created)
    rec("db_health", db_healthy - db_started)
    rec("to_wp_start", wp_started - db_healthy)
    rec("wp_answer", answered - wp_started)
    ids = (db["Id"], wp["Id"])
    rec("noop", run(t.up(), t.env))
    if (t.container("db")["Id"], t.container("wordpress")["Id"]) != ids:
        notes.add("%s's no-op up recreated a container" % t.name)
    if t.name == "berth" and not t.plan_clean():
        notes.add("berth plan saw changes on the converged stack")
    rec("down", run(t.down(), t.env))
    left = label_clean(t.label)
    if left:
        notes.add("%s's down --volumes left %s" % (t.name, ", ".join(left)))

def cpus_state(t):
    """(wordpress id, running, NanoCpus, db id)"""
    wp, db = t.container("wordpress"), t.container("db")
    return wp["Id"], wp["State"]["Running"], wp["HostConfig"]["NanoCpus"], db["Id"]

def load_run(t, rec):
    """From CPUS_OLD (converged) to CPUS_NEW under load."""
    old_files, new_files = [BASE, OLD], [BASE, NEW]
    run(t.up(files=old_files), t.env)  # back to the old value (a no-op on the first run)
    wait_answer(t.port)
    before = cpus_state(t)
    if not before[1] or before[2] != round(CPUS_OLD * 1e9):
        fail("%s did not converge on cpus %s: running %s, NanoCpus %s"
             % (t.name, CPUS_OLD, before[1], before[2]))
    if t.name == "berth" and not t.plan_clean(old_files):
        notes.add("berth plan saw changes on the converged cpus %s stack" % CPUS_OLD)
    cap = load_before + ready_timeout + load_after + 10
    with open(ERR, "wb") as err:
        p = subprocess.Popen([sys.executable, LOADGEN_PATH, str(t.port), str(threads),
                              str(load_timeout), str(cap)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err)
    children.append(p)
    started = float(p.stdout.readline() or 0)
    if not started:
        fail("the load generator did not start: %s" % open(ERR, errors="replace").read()[-2000:])
    time.sleep(max(0.0, started + load_before - time.time()))
    t0 = time.time()
    wall = run(t.up(files=new_files), t.env)
    time.sleep(load_after)
    p.stdin.close()
    records = json.loads(p.stdout.read() or "[]")
    if p.wait() != 0 or not records:
        fail("the load generator failed: %s" % open(ERR, errors="replace").read()[-2000:])
    after = cpus_state(t)
    failed = [r for r in records if not r[2]]
    outage = max(r[1] for r in failed) - min(r[0] for r in failed) if failed else 0.0
    answers = sorted(r[1] for r in records if r[2])
    edges = [records[0][0]] + answers + [max(r[1] for r in records)]
    gap = max(b - a for a, b in zip(edges, edges[1:]))
    if any(r[0] < t0 for r in failed):
        notes.add("%s: requests failed before the up started" % t.name)
    rec("cpus", wall)
    rec("requests", len(records))
    rec("failed", len(failed))
    rec("outage", outage)
    rec("gap", gap)
    rec("landed", after[1] and after[2] == round(CPUS_NEW * 1e9))
    rec("same_id", after[0] == before[0])
    if after[3] != before[3]:
        notes.add("%s touched db for a cpus change on wordpress" % t.name)
    kinds = {}
    for r in failed:
        kinds[r[3]] = kinds.get(r[3], 0) + 1
    for k, n in kinds.items():
        failures.setdefault(t.name, {}).setdefault(k, 0)
        failures[t.name][k] += n

TTY = sys.stderr.isatty()

def progress(what, i):
    msg = "  %s: run %d/%d" % (what, i + 1, runs)
    sys.stderr.write(("\r" + msg + "   ") if TTY else (msg + "\n"))
    if TTY and i + 1 == runs:
        sys.stderr.write("\n")

tools = [Tool("berth"), Tool("compose")]
times, failures = {}, {}

def recorder(t):
    return lambda key, v: times.setdefault((t.name, key), []).append(v)

if warmup:
    sys.stderr.write("warm-up (untimed cold up --wait, no-op up, down)...\n")
    for _ in range(warmup):
        for t in tools:
            cold_cycle(t, lambda key, v: None)
sys.stderr.write("measuring cold up --wait, no-op up (%d runs per tool, ~15 s each)...\n" % runs)
for i in range(runs):
    for t in tools[i % 2:] + tools[:i % 2]:
        cold_cycle(t, recorder(t))
    progress("cold", i)

sys.stderr.write("measuring a cpus change under load (%d runs per tool)...\n" % runs)
for t in tools:  # each on its own project, cold on the old value
    t.fresh([BASE, OLD])
    run(t.up(wait=True), t.env)
for i in range(runs):
    for t in tools[i % 2:] + tools[:i % 2]:
        load_run(t, recorder(t))
    progress("cpus", i)
for t in tools:
    run(t.down(), t.env)
    left = label_clean(t.label)
    if left:
        notes.add("%s's down --volumes left %s" % (t.name, ", ".join(left)))

def med(tool, key):
    return statistics.median(times[(tool, key)])

def verdict(value, target):
    return "%-8s %s" % ("<= %.2f" % target, "PASS" if value <= target else "FAIL")

def row(label, b, c, ratio=True, target=None, fmt="%8.3fs"):
    r = ("%6.3f" % (b / c)) if ratio and c else "%6s" % "-"
    v = verdict(b / c, target) if target is not None else ""
    print(("%-32s %s %s   %s  %s" % (label, fmt % b, fmt % c, r, v)).rstrip())

print()
print("WordPress 6.1 + MariaDB 10.11 (stacks/demo/wordpress), median over %d runs" % runs)
print("%-32s %9s %9s   %s" % ("cold up --wait", "berth", "compose", "berth/compose"))
row("up --wait returns", med("berth", "up"), med("compose", "up"))
row("ready (returned and answered)", med("berth", "ready"), med("compose", "ready"))
row("health-gated floor of the run", med("berth", "floor"), med("compose", "floor"), ratio=False)
b, c = med("berth", "ratio"), med("compose", "ratio")
print("%-32s %9.3f %9.3f   %6s  %s" % ("ready / floor", b, c, "", verdict(b, 1.10) + " (berth)"))
print("  where the time goes:")
for key, label in (("to_db_created", "command start -> db created"),
                   ("db_create_start", "db created -> db started"),
                   ("db_health", "db started -> db healthy"),
                   ("to_wp_start", "db healthy -> wordpress started"),
                   ("wp_answer", "wordpress started -> answered")):
    row("  " + label, med("berth", key), med("compose", key), ratio=False)
row("down --volumes", med("berth", "down"), med("compose", "down"))
print()
print("%-32s %9s %9s   %s" % ("converged", "berth", "compose", "berth/compose"))
row("no-op up", med("berth", "noop"), med("compose", "noop"), target=0.25)
print()
print("%-32s %9s %9s   %s" % ("cpus %s -> %s, under load" % (CPUS_OLD, CPUS_NEW),
                                "berth", "compose", "berth/compose"))
row("up", med("berth", "cpus"), med("compose", "cpus"))
row("outage (first to last failure)", med("berth", "outage"), med("compose", "outage"), ratio=False)
row("longest wait between answers", med("berth", "gap"), med("compose", "gap"), ratio=False)
fb, fc = (sum(times[(n, "failed")]) for n in ("berth", "compose"))
rb, rc = (sum(times[(n, "requests")]) for n in ("berth", "compose"))
print(("%-32s %9s %9s   %6s  %s" % ("failed requests, all runs", fb, fc, "",
                                    "== 0     %s (berth)" % ("PASS" if fb == 0 else "FAIL"))))
print("%-32s %9s %9s" % ("requests, all runs", rb, rc))
lb, lc = (sum(times[(n, "landed")]) for n in ("berth", "compose"))
print(("%-32s %9s %9s   %6s  %s" % ("NanoCpus %d afterwards" % round(CPUS_NEW * 1e9),
                                    "%d/%d" % (lb, runs), "%d/%d" % (lc, runs), "",
                                    "all      %s" % ("PASS" if lb == lc == runs else "FAIL"))))
sb, sc = (sum(times[(n, "same_id")]) for n in ("berth", "compose"))
print(("%-32s %9s %9s   %6s  %s" % ("same wordpress container", "%d/%d" % (sb, runs),
                                    "%d/%d" % (sc, runs), "",
                                    "all      %s (berth)" % ("PASS" if sb == runs else "FAIL"))))
print()
print("ready: from the command's start until it returned and WordPress answered GET / "
      "on 127.0.0.1 (polled every 20 ms from the start)")
print("floor: db StartedAt -> first healthy check's End, plus wordpress StartedAt -> first "
      "answer, from the engine in each run (the engine's create/start calls are not in it); "
      "ready/floor is the median of the per-run ratios")
print("compose: %s ... up -d [--wait] --pull never; both tools on the same berth-demo/* images"
      % " ".join(compose))
print("load: %d threads, a new connection per GET /, %g s timeout each, from %g s before the "
      "up until %g s after it returned; failed = refused/reset/closed/timeout/5xx"
      % (threads, load_timeout, load_before, load_after))
for name in ("berth", "compose"):
    if failures.get(name):
        print("%s's failed requests: %s" % (name, ", ".join(
            "%d %s" % (n, k) for k, n in sorted(failures[name].items(), key=lambda x: -x[1]))))
for n in sorted(notes):
    print("note: " + n)
PY
