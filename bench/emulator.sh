#!/usr/bin/env bash
# Throughput benchmark of the compliance emulator, driven by curl.
#
#   bench/emulator.sh [N]          N IDs to upload (default 20000000; or env N)
#
# Steps: build the release binary and the gen-ids example; generate N IDs
# into bench/data/ids-N.txt (reused when present); start the emulator with
# --event-percent $EVENT_PERCENT (default 25, so the results are sizeable)
# and its data under bench/data/emu; create a job with curl; upload with
# `curl -T FILE -H 'Content-Type: text/plain' URL`; poll until the job is
# complete; download with `curl -o`; stop the emulator.
#
# Reports upload and download throughput (bytes / curl's time_total, in
# MB/s = 10^6 bytes/s), the processing time, and the emulator's peak RSS
# (VmHWM from /proc/PID/status): a short summary, then one JSON object on
# the last line. A second download to /dev/null shows the server's speed
# without curl's own file writes, which bound the first one.
#
# Warm-up: on a VM, writing into memory the guest has never touched runs at
# a fraction of the normal speed (the host faults it in), which would
# measure the VM rather than the emulator. Unless WARMUP=0, the script first
# writes and deletes a scratch file of 5x the upload size so that the page
# cache reuses warm memory. bench/data/ is git-ignored; the emulator's copy of the
# upload and results, and the downloaded results, are deleted at the end
# unless KEEP_DATA=1 (the ID file is kept for the next run).
#
# Needs bash, cargo, curl and jq. Honours CARGO_TARGET_DIR.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
N="${1:-${N:-20000000}}"
EVENT_PERCENT="${EVENT_PERCENT:-25}"
DATA="$ROOT/bench/data"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
IDS="$DATA/ids-$N.txt"
RESULTS="$DATA/results-$N.jsonl"
EMU_DATA="$DATA/emu"

# shellcheck source=bench/common.sh
source "$ROOT/bench/common.sh"

mkdir -p "$DATA"
log "building release binaries..."
(cd "$ROOT" && cargo build --quiet --release -p compliance-emulator \
    --bin compliance-emulator --example gen-ids)

ensure_ids "$TARGET/release/examples/gen-ids" "$IDS" "$N"
UPLOAD_BYTES=$(stat -c %s "$IDS")

warm_up "$UPLOAD_BYTES" "$DATA"

rm -rf "$EMU_DATA"
ENV_FILE="$DATA/emulator.env"
"$TARGET/release/compliance-emulator" --event-percent "$EVENT_PERCENT" \
    --rate-limit 1000000 --data-dir "$EMU_DATA" > "$ENV_FILE" 2> "$DATA/emulator.log" &
EMU_PID=$!
cleanup() {
    kill "$EMU_PID" 2> /dev/null || true
    wait "$EMU_PID" 2> /dev/null || true
    if [[ "${KEEP_DATA:-0}" != 1 ]]; then rm -rf "$EMU_DATA" "$RESULTS"; fi
}
trap cleanup EXIT

for _ in $(seq 100); do
    [[ $(wc -l < "$ENV_FILE") -ge 2 ]] && break
    sleep 0.1
done
# shellcheck disable=SC1090
source "$ENV_FILE"
AUTH="Authorization: Bearer $BEARER_TOKEN"

JOB=$(curl -sf -X POST -H "$AUTH" -H 'Content-Type: application/json' \
    -d '{"type":"tweets","name":"bench"}' "$X_API_URL/2/compliance/jobs")
JOB_ID=$(jq -r .data.id <<< "$JOB")
UPLOAD_URL=$(jq -r .data.upload_url <<< "$JOB")
DOWNLOAD_URL=$(jq -r .data.download_url <<< "$JOB")

log "uploading $UPLOAD_BYTES bytes..."
read -r UP_STATUS UP_TIME < <(curl -s -o /dev/null -w '%{http_code} %{time_total}\n' \
    -T "$IDS" -H 'Content-Type: text/plain' "$UPLOAD_URL")
[[ "$UP_STATUS" == 200 ]] || { log "upload failed: HTTP $UP_STATUS"; exit 1; }

START=$(date +%s.%N)
while :; do
    STATUS=$(curl -sf -H "$AUTH" "$X_API_URL/2/compliance/jobs/$JOB_ID" | jq -r .data.status)
    [[ "$STATUS" == complete ]] && break
    [[ "$STATUS" == in_progress ]] || { log "unexpected status $STATUS"; exit 1; }
    sleep 0.05
done
PROCESSING=$(awk -v a="$(date +%s.%N)" -v b="$START" 'BEGIN { print a - b }')

log "downloading..."
read -r DOWN_STATUS DOWN_BYTES DOWN_TIME < <(curl -s -o "$RESULTS" \
    -w '%{http_code} %{size_download} %{time_total}\n' "$DOWNLOAD_URL")
[[ "$DOWN_STATUS" == 200 ]] || { log "download failed: HTTP $DOWN_STATUS"; exit 1; }

read -r NULL_STATUS NULL_TIME < <(curl -s -o /dev/null \
    -w '%{http_code} %{time_total}\n' "$DOWNLOAD_URL")
[[ "$NULL_STATUS" == 200 ]] || { log "download failed: HTTP $NULL_STATUS"; exit 1; }

PEAK_RSS_KB=$(awk '/^VmHWM:/ {print $2}' "/proc/$EMU_PID/status")
EVENTS=$(wc -l < "$RESULTS")
UP_MBPS=$(awk -v b="$UPLOAD_BYTES" -v t="$UP_TIME" 'BEGIN { print b / t / 1e6 }')
DOWN_MBPS=$(awk -v b="$DOWN_BYTES" -v t="$DOWN_TIME" 'BEGIN { print b / t / 1e6 }')
NULL_MBPS=$(awk -v b="$DOWN_BYTES" -v t="$NULL_TIME" 'BEGIN { print b / t / 1e6 }')

printf 'ids:        %d (%d bytes), %d events in %d result bytes\n' \
    "$N" "$UPLOAD_BYTES" "$EVENTS" "$DOWN_BYTES"
printf 'upload:     %.0f MB/s (%.3f s)\n' "$UP_MBPS" "$UP_TIME"
printf 'processing: %.2f s\n' "$PROCESSING"
printf 'download:   %.0f MB/s (%.3f s) to a file\n' "$DOWN_MBPS" "$DOWN_TIME"
printf 'download:   %.0f MB/s (%.3f s) to /dev/null\n' "$NULL_MBPS" "$NULL_TIME"
printf 'peak RSS:   %d KiB\n' "$PEAK_RSS_KB"
jq -cn --argjson ids "$N" --argjson upload_bytes "$UPLOAD_BYTES" \
    --argjson upload_seconds "$UP_TIME" --argjson upload_mb_per_s "$(printf '%.1f' "$UP_MBPS")" \
    --argjson processing_seconds "$(printf '%.3f' "$PROCESSING")" \
    --argjson download_bytes "$DOWN_BYTES" --argjson download_seconds "$DOWN_TIME" \
    --argjson download_mb_per_s "$(printf '%.1f' "$DOWN_MBPS")" \
    --argjson download_null_mb_per_s "$(printf '%.1f' "$NULL_MBPS")" \
    --argjson events "$EVENTS" --argjson peak_rss_kib "$PEAK_RSS_KB" \
    '{ids: $ids, upload_bytes: $upload_bytes, upload_seconds: $upload_seconds,
      upload_mb_per_s: $upload_mb_per_s, processing_seconds: $processing_seconds,
      download_bytes: $download_bytes, download_seconds: $download_seconds,
      download_mb_per_s: $download_mb_per_s,
      download_to_dev_null_mb_per_s: $download_null_mb_per_s, events: $events, peak_rss_kib: $peak_rss_kib}'
