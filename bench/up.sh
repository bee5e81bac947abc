#!/usr/bin/env bash
# Benchmark `berth up`/`plan`/`down` against `docker compose` v2 and the raw
# engine floor.
#
# One run, one engine, same stacks: a 3-tier stack (frontend -> backend -> db
# with a named volume) and a 40-service stack (busybox httpd/sleep containers on
# one network), all on the local test image. For each tool and stack we time:
#   cold up     - nothing exists; returns when every container runs
#   no-op up    - the same up again on the converged stack (not for the floor)
#   no-op plan  - `berth plan` on the converged stack (berth only; compared
#                 with compose's no-op `up -d`, compose has no plan)
#   down        - stop and remove containers and networks (volumes kept)
# and, on the 40-service stack with `cpus: 0.5` on every service, after both
# tools converged on it (checked with docker inspect):
#   cpus change - the stack rewritten with `cpus: 0.25` everywhere: `berth up`
#                 (updates in place, `docker update`) vs `docker compose up -d`
#                 (recreates), each on its own project
# The raw floor (examples/raw_floor.rs) does the engine work a correct tool
# cannot avoid, as berth does it: volumes and one user-defined bridge network,
# then each container created on it with its alias in the create request and
# started (after what it depends on), 8 at a time; for down, each container
# stopped (after its dependents) and removed, 8 at a time, then the network.
# Runs interleave the tools (rotating who goes first) so drift hits all alike;
# we report medians and the ratios against the targets:
#   cold up:                    berth/raw <= 1.05 (40-svc: berth/compose <= 0.75)
#   down:                       berth/raw <= 1.05 (40-svc: berth/compose <= 0.50)
#   no-op up, no-op plan:       berth/compose <= 0.25
#   cpus change of 40 services: berth/compose <= 0.05
# A FAIL is only reported; the exit status is non-zero only on errors (a build
# or a command failing, missing tools, no engine). Everything the benchmark
# creates is removed at the end, also on errors and Ctrl-C, except a network
# the engine refuses to remove (moby/moby#42119; reported, see below).
#
# Containers trap SIGTERM and exit at once, as well-behaved services do, so
# `down` measures the tools and not the 10 s stop grace period.
#
# Environment:
#   BERTH    berth binary (default: target/release/berth; built if missing)
#   COMPOSE  reference command (default: "docker compose")
#   RUNS     runs per tool and stack (default 5)
#   LARGE_N  services in the large stack (default 40)
#   RAW_PARALLEL  containers the raw floor has in flight (default 8; 0: all)
#   IMAGE    image for every service (default berth-test/busybox:latest, built
#            by scripts/test-image when missing)
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
LARGE_N=${LARGE_N:-40}
IMAGE=${IMAGE:-berth-test/busybox:latest}
RAW="$ROOT/target/release/examples/raw_floor"

die() { echo "bench/up.sh: error: $*" >&2; exit 2; }

command -v python3 >/dev/null || die "python3 is required"
command -v docker >/dev/null || die "docker (CLI) is required"
timeout 10 docker info >/dev/null 2>&1 \
    || die "no Docker engine answers${DOCKER_HOST:+ at $DOCKER_HOST}; start dockerd (scripts/test does)"
read -r -a compose_argv <<<"$COMPOSE"
"${compose_argv[@]}" version >/dev/null 2>&1 || die "reference command does not work: $COMPOSE version"
docker image inspect "$IMAGE" >/dev/null 2>&1 || bash "$ROOT/scripts/test-image" "$IMAGE" \
    || die "cannot build the test image $IMAGE"

cd "$ROOT"
echo "building berth and the raw floor (cargo build --release)..." >&2
if [[ $BUILD_BERTH == 1 ]]; then
    cargo build --release --bin berth --example raw_floor >&2 || die "cargo build --release failed"
else
    cargo build --release --example raw_floor >&2 || die "cargo build --release failed"
fi
[[ -x "$BERTH" ]] || die "berth binary not found or not executable: $BERTH"
"$BERTH" up --help >/dev/null 2>&1 || die "$BERTH has no 'up' command yet"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/berth-bench-up.XXXXXX")
TAG="$$"

cleanup() {
    # By label, not through the tools: works even when a tool is broken. The
    # measuring part appends each project's label to $TMP/labels before it
    # creates anything for it.
    local kind filter ids labels=()
    if [[ -f "$TMP/labels" ]]; then mapfile -t labels <"$TMP/labels"; fi
    for filter in "${labels[@]}"; do
        ids=$(docker ps -aq --filter "label=$filter")
        [[ -z "$ids" ]] || docker rm -f -v $ids >/dev/null 2>&1 || true
        for kind in network volume; do
            ids=$(docker $kind ls -q --filter "label=$filter")
            [[ -z "$ids" ]] || docker $kind rm $ids >/dev/null 2>&1 || true
        done
    done
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

python3 - "$BERTH" "$RAW" "$TMP" "$TAG" "$RUNS" "$LARGE_N" "$IMAGE" "${compose_argv[@]}" <<'PY'
import json, os, statistics, subprocess, sys, time

berth, raw, tmp, tag, runs, large_n, image = sys.argv[1:8]
compose = sys.argv[8:]
runs, large_n = int(runs), int(large_n)
ERR = os.path.join(tmp, "stderr")
CPUS_OLD, CPUS_NEW = 0.5, 0.25

HTTPD = ["sh", "-c", "trap 'exit 0' TERM; httpd -f -p 8080 & wait"]
SLEEP = ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]

def stack_three_tier():
    return {
        "services": {
            "frontend": {"cmd": HTTPD, "depends_on": ["backend"]},
            "backend": {"cmd": HTTPD, "depends_on": ["db"]},
            "db": {"cmd": SLEEP, "volume": "dbdata:/data"},
        },
        "volumes": ["dbdata"],
    }

def stack_large(n):
    return {
        "services": {"svc%02d" % i: {"cmd": HTTPD if i % 2 else SLEEP} for i in range(1, n + 1)},
        "volumes": [],
    }

def write_compose(stack, path, cpus=None):
    # JSON is YAML: no quoting trouble with the shell commands.
    services = {}
    for name, s in stack["services"].items():
        svc = {"image": image, "command": s["cmd"], "networks": ["net"]}
        if "depends_on" in s:
            svc["depends_on"] = s["depends_on"]
        if "volume" in s:
            svc["volumes"] = [s["volume"]]
        if cpus is not None:
            svc["cpus"] = cpus
        services[name] = svc
    doc = {"services": services, "networks": {"net": {}},
           "volumes": {v: {} for v in stack["volumes"]}}
    with open(path, "w") as f:
        json.dump(doc, f, indent=1)

def write_raw_spec(stack, project, path):
    containers = []
    for name, s in stack["services"].items():
        c = {"name": "%s-%s-1" % (project, name), "image": image, "cmd": s["cmd"],
             "network": "%s_net" % project, "aliases": [name], "binds": [],
             "depends_on": ["%s-%s-1" % (project, d) for d in s.get("depends_on", [])]}
        if "volume" in s:
            v, dest = s["volume"].split(":")
            c["binds"] = ["%s_%s:%s" % (project, v, dest)]
        containers.append(c)
    spec = {"project": project, "networks": ["%s_net" % project],
            "volumes": ["%s_%s" % (project, v) for v in stack["volumes"]],
            "containers": containers}
    with open(path, "w") as f:
        json.dump(spec, f)

def fail(msg):
    sys.stderr.write("\nbench/up.sh: error: %s\n" % msg)
    sys.exit(2)

# Engine 20.10 sometimes keeps a stale endpoint count on a network whose
# containers are all gone, and then refuses to remove it until dockerd
# restarts (moby/moby#42119). It can hit any tool: a `down` that failed only
# there keeps its time, and the network is reported at the end.
LEAK = "has active endpoints"
leaks = []

def timed(argv, leak_ok=False):
    with open(ERR, "wb") as err:
        t0 = time.perf_counter()
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
        wall = time.perf_counter() - t0
    if p.returncode != 0:
        msg = open(ERR, errors="replace").read()[-3000:]
        # berth's rendered error wraps long lines inside a box: match the
        # words, not the layout.
        flat = " ".join(msg.replace("\u2502", " ").split())
        if leak_ok and LEAK in flat:
            leaks.append(" ".join(argv))
            return wall
        fail("%s exited %d\n%s" % (" ".join(argv), p.returncode, msg))
    return wall

def out(argv):
    return subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                          text=True).stdout.split()

def quiet(argv):
    subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)

def label_clean(label):
    ids = out(["docker", "ps", "-aq", "--filter", "label=" + label])
    if ids:
        quiet(["docker", "rm", "-f", "-v"] + ids)
    for kind in ("network", "volume"):
        ids = out(["docker", kind, "ls", "-q", "--filter", "label=" + label])
        if ids:
            quiet(["docker", kind, "rm"] + ids)

LABELS = os.path.join(tmp, "labels")
projects = 0

class Tool:
    """One tool on one stack. Every cold up gets a new project name (fresh()),
    so that a network the engine failed to remove cannot get in the way."""

    def __init__(self, name, key, stack, cpus=None):
        self.name, self.key, self.stack, self.cpus = name, key, stack, cpus
        self.fresh()

    def fresh(self):
        global projects
        projects += 1
        self.project = "%s-%s-%s-%d" % ({"berth": "bb", "compose": "bc", "raw": "br"}[self.name],
                                        self.key, tag, projects)
        self.label = "%s=%s" % ({"berth": "io.berth.project",
                                 "compose": "com.docker.compose.project",
                                 "raw": "io.berth.bench.raw"}[self.name], self.project)
        with open(LABELS, "a") as f:  # for the cleanup, before anything exists
            f.write(self.label + "\n")
        self.file = self.write(self.stack, self.cpus)

    def write(self, stack, cpus=None, suffix=""):
        path = os.path.join(tmp, "%s%s.json" % (self.project, suffix))
        if self.name == "raw":
            write_raw_spec(stack, self.project, path)
        else:
            write_compose(stack, path, cpus)
        return path

    def up(self, file=None):
        file = file or self.file
        if self.name == "berth":
            return [berth, "-f", file, "-p", self.project, "up"]
        if self.name == "compose":
            return compose + ["-f", file, "-p", self.project, "up", "-d"]
        return [raw, "up", file]

    def plan(self):
        assert self.name == "berth"
        return [berth, "-f", self.file, "-p", self.project, "plan"]

    def down(self):
        if self.name == "berth":
            return [berth, "-f", self.file, "-p", self.project, "down"]
        if self.name == "compose":
            return compose + ["-f", self.file, "-p", self.project, "down"]
        return [raw, "down", self.file]

    def clean(self):
        label_clean(self.label)

TTY = sys.stderr.isatty()

def progress(key, i):
    msg = "  %s: run %d/%d" % (key, i + 1, runs)
    sys.stderr.write(("\r" + msg + "   ") if TTY else (msg + "\n"))
    if TTY and i + 1 == runs:
        sys.stderr.write("\n")

def measure(key, stack):
    tools = [Tool(n, key, stack) for n in ("berth", "compose", "raw")]
    times = {}
    for t in tools:  # warm-up: image layers, plugin discovery; checks each tool works
        timed(t.up())
        if t.name == "berth":
            timed(t.plan())  # exits 0 only when there is nothing to change
        timed(t.down(), leak_ok=True)
        t.clean()
    for i in range(runs):
        order = tools[i % 3:] + tools[:i % 3]
        for t in order:
            def rec(op, argv, leak_ok=False):
                times.setdefault((t.name, op), []).append(timed(argv, leak_ok))
            t.fresh()
            rec("cold", t.up())
            if t.name != "raw":
                rec("noop", t.up())
            if t.name == "berth":
                rec("plan", t.plan())
            rec("down", t.down(), leak_ok=True)
            t.clean()
        progress(key, i)
    return {k: statistics.median(v) for k, v in times.items()}

def containers(t):
    """(id, running, NanoCpus) of every container of the tool's project."""
    ids = out(["docker", "ps", "-aq", "--filter", "label=" + t.label])
    if not ids:
        return []
    lines = subprocess.run(["docker", "inspect", "--format",
                            "{{.Id}} {{.State.Running}} {{.HostConfig.NanoCpus}}"] + ids,
                           capture_output=True, text=True).stdout.splitlines()
    return [tuple(l.split()) for l in lines]

def converged(t, cpus):
    """The sorted container ids, after checking every service runs with `cpus`."""
    state = containers(t)
    want = str(round(cpus * 1e9))
    if len(state) != large_n or any(r != "true" or n != want for _, r, n in state):
        fail("%s did not converge on cpus %s: %d containers, %s"
             % (t.name, cpus, len(state), sorted(set((r, n) for _, r, n in state))))
    return sorted(i for i, _, _ in state)

def measure_cpus(stack):
    tools = [Tool(n, "cpu", stack, CPUS_OLD) for n in ("berth", "compose")]
    new = {t.name: t.write(stack, CPUS_NEW, "-new") for t in tools}
    times, notes = {}, set()
    for t in tools:  # cold up on the old value
        timed(t.up())
    for i in range(runs):
        order = tools[i % 2:] + tools[:i % 2]
        for t in order:
            timed(t.up())  # back to the old value (nothing to do on the first run)
            before = converged(t, CPUS_OLD)
            if t.name == "berth" and subprocess.run(
                    t.plan(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL).returncode != 0:
                notes.add("berth plan saw changes on the converged old-cpus stack")
            times.setdefault((t.name, "cpus"), []).append(timed(t.up(new[t.name])))
            after = converged(t, CPUS_NEW)
            if t.name == "berth" and after != before:
                notes.add("berth recreated containers for the cpus change")
            if t.name == "compose" and after == before:
                notes.add("compose updated in place for the cpus change")
        progress("cpus", i)
    for t in tools:
        timed(t.down(), leak_ok=True)
        t.clean()
    return {k: statistics.median(v) for k, v in times.items()}, notes

sys.stderr.write("measuring (%d runs per tool and stack)...\n" % runs)
large_key = str(large_n)
small = measure("3t", stack_three_tier())
large = measure(large_key, stack_large(large_n))
cpus, notes = measure_cpus(stack_large(large_n))
large.update(cpus)
results = [("3-tier", small), ("%d-svc" % large_n, large)]

TARGETS = {  # (stack kind, op) -> (max berth/compose, max berth/raw)
    ("small", "cold"): (None, 1.05),
    ("large", "cold"): (0.75, 1.05),
    ("small", "noop"): (0.25, None),
    ("large", "noop"): (0.25, None),
    ("small", "plan"): (0.25, None),
    ("large", "plan"): (0.25, None),
    ("small", "down"): (None, 1.05),
    ("large", "down"): (0.50, 1.05),
    ("large", "cpus"): (0.05, None),
}
OPS = {"cold": "cold up", "noop": "no-op up", "plan": "no-op plan", "down": "down",
       "cpus": "cpus change"}

def fmt_target(ratio, target):
    if target is None:
        return "%6.3f %-7s %-4s" % (ratio, "", "")
    return "%6.3f %-7s %-4s" % (ratio, "<= %.2f" % target, "PASS" if ratio <= target else "FAIL")

def secs(t):
    return "%8.3fs" % t if t else "%9s" % "-"

print()
print("median wall time over %d runs" % runs)
print(("%-8s %-11s %9s %9s %9s   %-20s %s" % ("stack", "op", "berth", "compose", "raw",
                                              "berth/compose", "berth/raw")).rstrip())
for name, r in results:
    kind = "small" if name == "3-tier" else "large"
    for op in OPS:
        b = r.get(("berth", op))
        if b is None:
            continue
        # compose has no plan: berth plan is compared with compose's no-op up -d.
        c = r.get(("compose", "noop" if op == "plan" else op))
        w = r.get(("raw", op))
        tc, tr = TARGETS.get((kind, op), (None, None))
        rc = fmt_target(b / c, tc) if c else "%6s" % "-"
        rr = fmt_target(b / w, tr) if w else "%6s" % "-"
        print(("%-8s %-11s %s %s %s   %-20s %s" % (name, OPS[op], secs(b), secs(c), secs(w),
                                                    rc, rr)).rstrip())
print()
print("no-op plan: the compose column is compose's no-op `up -d` (compose has no plan)")
print("cpus change: cpus %s -> %s on every service of the %d-svc stack, both tools "
      "converged on %s first" % (CPUS_OLD, CPUS_NEW, large_n, CPUS_OLD))
print("raw: create/start and stop/remove straight through the API, %s containers in flight"
      % (os.environ.get("RAW_PARALLEL") or "8"))
for n in sorted(notes):
    print("note: " + n)
if leaks:
    print("note: %d down(s) could not remove their network, an engine bug (moby/moby#42119); "
          "times kept" % len(leaks))
left = []
for label in open(LABELS).read().split():
    label_clean(label)
    left += out(["docker", "network", "ls", "--format", "{{.Name}}", "--filter", "label=" + label])
if left:
    print("warning: the engine will not remove %s (stale endpoint count); "
          "only a dockerd restart frees it" % " ".join(left))
PY
