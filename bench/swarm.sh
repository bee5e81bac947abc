#!/usr/bin/env bash
# Benchmark `berth up --swarm` / `berth down --swarm` against
# `docker stack deploy` / `docker stack rm` on a one-node Docker Swarm.
#
# The stack is shaped like the guestbook: frontend -> backend -> db
# (`depends_on`, db has a health check), each a busybox httpd on the local test
# image, `deploy.endpoint_mode: dnsrr` and one host-mode published port (a free
# port, new for every project), all on one overlay network: no virtual IPs and
# no ingress mesh, which a kernel without IPVS cannot route. For each tool, RUNS times (tools interleaved, rotating who goes
# first, a new project/stack name every run), we time:
#   first deploy - nothing exists; returns when every task runs:
#                  `berth up --swarm --wait` vs `docker stack deploy --detach=false`
#   no-op        - the same file again on the converged stack:
#                  `berth up --swarm` (no update call) vs
#                  `docker stack deploy --detach=false` (updates every service
#                  and waits for it to converge again)
#   down         - `berth down --swarm` vs `docker stack rm`, both until the
#                  stack's services and networks are gone and none of its
#                  containers runs. `docker stack rm` returns before that, so
#                  for it we poll; berth waits itself (we poll after it too, in
#                  case, and count that time).
# and report medians and the berth/docker ratios against the targets:
#   no-op redeploy: <= 0.20    first deploy: <= 1.00    down: no target
# A FAIL is only reported; the exit status is non-zero only on errors.
#
# The engine must be a swarm manager. When it is in no swarm at all (and
# SWARM_INIT is not 0) the script makes a one-node swarm on loopback and leaves
# it at the end; a swarm it did not make is never left. Everything it deploys
# is removed at the end by stack name (label com.docker.stack.namespace, which
# berth sets too), also after an error or Ctrl-C.
#
# Environment:
#   BERTH       berth binary (default: target/release/berth, built by cargo)
#   RUNS        runs per tool (default 3)
#   WARMUP      untimed deploy/no-op/down per tool first (default 1; 0: none)
#   IMAGE       image for every service (default berth-test/busybox:latest,
#               built by scripts/test-image when missing)
#   RESOLVE_IMAGE  `docker stack deploy --resolve-image` (default never: berth
#               asks no registry for digests, and the local test image is on
#               none; `always` is docker's own default)
#   SWARM_INIT  0: fail when the engine is in no swarm, instead of making one
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [[ -n "${BERTH:-}" ]]; then
    if [[ "$BERTH" == */* && "$BERTH" != /* ]]; then BERTH="$PWD/$BERTH"; fi
    BUILD_BERTH=0
else
    BERTH="$ROOT/target/release/berth"
    BUILD_BERTH=1
fi
RUNS=${RUNS:-3}
WARMUP=${WARMUP:-1}
IMAGE=${IMAGE:-berth-test/busybox:latest}
RESOLVE_IMAGE=${RESOLVE_IMAGE:-never}
SWARM_INIT=${SWARM_INIT:-1}

die() { echo "bench/swarm.sh: error: $*" >&2; exit 2; }

command -v python3 >/dev/null || die "python3 is required"
command -v docker >/dev/null || die "docker (CLI) is required"
timeout 10 docker info >/dev/null 2>&1 \
    || die "no Docker engine answers${DOCKER_HOST:+ at $DOCKER_HOST}; start dockerd (scripts/test does)"
docker stack deploy --help 2>/dev/null | grep -q -- '--detach' \
    || die "this Docker CLI's 'docker stack deploy' has no --detach (needs CLI >= 23)"
[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive integer, not '$RUNS'"
docker image inspect "$IMAGE" >/dev/null 2>&1 || bash "$ROOT/scripts/test-image" "$IMAGE" \
    || die "cannot build the test image $IMAGE"

cd "$ROOT"
if [[ $BUILD_BERTH == 1 ]]; then
    echo "building berth (cargo build --release)..." >&2
    cargo build --release --bin berth >&2 || die "cargo build --release failed"
fi
[[ -x "$BERTH" ]] || die "berth binary not found or not executable: $BERTH"
"$BERTH" up --help 2>/dev/null | grep -q -- '--swarm' || die "$BERTH has no 'up --swarm' yet"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/berth-bench-swarm.XXXXXX")
MADE_SWARM=0

cleanup() {
    # By stack name, not through the tools: works even when a tool is broken.
    # The measuring part appends each stack name to $TMP/stacks before it
    # deploys anything under it.
    local n ids left deadline names=()
    if [[ -f "$TMP/stacks" ]]; then mapfile -t names <"$TMP/stacks"; fi
    for n in "${names[@]}"; do
        ids=$(docker service ls -q --filter "label=com.docker.stack.namespace=$n" 2>/dev/null || true)
        [[ -z "$ids" ]] || docker service rm $ids >/dev/null 2>&1 || true
    done
    # A network goes once its tasks are gone: retry for up to a minute.
    deadline=$((SECONDS + 60))
    while :; do
        left=""
        for n in "${names[@]}"; do
            ids=$(docker network ls -q --filter "label=com.docker.stack.namespace=$n" 2>/dev/null || true)
            [[ -z "$ids" ]] || { docker network rm $ids >/dev/null 2>&1 || true; left+=" $n"; }
        done
        [[ -n "$left" && $SECONDS -lt $deadline ]] || break
        sleep 1
    done
    for n in "${names[@]}"; do
        ids=$(docker ps -aq --filter "label=com.docker.stack.namespace=$n" 2>/dev/null || true)
        [[ -z "$ids" ]] || docker rm -f $ids >/dev/null 2>&1 || true
    done
    [[ -z "$left" ]] || echo "bench/swarm.sh: warning: networks of these stacks are left:$left" >&2
    if [[ $MADE_SWARM == 1 ]]; then
        echo "leaving the swarm this script made..." >&2
        docker swarm leave --force >/dev/null 2>&1 \
            || echo "bench/swarm.sh: warning: docker swarm leave --force failed" >&2
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The engine must manage a swarm. Only when it is in none do we make one (on
# loopback) and remember to leave it; a swarm someone else made is left alone.
state=$(docker info --format '{{.Swarm.LocalNodeState}}')
case "$state" in
    active)
        [[ $(docker info --format '{{.Swarm.ControlAvailable}}') == true ]] \
            || die "this engine is a swarm worker; run the benchmark against a manager (DOCKER_HOST)"
        ;;
    inactive)
        [[ "$SWARM_INIT" != 0 ]] \
            || die "this engine is in no swarm (SWARM_INIT=0); run 'docker swarm init' or unset SWARM_INIT"
        echo "the engine is in no swarm: making a one-node swarm on loopback (left at the end)..." >&2
        docker swarm init --advertise-addr 127.0.0.1 --listen-addr 127.0.0.1:2377 >/dev/null \
            || die "docker swarm init on loopback failed"
        MADE_SWARM=1
        ;;
    *)
        die "the engine's swarm state is '$state'; it must be an active swarm manager"
        ;;
esac

python3 - "$BERTH" "$TMP" "$$" "$RUNS" "$WARMUP" "$IMAGE" "$RESOLVE_IMAGE" <<'PY'
import json, os, signal, socket, statistics, subprocess, sys, time

signal.signal(signal.SIGINT, lambda *_: sys.exit(130))  # Ctrl-C: no traceback; bash cleans up

berth, tmp, tag, runs, warmup, image, resolve = sys.argv[1:8]
runs, warmup = int(runs), int(warmup)
ERR = os.path.join(tmp, "stderr")
STACKS = os.path.join(tmp, "stacks")
NS = "com.docker.stack.namespace"
GONE_TIMEOUT = 120  # seconds a down may take before we call it an error

def fail(msg):
    sys.stderr.write("\nbench/swarm.sh: error: %s\n" % msg)
    sys.exit(2)

def free_ports(n):
    """n distinct free TCP ports (host-mode ports bind on every address)."""
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.bind(("", 0))
        socks.append(s)
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports

def httpd(page):
    return ["sh", "-c", "trap 'exit 0' TERM; mkdir -p /www; echo %s > /www/index.html; "
            "httpd -f -p 8080 -h /www & wait" % page]

def write_stack(path, ports):
    # JSON is YAML: no quoting trouble with the shell commands. depends_on in
    # list form: docker stack deploy refuses the long form (and ignores the
    # order); berth starts a service once what it depends on has converged.
    def svc(name, port, deps):
        s = {"image": image, "command": httpd(name), "networks": ["net"],
             "ports": [{"target": 8080, "published": port, "mode": "host"}],
             "deploy": {"endpoint_mode": "dnsrr"}}
        if deps:
            s["depends_on"] = deps
        return s
    db = svc("db", ports[0], None)
    db["healthcheck"] = {"test": ["CMD", "wget", "-q", "-O-", "http://127.0.0.1:8080/"],
                         "interval": "1s", "timeout": "2s", "retries": 30}
    doc = {"services": {"db": db,
                        "backend": svc("backend", ports[1], ["db"]),
                        "frontend": svc("frontend", ports[2], ["backend"])},
           "networks": {"net": {}}}
    with open(path, "w") as f:
        json.dump(doc, f, indent=1)

def timed(argv):
    with open(ERR, "wb") as err:
        t0 = time.perf_counter()
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
        wall = time.perf_counter() - t0
    if p.returncode != 0:
        fail("%s exited %d\n%s" % (" ".join(argv), p.returncode,
                                   open(ERR, errors="replace").read()[-3000:]))
    return wall

def out(argv):
    p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    if p.returncode != 0:
        fail("%s exited %d\n%s" % (" ".join(argv), p.returncode, p.stderr[-3000:]))
    return p.stdout.split()

def leftovers(name):
    """What of stack `name` is still there: services, networks, running containers."""
    f = ["--filter", "label=%s=%s" % (NS, name)]
    return (out(["docker", "service", "ls", "-q"] + f)
            + out(["docker", "network", "ls", "-q"] + f)
            + out(["docker", "ps", "-q"] + f))

def wait_gone(name, t0):
    """Poll until nothing of the stack is left; the time since t0."""
    while leftovers(name):
        if time.perf_counter() - t0 > GONE_TIMEOUT:
            fail("stack %s still not gone after %d s" % (name, GONE_TIMEOUT))
        time.sleep(0.05)
    return time.perf_counter() - t0

def services(name):
    """{service name: (version index, running/desired replicas)}"""
    ids = out(["docker", "service", "ls", "-q", "--filter", "label=%s=%s" % (NS, name)])
    if not ids:
        return {}
    lines = subprocess.run(["docker", "service", "inspect", "--format",
                            "{{.Spec.Name}} {{.Version.Index}}"] + ids,
                           capture_output=True, text=True).stdout.split("\n")
    reps = dict(l.split() for l in subprocess.run(
        ["docker", "service", "ls", "--format", "{{.Name}} {{.Replicas}}",
         "--filter", "label=%s=%s" % (NS, name)],
        capture_output=True, text=True).stdout.splitlines() if l.strip())
    return {n: (v, reps.get(n)) for n, v in (l.split() for l in lines if l.strip())}

def check_running(tool, name):
    s = services(name)
    if len(s) != 3 or any(r != "1/1" for _, r in s.values()):
        fail("%s: after the first deploy of %s not every task runs: %s" % (tool, name, s))
    return s

count = 0
notes = set()

class Tool:
    def __init__(self, name):
        self.name = name

    def fresh(self):
        global count
        count += 1
        self.stack = "%s-%s-%d" % ({"berth": "swb", "docker": "swd"}[self.name], tag, count)
        with open(STACKS, "a") as f:  # for the cleanup, before anything exists
            f.write(self.stack + "\n")
        self.file = os.path.join(tmp, self.stack + ".json")
        write_stack(self.file, free_ports(3))

    def deploy(self, first):
        if self.name == "berth":
            return [berth, "-f", self.file, "-p", self.stack, "up", "--swarm"] + \
                   (["--wait"] if first else [])
        return ["docker", "stack", "deploy", "--detach=false", "--resolve-image", resolve,
                "-c", self.file, self.stack]

    def down(self):
        if self.name == "berth":
            return [berth, "-f", self.file, "-p", self.stack, "down", "--swarm"]
        return ["docker", "stack", "rm", self.stack]

    def cycle(self, rec):
        """first deploy, no-op, down; rec(op, seconds)."""
        self.fresh()
        rec("first", timed(self.deploy(True)))
        before = check_running(self.name, self.stack)
        rec("noop", timed(self.deploy(False)))
        after = services(self.stack)
        same = {n: v for n, (v, _) in before.items()} == {n: v for n, (v, _) in after.items()}
        if self.name == "berth" and not same:
            notes.add("berth's no-op up --swarm changed service versions")
        if self.name == "docker" and same:
            notes.add("docker stack deploy left every service version as it was")
        t0 = time.perf_counter()
        timed(self.down())
        rec("down", wait_gone(self.stack, t0))

TTY = sys.stderr.isatty()

def progress(i):
    msg = "  run %d/%d" % (i + 1, runs)
    sys.stderr.write(("\r" + msg + "   ") if TTY else (msg + "\n"))
    if TTY and i + 1 == runs:
        sys.stderr.write("\n")

tools = [Tool("berth"), Tool("docker")]
times = {}
if warmup:
    sys.stderr.write("warm-up (untimed)...\n")
    for _ in range(warmup):
        for t in tools:
            t.cycle(lambda op, s: None)
sys.stderr.write("measuring (%d runs per tool)...\n" % runs)
for i in range(runs):
    order = tools[i % 2:] + tools[:i % 2]
    for t in order:
        t.cycle(lambda op, s, t=t: times.setdefault((t.name, op), []).append(s))
    progress(i)
med = {k: statistics.median(v) for k, v in times.items()}

TARGETS = {"first": 1.00, "noop": 0.20, "down": None}
OPS = {"first": "first deploy", "noop": "no-op redeploy", "down": "down"}
print()
print("median wall time over %d runs (3 services, one-node swarm)" % runs)
print("%-15s %9s %9s   %s" % ("op", "berth", "docker", "berth/docker"))
for op, label in OPS.items():
    b, d = med[("berth", op)], med[("docker", op)]
    r, tgt = b / d, TARGETS[op]
    verdict = "<= %.2f  %s" % (tgt, "PASS" if r <= tgt else "FAIL") if tgt is not None else ""
    print(("%-15s %8.3fs %8.3fs   %6.3f  %s" % (label, b, d, r, verdict)).rstrip())
print()
print("first deploy: berth up --swarm --wait vs docker stack deploy --detach=false "
      "--resolve-image %s" % resolve)
print("no-op redeploy: berth up --swarm (no update call) vs the same docker stack deploy again")
print("down: berth down --swarm vs docker stack rm, both until services, networks and "
      "running containers are gone")
for n in sorted(notes):
    print("note: " + n)
PY
