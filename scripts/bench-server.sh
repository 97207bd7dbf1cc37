#!/usr/bin/env bash
# Server benchmark: generates a store of 10,000 runs x 1,000 steps (+ one 1,000,000-step run) with
# `runicorn demo --runs`, starts `runicorn viewer` on it with rate limiting off, and measures with
# wrk (Debian package) in the same run:
#   - GET /api/health req/s, against a baseline in the same run: a 404 for a non-API path (no
#     routing, no handler, no JSON) on the same server — the ratio is the cost of our pipeline;
#   - GET /api/v2/experiments?per_page=50&project=... latency (p50/p99) and req/s;
#   - GET /api/runs/{id}/metrics_step?downsample=1000 on the 1M-step run, latency and req/s;
#   - the viewer's RSS (VmRSS and peak VmHWM) after the load.
# Usage: scripts/bench-server.sh   (env: BUILD_DIR=build, BENCH_STORE=/tmp/runicorn-bench-store,
#        THREADS=2, DURATION=10s, CONNECTIONS=16, PORT=23391)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build}
bin="$build/apps/runicorn"
store=${BENCH_STORE:-/tmp/runicorn-bench-store}
threads=${THREADS:-2}
duration=${DURATION:-10s}
conns=${CONNECTIONS:-16}
port=${PORT:-23391}
command -v wrk >/dev/null || { echo "bench-server: wrk missing (apt-get install wrk)"; exit 1; }
[ -x "$bin" ] || { echo "bench-server: build $bin first"; exit 1; }

if [ ! -d "$store/runs" ]; then
  echo "== generating $store (10,000 runs x 1,000 steps x 2 metrics + one 1,000,000-step run)"
  /usr/bin/time -f "generator: %e s, peak RSS %M KiB" "$bin" demo "$store" --runs 10000 --steps 1000 --projects 10 --big-steps 1000000
fi

limits=$(mktemp)
echo '{"enabled": false}' > "$limits"
"$bin" viewer --storage "$store" --port "$port" --threads "$threads" --rate-limits "$limits" > /tmp/bench-viewer.log 2>&1 &
viewer=$!
trap 'kill -TERM $viewer 2>/dev/null; wait $viewer 2>/dev/null; rm -f "$limits"' EXIT
for _ in $(seq 1 600); do curl -sf "http://127.0.0.1:$port/api/health" >/dev/null && break; sleep 0.1; done
base="http://127.0.0.1:$port"
big=$(curl -s "$base/api/projects/bench_big/names/long_series/runs" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
echo "== viewer pid $viewer, $threads threads; big run $big"
echo "   startup RSS: $(grep VmRSS /proc/$viewer/status | awk '{print $2}') KiB"

run_wrk() {  # name, connections, url
  echo "== $1 (wrk -t1 -c$2 -d$duration)"
  wrk -t1 -c"$2" -d"$duration" --latency "$3" | grep -E 'Requests/sec|Latency |  50%|  99%|Non-2xx'
}
# First chart query builds the series' LOD pyramid (O(length), once per viewer start): time it alone.
echo "== first metrics_step?downsample=1000 on the 1M-step run (builds the pyramid)"
curl -s -o /dev/null -w "   %{time_total} s, %{size_download} bytes\n" "$base/api/runs/$big/metrics_step?downsample=1000"

run_wrk "baseline: 404 on a non-API path" "$conns" "$base/not-found"
run_wrk "GET /api/health" "$conns" "$base/api/health"
run_wrk "GET /api/v2/experiments?per_page=50&project=project_03 (1 connection: latency)" 1 "$base/api/v2/experiments?per_page=50&project=project_03"
run_wrk "GET /api/v2/experiments?per_page=50&project=project_03 (throughput)" "$conns" "$base/api/v2/experiments?per_page=50&project=project_03"
run_wrk "GET metrics_step?downsample=1000 on 1M steps (1 connection: latency)" 1 "$base/api/runs/$big/metrics_step?downsample=1000"
run_wrk "GET metrics_step?downsample=1000 on 1M steps (throughput)" "$conns" "$base/api/runs/$big/metrics_step?downsample=1000"
echo "== viewer memory after the load: $(grep -E 'VmRSS|VmHWM' /proc/$viewer/status | tr -s ' ' | tr '\n' ' ')"
