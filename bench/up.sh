#!/usr/bin/env bash
# Benchmark `berth up`/`down` against `docker compose` v2 and the raw engine floor.
#
# One run, one engine, same stacks: a 3-tier stack (frontend -> backend -> db
# with a named volume) and a 40-service stack (busybox httpd/sleep containers on
# one network), all on the local test image. For each tool and stack we time:
#   cold up   - nothing exists; returns when every container runs
#   no-op up  - the same up again on the converged stack (not for the floor)
#   down      - stop and remove containers and networks (volumes kept)
# The raw floor (examples/raw_floor.rs) creates the same networks, volumes and
# containers straight through the API, all at once: what no tool can beat.
# Runs interleave the tools (rotating who goes first) so drift hits all alike;
# we report medians and the ratios against the targets:
#   cold up of 40 services:  berth/compose <= 0.75 and berth/raw <= 1.15
#   no-op up:                berth/compose <= 0.50
#   down of 40 services:     berth/compose <= 0.50
# A FAIL is only reported; the exit status is non-zero only on errors (a build
# or a command failing, missing tools, no engine). Everything the benchmark
# creates is removed at the end, also on errors and Ctrl-C.
#
# Containers trap SIGTERM and exit at once, as well-behaved services do, so
# `down` measures the tools and not the 10 s stop grace period.
#
# Environment:
#   BERTH    berth binary (default: target/release/berth; built if missing)
#   COMPOSE  reference command (default: "docker compose")
#   RUNS     runs per tool and stack (default 5)
#   LARGE_N  services in the large stack (default 40)
#   RAW_PARALLEL  containers the raw floor creates at once (default: all)
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
    # By label, not through the tools: works even when a tool is broken.
    local kind filter
    for filter in "io.berth.project=bb-3t-$TAG" "io.berth.project=bb-$LARGE_N-$TAG" \
                  "com.docker.compose.project=bc-3t-$TAG" "com.docker.compose.project=bc-$LARGE_N-$TAG" \
                  "io.berth.bench.raw=br-3t-$TAG" "io.berth.bench.raw=br-$LARGE_N-$TAG"; do
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

def write_compose(stack, path):
    # JSON is YAML: no quoting trouble with the shell commands.
    services = {}
    for name, s in stack["services"].items():
        svc = {"image": image, "command": s["cmd"], "networks": ["net"]}
        if "depends_on" in s:
            svc["depends_on"] = s["depends_on"]
        if "volume" in s:
            svc["volumes"] = [s["volume"]]
        services[name] = svc
    doc = {"services": services, "networks": {"net": {}},
           "volumes": {v: {} for v in stack["volumes"]}}
    with open(path, "w") as f:
        json.dump(doc, f, indent=1)

def write_raw_spec(stack, project, path):
    containers = []
    for name, s in stack["services"].items():
        c = {"name": "%s-%s-1" % (project, name), "image": image, "cmd": s["cmd"],
             "network": "%s_net" % project, "aliases": [name], "binds": []}
        if "volume" in s:
            v, dest = s["volume"].split(":")
            c["binds"] = ["%s_%s:%s" % (project, v, dest)]
        containers.append(c)
    spec = {"project": project, "networks": ["%s_net" % project],
            "volumes": ["%s_%s" % (project, v) for v in stack["volumes"]],
            "containers": containers}
    with open(path, "w") as f:
        json.dump(spec, f)

def timed(argv):
    with open(ERR, "wb") as err:
        t0 = time.perf_counter()
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
        wall = time.perf_counter() - t0
    if p.returncode != 0:
        msg = open(ERR, errors="replace").read()[-3000:]
        sys.stderr.write("\nbench/up.sh: error: %s exited %d\n%s\n"
                         % (" ".join(argv), p.returncode, msg))
        sys.exit(2)
    return wall

def quiet(argv):
    subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)

def label_clean(label):
    ids = subprocess.run(["docker", "ps", "-aq", "--filter", "label=" + label],
                         capture_output=True, text=True).stdout.split()
    if ids:
        quiet(["docker", "rm", "-f", "-v"] + ids)
    for kind in ("network", "volume"):
        ids = subprocess.run(["docker", kind, "ls", "-q", "--filter", "label=" + label],
                             capture_output=True, text=True).stdout.split()
        if ids:
            quiet(["docker", kind, "rm"] + ids)

class Tool:
    def __init__(self, name, key, stack):
        self.name = name
        self.project = "%s-%s-%s" % ({"berth": "bb", "compose": "bc", "raw": "br"}[name], key, tag)
        self.file = os.path.join(tmp, "%s.json" % self.project)
        if name == "raw":
            write_raw_spec(stack, self.project, self.file)
        else:
            write_compose(stack, self.file)

    def up(self):
        if self.name == "berth":
            return [berth, "-f", self.file, "-p", self.project, "up"]
        if self.name == "compose":
            return compose + ["-f", self.file, "-p", self.project, "up", "-d"]
        return [raw, "up", self.file]

    def down(self):
        if self.name == "berth":
            return [berth, "-f", self.file, "-p", self.project, "down"]
        if self.name == "compose":
            return compose + ["-f", self.file, "-p", self.project, "down"]
        return [raw, "down", self.project]

    def clean(self):
        label = {"berth": "io.berth.project", "compose": "com.docker.compose.project",
                 "raw": "io.berth.bench.raw"}[self.name]
        label_clean("%s=%s" % (label, self.project))

TTY = sys.stderr.isatty()

def measure(key, stack):
    tools = [Tool(n, key, stack) for n in ("berth", "compose", "raw")]
    times = {(t.name, op): [] for t in tools for op in ("cold", "noop", "down")}
    for t in tools:  # warm-up: image layers, plugin discovery; checks each tool works
        t.clean()
        timed(t.up())
        timed(t.down())
        t.clean()
    for i in range(runs):
        order = tools[i % 3:] + tools[:i % 3]
        for t in order:
            times[(t.name, "cold")].append(timed(t.up()))
            if t.name != "raw":
                times[(t.name, "noop")].append(timed(t.up()))
            times[(t.name, "down")].append(timed(t.down()))
            t.clean()
        msg = "  %s: run %d/%d" % (key, i + 1, runs)
        sys.stderr.write(("\r" + msg + "   ") if TTY else (msg + "\n"))
    if TTY:
        sys.stderr.write("\n")
    return {k: statistics.median(v) for k, v in times.items() if v}

sys.stderr.write("measuring (%d runs per tool and stack)...\n" % runs)
large_key = str(large_n)
results = [("3-tier", measure("3t", stack_three_tier())),
           ("%d-svc" % large_n, measure(large_key, stack_large(large_n)))]

TARGETS = {  # (stack kind, op) -> (max berth/compose, max berth/raw)
    ("large", "cold"): (0.75, 1.15),
    ("large", "noop"): (0.50, None),
    ("large", "down"): (0.50, None),
    ("small", "noop"): (0.50, None),
}
OPS = {"cold": "cold up", "noop": "no-op up", "down": "down"}

def fmt_target(ratio, target):
    if target is None:
        return "%6.2f %-7s %-4s" % (ratio, "", "")
    return "%6.2f %-7s %-4s" % (ratio, "<= %.2f" % target, "PASS" if ratio <= target else "FAIL")

print()
print("median wall time over %d runs; targets from issue 3" % runs)
print("%-8s %-9s %9s %9s %9s   %-19s %-19s" % ("stack", "op", "berth", "compose", "raw",
                                               "berth/compose", "berth/raw"))
for name, r in results:
    kind = "small" if name == "3-tier" else "large"
    for op in ("cold", "noop", "down"):
        b, c, w = r.get(("berth", op)), r.get(("compose", op)), r.get(("raw", op))
        tc, tr = TARGETS.get((kind, op), (None, None))
        rc = fmt_target(b / c, tc) if c else "-"
        rr = fmt_target(b / w, tr) if w else "%6s" % "-"
        print("%-8s %-9s %8.3fs %8.3fs %9s   %-19s %-19s" % (
            name, OPS[op], b, c, "%8.3fs" % w if w else "-", rc, rr))
PY
