#!/usr/bin/env bash
# Benchmark what the edge costs (issue 18): one app published directly on a
# 127.0.0.1 port against the same app behind its edge on another 127.0.0.1
# port, same engine, same run.
#
# The app is one container of the local test image: busybox httpd serving a
# small page (index.html, 26 bytes) and a 64 KiB file, and an echo server
# (busybox `nc -ll -e cat`, a process per connection) for persistent
# connections. It publishes its own ports (the direct path) and is the edge's
# target (the edge path): the edge is berth's own, as `up` will make it
# (`berth edge-tool create`, the release build's edge image, the app's
# network, the app's short id in the state file).
#
# examples/edge_load.rs makes the load: closed-loop clients for a fixed time
# per round, rounds alternating direct and edge (rotating who goes first),
# the median of the rounds for requests/s, p50 and p99. Scenarios:
#   http small, 1 client       new connection per request (busybox httpd
#   http small, N clients      closes after every answer: no keep-alive)
#   http 64 KiB, N clients
#   echo 64 B, N clients       persistent connections, one message at a time
# Targets per scenario: edge/direct throughput >= 0.95, p99 added <= 1 ms.
# A FAIL is only reported; the exit status is non-zero only on errors.
#
# For loopback connections Docker's userland proxy (docker-proxy) relays the
# direct path: 127.0.0.1:PORT -> docker-proxy -> the container's address.
# The edge runs in the host's network namespace in docker-proxy's place
# (berth reaches the engine through its unix socket here):
# 127.0.0.1:PORT -> the edge -> the container's address, which it asks the
# engine for. So both paths cross one relay; the edge path measures
# berth's relay against Docker's. (An edge that cannot run on the host's
# network, see src/spec/edge.rs, publishes through docker-proxy and adds a
# relay: that is not what this measures.)
#
# Environment:
#   BERTH    berth binary (default: target/release/berth; built if missing)
#   CLIENTS  concurrent clients of the N-client scenarios (default 8)
#   ROUNDS   rounds per path and scenario (default 5)
#   SECONDS_PER_ROUND  (default 3)
#   IMAGE    app image (default berth-test/busybox:latest)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [[ -n "${BERTH:-}" ]]; then
    if [[ "$BERTH" == */* && "$BERTH" != /* ]]; then BERTH="$PWD/$BERTH"; fi
    BUILD_BERTH=0
else
    BERTH="$ROOT/target/release/berth"
    BUILD_BERTH=1
fi
CLIENTS=${CLIENTS:-8}
ROUNDS=${ROUNDS:-5}
SECONDS_PER_ROUND=${SECONDS_PER_ROUND:-3}
IMAGE=${IMAGE:-berth-test/busybox:latest}
LOAD="$ROOT/target/release/examples/edge_load"

die() { echo "bench/edge.sh: error: $*" >&2; exit 2; }

command -v python3 >/dev/null || die "python3 is required"
command -v docker >/dev/null || die "docker (CLI) is required"
timeout 10 docker info >/dev/null 2>&1 \
    || die "no Docker engine answers${DOCKER_HOST:+ at $DOCKER_HOST}; start dockerd (scripts/engine)"
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

PROJECT="be-$$"
NET="${PROJECT}_default"
APP="${PROJECT}-web-1"
EDGE="${PROJECT}-web-edge"
WORK=$(mktemp -d)

cleanup() {
    local ids
    ids=$(docker ps -aq --filter "label=io.berth.project=$PROJECT" 2>/dev/null || true)
    [[ -z "$ids" ]] || docker rm -f $ids >/dev/null 2>&1 || true
    docker network rm "$NET" >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

read -r DIRECT DIRECT_ECHO EDGE_PORT EDGE_ECHO < <(python3 - <<'EOF'
import socket
socks = [socket.socket() for _ in range(4)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in socks])
EOF
)

docker network create --label "io.berth.project=$PROJECT" --label io.berth.network=default "$NET" >/dev/null
docker run -d --name "$APP" --network "$NET" \
    --label "io.berth.project=$PROJECT" --label io.berth.service=web --label io.berth.number=1 \
    -p "127.0.0.1:$DIRECT:80" -p "127.0.0.1:$DIRECT_ECHO:7" \
    "$IMAGE" sh -c 'mkdir -p /www; echo "hello from the app, small" > /www/index.html;
        head -c 65536 /dev/zero | tr "\0" x > /www/64k.bin;
        nc -ll -p 7 -e cat & exec httpd -f -p 80 -h /www' >/dev/null
SHORT=$(docker inspect -f '{{.Id}}' "$APP" | cut -c1-12)

cat >"$WORK/compose.yaml" <<EOF
services:
  web:
    image: $IMAGE
    ports: ["127.0.0.1:$EDGE_PORT:80", "127.0.0.1:$EDGE_ECHO:7"]
    deploy: {update_config: {order: start-first}}
EOF
berth() { "$BERTH" -f "$WORK/compose.yaml" -p "$PROJECT" "$@"; }
EDGE_IMAGE=$(berth edge-tool image)
berth edge-tool create web --image "$EDGE_IMAGE" >/dev/null
berth edge-tool target "$EDGE" "$SHORT"
docker start "$EDGE" >/dev/null

# Both paths answer before anything is timed.
python3 - "$DIRECT" "$EDGE_PORT" <<'EOF'
import sys, time, urllib.request
for port in sys.argv[1:]:
    deadline = time.time() + 20
    while True:
        try:
            body = urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2).read()
            assert body.startswith(b"hello from the app"), body
            break
        except Exception as e:
            if time.time() > deadline:
                sys.exit(f"bench/edge.sh: port {port} does not answer: {e}")
            time.sleep(0.2)
EOF

proxied="no"
if pgrep -af docker-proxy | grep -q -- "-host-port $DIRECT "; then proxied="yes"; fi
echo "bench/edge.sh: direct 127.0.0.1:$DIRECT (echo $DIRECT_ECHO), edge 127.0.0.1:$EDGE_PORT (echo $EDGE_ECHO) -> $SHORT"
echo "edge image $EDGE_IMAGE ($(docker image inspect -f '{{.Size}}' "$EDGE_IMAGE") bytes), network mode $(docker inspect -f '{{.HostConfig.NetworkMode}}' "$EDGE"); docker-proxy relays the direct path: $proxied"
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) before the run; $ROUNDS rounds x ${SECONDS_PER_ROUND}s per path and scenario"

scenario() {
    local title=$1; shift
    echo
    echo "== $title"
    "$LOAD" --rounds "$ROUNDS" --seconds "$SECONDS_PER_ROUND" "$@"
}
scenario "http small page (26 B), new connection per request, 1 client" \
    --direct "$DIRECT" --edge "$EDGE_PORT" --mode http --path / --bytes 26 --clients 1
scenario "http small page (26 B), new connection per request, $CLIENTS clients" \
    --direct "$DIRECT" --edge "$EDGE_PORT" --mode http --path / --bytes 26 --clients "$CLIENTS"
scenario "http 64 KiB file, new connection per request, $CLIENTS clients" \
    --direct "$DIRECT" --edge "$EDGE_PORT" --mode http --path /64k.bin --bytes 65536 --clients "$CLIENTS"
scenario "echo 64 B over persistent connections, $CLIENTS clients" \
    --direct "$DIRECT_ECHO" --edge "$EDGE_ECHO" --mode echo --clients "$CLIENTS"

echo
echo "the edge's status at the end: $(berth edge-tool status "$EDGE")"
echo "machine load average after the run: $(cut -d' ' -f1-3 /proc/loadavg)"
