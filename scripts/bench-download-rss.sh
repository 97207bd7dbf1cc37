#!/usr/bin/env bash
# Memory of an artifact download: logs a 1 GiB random file as an artifact (through the Python
# package), starts `runicorn viewer` on the store and downloads the file with curl, then reports
# the viewer's resident memory before the download (VmRSS) and its peak (VmHWM) after it. The
# download is streamed chunk by chunk (ArtifactFileReader -> BodySource), so the peak should rise
# by about one chunk plus the session's buffer, not by the file's size.
# Baseline in the same run: the same file copied with `cat` into /dev/null (its own peak RSS).
# Usage: scripts/bench-download-rss.sh   (env: BUILD_DIR=build, SIZE_MIB=1024, PORT=23392)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build}
bin="$build/apps/runicorn"
size_mib=${SIZE_MIB:-1024}
port=${PORT:-23392}
work=$(mktemp -d)
trap 'kill $viewer 2>/dev/null || true; rm -rf "$work"' EXIT

head -c $((size_mib << 20)) /dev/urandom > "$work/weights.bin"
PYTHONPATH="$build/python" /usr/bin/python3 - "$work" <<'PY'
import sys, runicorn as rn
work = sys.argv[1]
run = rn.init(project="bench", name="download", storage=work + "/store")
art = rn.Artifact("big-model", type="model")
art.add_file(work + "/weights.bin")
run.log_artifact(art)
run.finish()
PY

"$bin" viewer --storage "$work/store" --host 127.0.0.1 --port "$port" --threads 2 > "$work/viewer.log" 2>&1 &
viewer=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/api/health" >/dev/null && break; sleep 0.1; done
kb() { awk -v k="$1" '$1 == k":" {print $2}' "/proc/$viewer/status"; }
before=$(kb VmRSS)
start=$(date +%s.%N)
curl -sf -o "$work/downloaded.bin" "http://127.0.0.1:$port/api/artifacts/big-model/v1/download?path=weights.bin"
end=$(date +%s.%N)
peak=$(kb VmHWM)
cmp -s "$work/weights.bin" "$work/downloaded.bin" || { echo "bench-download-rss: downloaded bytes differ"; exit 1; }
cat_peak=$( { /usr/bin/time -f "%M" cat "$work/weights.bin" > /dev/null; } 2>&1 )
echo "file:                 ${size_mib} MiB"
echo "viewer RSS before:    $((before / 1024)) MiB"
echo "viewer peak after:    $((peak / 1024)) MiB  (rise $(((peak - before) / 1024)) MiB)"
echo "download:             $(awk -v m="$size_mib" -v a="$start" -v b="$end" 'BEGIN {printf "%.0f", m / (b - a)}') MiB/s"
echo "baseline cat peak RSS: $((cat_peak / 1024)) MiB"
