#!/usr/bin/env bash
# Benchmark berth against `docker compose` v2 over a slow link: 50 ms of
# round trip between the tools and the engine (issue 19, "Speed over a slow
# link").
#
# These kernels have no netem qdisc, so the delay is a user-space proxy on
# loopback (bench/slowlink.py) that holds each chunk 25 ms in each direction
# and counts the sequential round trips ("waves") of each command. Both tools
# go through the same proxy, in the same run, on the same stack: N services
# (default 10) of the local busybox test image running `sleep`.
#
# Timed, RUNS times each (default 5), the tools interleaved, rotating who
# goes first, medians:
#   no-op up      berth up            vs compose up -d     (converged stack)
#   no-op plan    berth plan          vs compose --dry-run up -d
#   ps            berth ps            vs compose ps
#   image change  berth up            vs compose up -d     after one service's
#                 image tag was moved to another image (so one service is
#                 recreated), checked afterwards with docker inspect
#
# The link: BENCH_LINK=tcp (default) puts the proxy in front of the local
# engine's socket and gives both tools DOCKER_HOST=tcp://127.0.0.1:PORT.
# BENCH_LINK=ssh puts it in front of an sshd on 127.0.0.1 (SSH_PORT, default
# 22) and gives both DOCKER_HOST=ssh://SSH_USER@127.0.0.1:PORT: see
# link_ssh below; it needs berth's ssh:// support (issue 19) and an ssh that
# logs in without asking.
#
# A FAIL is only reported; the exit status is non-zero only on errors.
# Knobs: BERTH, COMPOSE, RUNS, N, IMAGE, DELAY_MS (each way, default 25),
# CONNECT_MS (extra hold of a new connection's first chunk, default 0),
# BENCH_LINK, SSH_USER, SSH_PORT.
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
RUNS=${RUNS:-5}
N=${N:-10}
IMAGE=${IMAGE:-berth-test/busybox:latest}
DELAY_MS=${DELAY_MS:-25}
CONNECT_MS=${CONNECT_MS:-0}
BENCH_LINK=${BENCH_LINK:-tcp}
SSH_USER=${SSH_USER:-root}
SSH_PORT=${SSH_PORT:-22}
# The image a moved tag points to: the test image with one label more.
ALT_IMAGE=berth-bench/slowlink:alt

die() { echo "bench/slowlink.sh: error: $*" >&2; exit 2; }

command -v python3 >/dev/null || die "python3 is required"
command -v docker >/dev/null || die "docker (CLI) is required"
# Setup, checks and cleanup talk to the local engine directly, never
# through the slow link: only the timed commands go through it.
unset DOCKER_CONTEXT
LOCAL_HOST=${DOCKER_HOST:-unix:///var/run/docker.sock}
[[ "$LOCAL_HOST" == unix://* ]] || die "the engine must be local (a unix socket), not $LOCAL_HOST"
ENGINE_SOCKET=${LOCAL_HOST#unix://}
timeout 10 docker info >/dev/null 2>&1 \
    || die "no Docker engine answers at $LOCAL_HOST; start dockerd (scripts/test does)"
read -r -a compose_argv <<<"$COMPOSE"
"${compose_argv[@]}" version >/dev/null 2>&1 || die "reference command does not work: $COMPOSE version"
docker image inspect "$IMAGE" >/dev/null 2>&1 || bash "$ROOT/scripts/test-image" "$IMAGE" \
    || die "cannot build the test image $IMAGE"

cd "$ROOT"
if [[ $BUILD_BERTH == 1 ]]; then
    echo "building berth (cargo build --release)..." >&2
    cargo build --release --bin berth >&2 || die "cargo build --release failed"
fi
[[ -x "$BERTH" ]] || die "berth binary not found or not executable: $BERTH"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/berth-bench-slowlink.XXXXXX")
TAG="$$"
PROXY_PID=

cleanup() {
    # By label, on the local engine, not through the tools: works even when
    # a tool is broken. The measuring part appends each project's label to
    # $TMP/labels, and each image tag it makes to $TMP/tags, before it
    # creates anything.
    local kind filter ids labels=() tags=()
    if [[ -n "$PROXY_PID" ]]; then kill $PROXY_PID 2>/dev/null || true; fi
    if [[ -f "$TMP/labels" ]]; then mapfile -t labels <"$TMP/labels"; fi
    for filter in "${labels[@]}"; do
        ids=$(docker ps -aq --filter "label=$filter")
        [[ -z "$ids" ]] || docker rm -f -v $ids >/dev/null 2>&1 || true
        for kind in network volume; do
            ids=$(docker $kind ls -q --filter "label=$filter")
            [[ -z "$ids" ]] || docker $kind rm $ids >/dev/null 2>&1 || true
        done
    done
    if [[ -f "$TMP/tags" ]]; then mapfile -t tags <"$TMP/tags"; fi
    [[ ${#tags[@]} == 0 ]] || docker image rm "${tags[@]}" >/dev/null 2>&1 || true
    # berth's release records and the tags keeping its releases' images, by
    # reference, never by id: they tag the shared test image too.
    tags=()
    for filter in "berth-releases/sl-b-$TAG" "berth-releases/sl-b-$TAG/*"; do
        mapfile -t -O "${#tags[@]}" tags < <(docker image ls --filter "reference=$filter" \
            --format '{{.Repository}}:{{.Tag}}' 2>/dev/null || true)
    done
    [[ ${#tags[@]} == 0 ]] || docker image rm "${tags[@]}" >/dev/null 2>&1 || true
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "$ALT_IMAGE" >>"$TMP/tags"
printf 'FROM %s\nLABEL io.berth.bench=slowlink-alt\n' "$IMAGE" \
    | DOCKER_BUILDKIT=0 docker build -q -t "$ALT_IMAGE" - >/dev/null 2>&1 \
    || die "cannot build $ALT_IMAGE from $IMAGE"

# The proxy: PROXY_TARGET is what it forwards to, HOST_FORMAT the DOCKER_HOST
# the tools get ({port}: the proxy's), PROXY_HTTP whether it can see HTTP
# (and so count waves).
link_tcp() {
    PROXY_TARGET="unix:$ENGINE_SOCKET"
    HOST_FORMAT="tcp://127.0.0.1:{port}"
    PROXY_HTTP=--http
}

# The hook for ssh://: the proxy in front of an sshd on 127.0.0.1, both tools
# on DOCKER_HOST=ssh://SSH_USER@127.0.0.1:PROXY_PORT. The stream is
# encrypted, so the proxy cannot count waves: the wave column then comes
# from a second proxy, plain tcp, that the same commands go through once
# (untimed). ssh must log in without a prompt ([127.0.0.1]:PORT in
# known_hosts or StrictHostKeyChecking accept-new, a key in the agent), and
# berth must speak ssh:// (issue 19).
link_ssh() {
    PROXY_TARGET="tcp:127.0.0.1:$SSH_PORT"
    HOST_FORMAT="ssh://$SSH_USER@127.0.0.1:{port}"
    PROXY_HTTP=--no-http
    command -v ssh >/dev/null || die "BENCH_LINK=ssh needs ssh"
    timeout 10 ssh -o BatchMode=yes -p "$SSH_PORT" "$SSH_USER@127.0.0.1" docker version >/dev/null 2>&1 \
        || die "BENCH_LINK=ssh: cannot run docker over 'ssh -p $SSH_PORT $SSH_USER@127.0.0.1' without a prompt"
}

case "$BENCH_LINK" in
    tcp) link_tcp ;;
    ssh) link_ssh ;;
    *) die "BENCH_LINK must be tcp or ssh, not $BENCH_LINK" ;;
esac

start_proxy() { # name target http -> prints the port; pid in $TMP/NAME.pid
    local name=$1 target=$2 http=$3
    python3 "$ROOT/bench/slowlink.py" serve --target "$target" $http \
        --delay-ms "$DELAY_MS" --connect-ms "$CONNECT_MS" --lifetime 3600 \
        --control "$TMP/$name.sock" --port-file "$TMP/$name.port" \
        >/dev/null 2>"$TMP/$name.log" &
    echo $! >"$TMP/$name.pid"
    for _ in $(seq 100); do
        [[ -s "$TMP/$name.port" ]] && return 0
        sleep 0.1
    done
    die "the proxy did not start: $(cat "$TMP/$name.log")"
}

start_proxy link "$PROXY_TARGET" "$PROXY_HTTP"
PROXY_PID=$(cat "$TMP/link.pid")
LINK_HOST=${HOST_FORMAT/\{port\}/$(cat "$TMP/link.port")}
WAVES_HOST=
if [[ "$PROXY_HTTP" == --no-http ]]; then
    start_proxy waves "unix:$ENGINE_SOCKET" --http
    WAVES_PID=$(cat "$TMP/waves.pid")
    PROXY_PID="$PROXY_PID $WAVES_PID"
    WAVES_HOST=tcp://127.0.0.1:$(cat "$TMP/waves.port")
fi
DOCKER_HOST=$LINK_HOST timeout 60 "$BERTH" ps -p "sl-probe-$TAG" >/dev/null 2>"$TMP/probe" \
    || die "berth cannot reach the engine over $LINK_HOST: $(cat "$TMP/probe")"

python3 - "$BERTH" "$TMP" "$TAG" "$RUNS" "$N" "$IMAGE" "$ALT_IMAGE" "$LINK_HOST" "$WAVES_HOST" \
    "$BENCH_LINK" "$DELAY_MS" "$CONNECT_MS" "${compose_argv[@]}" <<'PY'
import json, os, socket, statistics, subprocess, sys, time

(berth, tmp, tag, runs, n, image, alt_image, link_host, waves_host, link, delay_ms,
 connect_ms) = sys.argv[1:13]
compose = sys.argv[13:]
runs, n = int(runs), int(n)
ERR = os.path.join(tmp, "stderr")
SLEEP = ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
LOCAL = {k: v for k, v in os.environ.items() if k != "DOCKER_HOST"}

def fail(msg):
    sys.stderr.write("\nbench/slowlink.sh: error: %s\n" % msg)
    sys.exit(2)

def control(name, line):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(10)
    s.connect(os.path.join(tmp, name + ".sock"))
    s.sendall(line.encode() + b"\n")
    return json.loads(s.makefile().readline())

WAVES_PROXY = "waves" if waves_host else "link"

def over(host):
    return dict(os.environ, DOCKER_HOST=host)

def run(argv, host):
    with open(ERR, "wb") as err:
        t0 = time.perf_counter()
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=err, env=over(host))
        wall = time.perf_counter() - t0
    return p.returncode, wall

def timed(argv, ok=(0,)):
    """Wall time of argv over the link, and its waves (from the link, or a
    second, plain proxy for an encrypted link)."""
    control("link", "reset")
    rc, wall = run(argv, link_host)
    if rc not in ok:
        msg = open(ERR, errors="replace").read()[-3000:]
        fail("%s exited %d over %s\n%s" % (" ".join(argv), rc, link_host, msg))
    time.sleep(0.2)  # the last answers through the proxy's delay
    stats = control("link", "stats")
    return wall, stats.get("waves")

def waves_of(argv, ok=(0,)):
    if not waves_host:
        return None
    control("waves", "reset")
    rc, _ = run(argv, waves_host)
    if rc not in ok:
        fail("%s exited %d over %s" % (" ".join(argv), rc, waves_host))
    time.sleep(0.2)
    return control("waves", "stats").get("waves")

def local(argv):
    return subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          env=LOCAL)

def local_ok(argv):
    p = local(argv)
    if p.returncode != 0:
        fail("%s exited %d\n%s" % (" ".join(argv), p.returncode, p.stderr[-2000:]))
    return p.stdout

class Tool:
    def __init__(self, name):
        self.name = name
        self.project = "sl-%s-%s" % (name[0], tag)
        self.label = "%s=%s" % ({"berth": "io.berth.project",
                                 "compose": "com.docker.compose.project"}[name], self.project)
        # Its own tag for the service whose image moves, so that moving one
        # tool's tag changes nothing for the other.
        self.moving = "berth-bench/slowlink:%s-%s" % (name, tag)
        with open(os.path.join(tmp, "labels"), "a") as f:
            f.write(self.label + "\n")
        with open(os.path.join(tmp, "tags"), "a") as f:
            f.write(self.moving + "\n")
        local_ok(["docker", "image", "tag", image, self.moving])
        services = {}
        for i in range(1, n + 1):
            services["svc%02d" % i] = {"image": self.moving if i == 1 else image,
                                       "command": SLEEP}
        self.file = os.path.join(tmp, "%s.json" % self.project)
        with open(self.file, "w") as f:
            json.dump({"services": services}, f, indent=1)  # JSON is YAML

    def argv(self, op):
        if self.name == "berth":
            base = [berth, "-f", self.file, "-p", self.project]
            return base + {"up": ["up"], "plan": ["plan"], "ps": ["ps"]}[op]
        base = compose + ["-f", self.file, "-p", self.project]
        return {"up": base + ["up", "-d"],
                "plan": compose + ["--dry-run", "-f", self.file, "-p", self.project, "up", "-d"],
                "ps": base + ["ps"]}[op]

    def moved_image(self):
        """The image id svc01's container runs."""
        ids = local_ok(["docker", "ps", "-aq", "--filter", "label=" + self.label]).split()
        out = local_ok(["docker", "inspect", "--format",
                        "{{.Name}} {{.Image}} {{.State.Running}}"] + ids).split("\n")
        rows = [l.split() for l in out if l.strip()]
        if len(rows) != n or any(r[2] != "true" for r in rows):
            fail("%s: expected %d running containers, got %s" % (self.name, n, rows))
        return [r[1] for r in rows if r[0].endswith("svc01-1")][0]

def image_id(ref):
    return local_ok(["docker", "image", "inspect", "-f", "{{.Id}}", ref]).strip()

tools = [Tool("berth"), Tool("compose")]
sys.stderr.write("cold up of %d services for each tool (over the link, untimed)...\n" % n)
for t in tools:
    timed(t.argv("up"))
    t.moved_image()  # every container runs
for t in tools:  # warm-up, and berth's plan must find nothing to do
    timed(t.argv("up"))
    timed(t.argv("plan"))
    timed(t.argv("ps"))

times, waves, notes = {}, {}, set()
ids = {"a": image_id(image), "b": image_id(alt_image)}
TTY = sys.stderr.isatty()
sys.stderr.write("measuring over %s, %s ms each way (%d runs)...\n" % (link, delay_ms, runs))
for i in range(runs):
    order = tools[i % 2:] + tools[:i % 2]
    for t in order:
        for op in ("up", "plan", "ps"):
            wall, w = timed(t.argv(op))
            times.setdefault((t.name, op), []).append(wall)
            w2 = waves_of(t.argv(op))
            waves.setdefault((t.name, op), []).append(w2 if waves_host else w)
        # One service's image changes: move its tag to the other image.
        target = "b" if i % 2 == 0 else "a"
        local_ok(["docker", "image", "tag", alt_image if target == "b" else image, t.moving])
        wall, w = timed(t.argv("up"))
        times.setdefault((t.name, "change"), []).append(wall)
        waves.setdefault((t.name, "change"), []).append(w)
        if t.moved_image() != ids[target]:
            notes.add("%s did not recreate the service whose image changed" % t.name)
        if t.name == "berth" and local([berth, "-f", t.file, "-p", t.project, "plan"]).returncode:
            notes.add("berth plan saw changes after the image change")
    msg = "  run %d/%d" % (i + 1, runs)
    sys.stderr.write(("\r" + msg) if TTY else (msg + "\n"))
if TTY:
    sys.stderr.write("\n")

med = {k: statistics.median(v) for k, v in times.items()}
wmax = {k: max(v) if all(x is not None for x in v) else None for k, v in waves.items()}
OPS = [("up", "no-op up", "up -d"), ("plan", "no-op plan", "--dry-run up -d"),
       ("ps", "ps", "ps"), ("change", "image change", "up -d")]
TARGET_RATIO, TARGET_WAVES = 0.25, 4

def w(x):
    return "-" if x is None else str(x)

print()
print("%d services over %s://, %s ms each way (%s ms round trip)%s; median of %d runs"
      % (n, link, delay_ms, 2 * int(delay_ms),
         ", +%s ms per new connection" % connect_ms if connect_ms != "0" else "", runs))
print("%-13s %9s %9s %7s   %-16s %11s %13s" % ("op", "berth", "compose", "ratio", "compose ran",
                                               "berth waves", "compose waves"))
for op, label, peer in OPS:
    b, c = med[("berth", op)], med[("compose", op)]
    print("%-13s %8.3fs %8.3fs %7.3f   %-16s %11s %13s" % (
        label, b, c, b / c, peer, w(wmax[("berth", op)]), w(wmax[("compose", op)])))
print()
print("waves: sequential round trips of the command (the most seen in a run),"
      " counted by bench/slowlink.py")
ratio = med[("berth", "up")] / med[("compose", "up")]
noop_waves = wmax[("berth", "up")]
ok_ratio = ratio <= TARGET_RATIO
ok_waves = noop_waves is not None and noop_waves <= TARGET_WAVES
print("target no-op up: berth/compose %.3f <= %.2f %s; %s sequential round trips <= %d %s" % (
    ratio, TARGET_RATIO, "PASS" if ok_ratio else "FAIL", w(noop_waves), TARGET_WAVES,
    "PASS" if ok_waves else "FAIL"))
print("%s" % ("PASS" if ok_ratio and ok_waves else "FAIL"))
for note in sorted(notes):
    print("note: " + note)
PY
