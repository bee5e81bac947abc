#!/usr/bin/env bash
# Benchmark `berth config --format json` against `docker compose config --format json`.
#
# Stacks: stacks/guestbook.yaml (small) and a generated N-service stack (large,
# bench/gen_large.py, written to a temp dir). Each command runs several times
# (berth and compose interleaved) and we report:
#   median wall time  - direct runs, timed by python (perf_counter + wait4);
#   peak RSS          - max over separate runs under `/usr/bin/time -f %M`
#                       (covers reaped children, e.g. docker's compose plugin;
#                       wrapping avoids counting the python parent's RSS,
#                       which Linux charges to a forked child at exec);
# then the berth/compose ratios against the targets:
#   time   ratio <= 0.10 on both stacks
#   memory ratio <= 0.33 on the large stack
# A FAIL ratio is only reported; the script exits non-zero only on errors
# (build failure, a command that fails, missing tools).
#
# Environment:
#   BERTH       berth binary (default: target/release/berth; built if missing)
#   COMPOSE     reference command (default: "docker compose")
#   SMALL_RUNS  runs on the small stack (default 10)
#   LARGE_RUNS  runs on the large stack (default 3)
#   LARGE_N     services in the generated stack (default 5000)
#   SMALL_MEM_RUNS / LARGE_MEM_RUNS  extra /usr/bin/time runs for peak RSS (3 / 1)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

if [[ -n "${BERTH:-}" ]]; then
    # Resolve a user-supplied relative path against the caller's cwd.
    if [[ "$BERTH" == */* && "$BERTH" != /* ]]; then BERTH="$PWD/$BERTH"; fi
    BERTH_DEFAULT=0
else
    BERTH="$ROOT/target/release/berth"
    BERTH_DEFAULT=1
fi
COMPOSE=${COMPOSE:-docker compose}
SMALL_RUNS=${SMALL_RUNS:-10}
LARGE_RUNS=${LARGE_RUNS:-3}
LARGE_N=${LARGE_N:-5000}
SMALL_MEM_RUNS=${SMALL_MEM_RUNS:-3}
LARGE_MEM_RUNS=${LARGE_MEM_RUNS:-1}

die() { echo "bench/config.sh: error: $*" >&2; exit 2; }

command -v python3 >/dev/null || die "python3 is required"
if [[ ! -x /usr/bin/time ]]; then
    if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
        echo "installing GNU time (apt-get install -y time)..." >&2
        apt-get install -y time >/dev/null 2>&1 \
            || { apt-get update >/dev/null 2>&1 && apt-get install -y time >/dev/null 2>&1; } \
            || die "could not install GNU time"
    fi
    [[ -x /usr/bin/time ]] || die "GNU time (/usr/bin/time) is required: apt-get install -y time"
fi
read -r -a compose_argv <<<"$COMPOSE"
command -v "${compose_argv[0]}" >/dev/null || die "reference command not found: $COMPOSE"

cd "$ROOT"
if ! command -v "$BERTH" >/dev/null; then
    if [[ $BERTH_DEFAULT == 1 ]]; then
        echo "building berth (cargo build --release)..." >&2
        cargo build --release >&2 || die "cargo build --release failed"
    fi
    command -v "$BERTH" >/dev/null || die "berth binary not found or not executable: $BERTH"
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/berth-bench.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

SMALL="$ROOT/stacks/guestbook.yaml"
LARGE="$TMP/large.yaml"
[[ -f "$SMALL" ]] || die "missing $SMALL"
python3 "$ROOT/bench/gen_large.py" -n "$LARGE_N" "$LARGE" || die "gen_large.py failed"

python3 - "$BERTH" "$SMALL" "$SMALL_RUNS" "$SMALL_MEM_RUNS" \
    "$LARGE" "$LARGE_RUNS" "$LARGE_MEM_RUNS" "$LARGE_N" "$TMP" \
    "${compose_argv[@]}" <<'PY'
import os, statistics, subprocess, sys, time

(berth, small, small_runs, small_mem, large, large_runs, large_mem,
 large_n, tmp) = sys.argv[1:10]
compose = sys.argv[10:]
small_runs, small_mem = int(small_runs), int(small_mem)
large_runs, large_mem = int(large_runs), int(large_mem)
ERR = os.path.join(tmp, "stderr")
RSS = os.path.join(tmp, "rss")

def argv_for(tool, path):
    if tool == "berth":
        return [berth, "-f", path, "config", "--format", "json"]
    return compose + ["-f", path, "config", "--format", "json"]

def spawn(argv, shown):
    """Run argv (stdout to /dev/null); return wall seconds. Exit 2 on failure."""
    with open(ERR, "wb") as err:
        t0 = time.perf_counter()
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=err)
        _, status, _ = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
    p.returncode = code = os.waitstatus_to_exitcode(status)
    if code != 0:
        msg = open(ERR, errors="replace").read()[-2000:]
        sys.stderr.write("\nbench/config.sh: error: %s exited %d\n%s\n"
                         % (" ".join(shown), code, msg))
        sys.exit(2)
    return wall

def wall_once(tool, path):
    return spawn(argv_for(tool, path), argv_for(tool, path))

def rss_once(tool, path):
    """Peak RSS in KiB, via GNU time (its own fork is tiny, unlike python's)."""
    argv = argv_for(tool, path)
    spawn(["/usr/bin/time", "-f", "%M", "-o", RSS] + argv, argv)
    return int(open(RSS).read().split()[-1])

TTY = sys.stderr.isatty()

def progress(msg):
    if TTY:
        sys.stderr.write("\r  " + msg + "   ")
        sys.stderr.flush()

def measure(path, runs, mem_runs):
    walls = {"berth": [], "compose": []}
    rss = {"berth": [], "compose": []}
    label = os.path.basename(path)
    for i in range(runs):
        for tool in walls:  # interleave so drift affects both equally
            walls[tool].append(wall_once(tool, path))
        progress("%s: time run %d/%d" % (label, i + 1, runs))
    for i in range(mem_runs):
        for tool in rss:
            rss[tool].append(rss_once(tool, path))
        progress("%s: memory run %d/%d" % (label, i + 1, mem_runs))
    sys.stderr.write(("\n" if TTY else "") + "  %s: done\n" % label)
    return {t: (statistics.median(walls[t]), max(rss[t])) for t in walls}

# Warm-up (untimed): page cache, docker CLI plugin discovery; also checks both work.
for tool in ("berth", "compose"):
    wall_once(tool, small)

sys.stderr.write("measuring (compose takes a while on the large stack)...\n")
results = [("guestbook", small_runs, measure(small, small_runs, max(1, small_mem))),
           ("large-%s" % large_n, large_runs, measure(large, large_runs, max(1, large_mem)))]

print()
print("%-12s %5s  %-8s %12s %14s" % ("stack", "runs", "tool", "median time", "peak RSS"))
for name, runs, r in results:
    for tool in ("berth", "compose"):
        wall, kib = r[tool]
        print("%-12s %5d  %-8s %10.4f s %10.1f MiB" % (name, runs, tool, wall, kib / 1024))
print()
print("%-12s %-8s %9s %9s  %s" % ("stack", "metric", "ratio", "target", "result"))
targets = {("guestbook", "time"): 0.10, ("large", "time"): 0.10, ("large", "memory"): 0.33}
for name, _, r in results:
    key = name.split("-")[0]
    for metric, idx in (("time", 0), ("memory", 1)):
        ratio = r["berth"][idx] / r["compose"][idx] if r["compose"][idx] else float("inf")
        target = targets.get((key, metric))
        if target is None:
            print("%-12s %-8s %9.3f %9s  %s" % (name, metric, ratio, "-", "-"))
        else:
            print("%-12s %-8s %9.3f %9s  %s" % (name, metric, ratio, "<= %.2f" % target,
                                              "PASS" if ratio <= target else "FAIL"))
PY
