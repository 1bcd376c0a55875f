#!/usr/bin/env bash
# End-to-end benchmark of upload-ids and download-results against curl.
#
#   bash bench/run.sh [N]      N IDs (default 20000000, about 400 MB; or env N)
#
# What it does, all on 127.0.0.1 against the offline emulator:
#   1. builds the workspace's release binaries and examples;
#   2. generates N IDs into bench/data/ids-N.txt with the gen-ids example
#      (reused when present; bench/data/ is git-ignored);
#   3. starts compliance-emulator (release) with --processing-delay 0 and
#      --event-percent $EVENT_PERCENT (default 26: at least 5 million events
#      for the default N), its data under bench/data/run-emu (or $EMU_DATA,
#      say on a tmpfs, to keep its disk writes out of the timings);
#   4. uploads the IDs once with curl to a job and waits for it to complete:
#      that job's results are what the downloads fetch;
#   5. times, RUNS times (default 5) each, alternating ours and curl:
#        upload-ids --ids-file FILE --url URL   vs  curl -T FILE -H 'Content-Type: text/plain' URL
#      each to a fresh job (created before the timer starts, cancelled after
#      it stops so that the next job can be created and the emulator does
#      not generate results during the next run);
#        download-results --url URL --results-file OUT   vs  curl -o OUT URL
#      of the job of step 4; then `create-job --help` (stdout to /dev/null);
#   6. checks once that the emulator stored exactly the ID file (it is
#      already normalised) from our upload, and that our results file is
#      byte-identical to curl's.
# Each command's time is wall-clock, process start to exit, taken with
# bash's EPOCHREALTIME. Our tools run with stderr to a file (bench/data/run),
# so they take their quiet path (progress only shows on a terminal).
#
# Prints each run's two times on stderr as it goes (the VM this was written
# on is noisy: the spread tells how far to trust the medians), then a short
# summary on stderr and one JSON object as the last line of
# stdout: medians, throughput in MB/s (10^6 bytes/s), the ratios ours/curl
# (target >= 0.9), the largest max RSS seen of each measured process, the
# emulator's VmHWM, the machine. Max RSS comes from `/usr/bin/time -f %M`
# when it is GNU time, else from VmHWM in /proc/PID/status sampled every
# 20 ms (RSS_VIA=proc forces that).
#
# Warm-up: as in bench/emulator.sh, unless WARMUP=0 a scratch file of 5x the
# upload size is written and deleted first, so that the page cache reuses
# memory the VM has already faulted in.
#
# Needs bash (4.3 or later), cargo and curl; /usr/bin/time is optional, jq is
# not used. Honours CARGO_TARGET_DIR. Large outputs (the emulator's data, the
# downloaded results) are deleted at the end unless KEEP_DATA=1; the ID file
# is kept for the next run.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
N="${1:-${N:-20000000}}"
EVENT_PERCENT="${EVENT_PERCENT:-26}"
RUNS="${RUNS:-5}"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
BIN="$TARGET/release"
DATA="$ROOT/bench/data"
IDS="$DATA/ids-$N.txt"
WORK="$DATA/run"
SCRATCH=$WORK
EMU_DATA="${EMU_DATA:-$DATA/run-emu}"

# Loopback only: no proxy, no ~/.curlrc (curl -q).
unset http_proxy https_proxy all_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY
CURL=(curl -q -sS --fail)

# shellcheck source=bench/common.sh
source "$ROOT/bench/common.sh"
die() { log "bench/run.sh: $*"; exit 1; }

[[ "$N" =~ ^[1-9][0-9]*$ ]] || die "N must be a positive integer, not '$N'"
[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive integer, not '$RUNS'"

# --- helpers ---------------------------------------------------------------

json_str() {
    grep -o "\"$1\": *\"[^\"]*\"" <<< "$2" | head -n 1 | sed 's/.*: *"\(.*\)"$/\1/'
}



api() { "${CURL[@]}" -H "Authorization: Bearer $BEARER_TOKEN" "$@"; }

# new_job TYPE: creates a job with our create-job; sets JOB_ID, UPLOAD_URL, DOWNLOAD_URL.
new_job() {
    local job
    job=$("$BIN/create-job" --type "$1" 2> "$WORK/create-job.err") \
        || { cat "$WORK/create-job.err" >&2; die "create-job failed"; }
    JOB_ID=$(json_str id "$job")
    UPLOAD_URL=$(json_str upload_url "$job")
    DOWNLOAD_URL=$(json_str download_url "$job")
    [[ -n "$JOB_ID" && -n "$UPLOAD_URL" && -n "$DOWNLOAD_URL" ]] || die "cannot read the job: $job"
}

# drop_job ID: cancels the job (frees its type's slot, stops its results)
# and deletes the emulator's copy of its upload and results.
drop_job() {
    "${CURL[@]}" -o /dev/null -X DELETE -H "Authorization: Bearer $BEARER_TOKEN" \
        "$X_API_URL/2/compliance/jobs/$1" 2> /dev/null || true  # 409 if already complete
    rm -f "$EMU_DATA/uploads/$1.txt" "$EMU_DATA/results/$1.jsonl"
}


# --- set-up ----------------------------------------------------------------

mkdir -p "$DATA" "$WORK"
log "building release binaries..."
(cd "$ROOT" && cargo build --quiet --release --workspace --bins --examples)

ensure_ids "$BIN/examples/gen-ids" "$IDS" "$N"
UPLOAD_BYTES=$(stat -c %s "$IDS")

warm_up "$UPLOAD_BYTES" "$DATA"

rm -rf "$EMU_DATA"
ENV_FILE="$WORK/emulator.env"
: > "$ENV_FILE"
# The rate limit is raised: polling a 100-million-ID job would spend the
# default 150 requests per 15 minutes, and rate limits are not measured here.
"$BIN/compliance-emulator" --processing-delay 0 --event-percent "$EVENT_PERCENT" \
    --rate-limit 1000000 --data-dir "$EMU_DATA" > "$ENV_FILE" 2> "$WORK/emulator.log" &
EMU_PID=$!
cleanup() {
    kill "$EMU_PID" 2> /dev/null || true
    wait "$EMU_PID" 2> /dev/null || true
    if [[ "${KEEP_DATA:-0}" != 1 ]]; then rm -rf "$EMU_DATA" "$WORK"; fi
}
trap cleanup EXIT

for _ in $(seq 100); do
    [[ $(grep -c '^export ' "$ENV_FILE") -ge 2 ]] && break
    kill -0 "$EMU_PID" 2> /dev/null || die "the emulator did not start: $(cat "$WORK/emulator.log")"
    sleep 0.1
done
# shellcheck disable=SC1090
source "$ENV_FILE"
[[ "$X_API_URL" == http://127.0.0.1:* ]] || die "unexpected X_API_URL '$X_API_URL'"
export X_API_URL BEARER_TOKEN

LOAD_BEFORE=$(cut -d ' ' -f 1-3 /proc/loadavg)

log "preparing the results job: curl uploads $UPLOAD_BYTES bytes, the emulator processes them..."
new_job tweets
RESULTS_JOB=$JOB_ID
RESULTS_URL=$DOWNLOAD_URL
"${CURL[@]}" -o /dev/null -T "$IDS" -H 'Content-Type: text/plain' "$UPLOAD_URL"
while :; do
    STATUS=$(json_str status "$(api "$X_API_URL/2/compliance/jobs/$RESULTS_JOB")")
    [[ "$STATUS" == complete ]] && break
    [[ "$STATUS" == in_progress ]] || die "results job is '$STATUS'"
    sleep 0.05
done

# --- measurements ----------------------------------------------------------

declare -a UP_OURS UP_CURL UP_OURS_RSS UP_CURL_RSS DOWN_OURS DOWN_CURL DOWN_OURS_RSS DOWN_CURL_RSS
declare -a HELP_US
VERIFIED_UPLOAD=no

for ((i = 1; i <= RUNS; i++)); do
    log "upload run $i/$RUNS..."
    new_job tweets
    measure /dev/null "$WORK/upload-ids.err" \
        "$BIN/upload-ids" --ids-file "$IDS" --url "$UPLOAD_URL"
    UP_OURS+=("$ELAPSED_US") UP_OURS_RSS+=("$RSS_KIB")
    if [[ "$VERIFIED_UPLOAD" == no ]]; then
        cmp -s "$IDS" "$EMU_DATA/uploads/$JOB_ID.txt" \
            || die "the emulator's copy of our upload differs from $IDS"
        VERIFIED_UPLOAD=yes
    fi
    drop_job "$JOB_ID"

    new_job tweets
    measure /dev/null "$WORK/curl-upload.err" \
        "${CURL[@]}" -o /dev/null -T "$IDS" -H 'Content-Type: text/plain' "$UPLOAD_URL"
    UP_CURL+=("$ELAPSED_US") UP_CURL_RSS+=("$RSS_KIB")
    log "  ours $(secs "${UP_OURS[-1]}") s, curl $(secs "$ELAPSED_US") s"
    drop_job "$JOB_ID"
done

for ((i = 1; i <= RUNS; i++)); do
    log "download run $i/$RUNS..."
    rm -f "$WORK/results-ours.jsonl"
    measure /dev/null "$WORK/download-results.err" \
        "$BIN/download-results" --url "$RESULTS_URL" --results-file "$WORK/results-ours.jsonl"
    DOWN_OURS+=("$ELAPSED_US") DOWN_OURS_RSS+=("$RSS_KIB")

    rm -f "$WORK/results-curl.jsonl"
    measure /dev/null "$WORK/curl-download.err" \
        "${CURL[@]}" -o "$WORK/results-curl.jsonl" "$RESULTS_URL"
    DOWN_CURL+=("$ELAPSED_US") DOWN_CURL_RSS+=("$RSS_KIB")
    log "  ours $(secs "${DOWN_OURS[-1]}") s, curl $(secs "$ELAPSED_US") s"
done
cmp -s "$WORK/results-ours.jsonl" "$WORK/results-curl.jsonl" \
    || die "our results file differs from curl's"

log "start-up runs..."
for ((i = 1; i <= RUNS; i++)); do
    t0=$(now_us)
    "$BIN/create-job" --help > /dev/null
    t1=$(now_us)
    HELP_US+=($((t1 - t0)))
done

EMU_HWM_KIB=$(awk '/^VmHWM:/ { print $2 }' "/proc/$EMU_PID/status")
DOWNLOAD_BYTES=$(stat -c %s "$WORK/results-curl.jsonl")
EVENTS=$(wc -l < "$WORK/results-curl.jsonl")
EVENTS=$((EVENTS))

# --- report ----------------------------------------------------------------

UP_OURS_US=$(median "${UP_OURS[@]}")
UP_CURL_US=$(median "${UP_CURL[@]}")
DOWN_OURS_US=$(median "${DOWN_OURS[@]}")
DOWN_CURL_US=$(median "${DOWN_CURL[@]}")
UP_OURS_MBS=$(mb_s "$UPLOAD_BYTES" "$UP_OURS_US")
UP_CURL_MBS=$(mb_s "$UPLOAD_BYTES" "$UP_CURL_US")
DOWN_OURS_MBS=$(mb_s "$DOWNLOAD_BYTES" "$DOWN_OURS_US")
DOWN_CURL_MBS=$(mb_s "$DOWNLOAD_BYTES" "$DOWN_CURL_US")
UP_RATIO=$(awk -v a="$UP_CURL_US" -v b="$UP_OURS_US" 'BEGIN { printf "%.3f", a / b }')
DOWN_RATIO=$(awk -v a="$DOWN_CURL_US" -v b="$DOWN_OURS_US" 'BEGIN { printf "%.3f", a / b }')
HELP_MS=$(awk -v us="$(median "${HELP_US[@]}")" 'BEGIN { printf "%.2f", us / 1000 }')
UP_OURS_RSS_MAX=$(maximum "${UP_OURS_RSS[@]}")
UP_CURL_RSS_MAX=$(maximum "${UP_CURL_RSS[@]}")
DOWN_OURS_RSS_MAX=$(maximum "${DOWN_OURS_RSS[@]}")
DOWN_CURL_RSS_MAX=$(maximum "${DOWN_CURL_RSS[@]}")
MODEL=$(awk -F ': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
MACHINE="$(nproc) cores, ${MODEL:-unknown CPU}"
MACHINE=${MACHINE//\\/\\\\}
MACHINE=${MACHINE//\"/\\\"}

{
    printf 'ids:       %d (%d bytes); results: %d events (%d bytes); %d runs each, medians\n' \
        "$N" "$UPLOAD_BYTES" "$EVENTS" "$DOWNLOAD_BYTES" "$RUNS"
    printf 'upload:    ours %7.1f MB/s (%s s, max RSS %d KiB)   curl %7.1f MB/s (%s s, max RSS %d KiB)   ratio %s\n' \
        "$UP_OURS_MBS" "$(secs "$UP_OURS_US")" "$UP_OURS_RSS_MAX" \
        "$UP_CURL_MBS" "$(secs "$UP_CURL_US")" "$UP_CURL_RSS_MAX" "$UP_RATIO"
    printf 'download:  ours %7.1f MB/s (%s s, max RSS %d KiB)   curl %7.1f MB/s (%s s, max RSS %d KiB)   ratio %s\n' \
        "$DOWN_OURS_MBS" "$(secs "$DOWN_OURS_US")" "$DOWN_OURS_RSS_MAX" \
        "$DOWN_CURL_MBS" "$(secs "$DOWN_CURL_US")" "$DOWN_CURL_RSS_MAX" "$DOWN_RATIO"
    printf 'start-up:  create-job --help %s ms\n' "$HELP_MS"
    printf 'emulator:  VmHWM %d KiB; max RSS via %s; load before: %s; %s\n' \
        "$EMU_HWM_KIB" "$RSS_SOURCE" "$LOAD_BEFORE" "$MACHINE"
    printf 'checked:   stored upload == ID file; our results == curl results\n'
    awk -v u="$UP_RATIO" -v d="$DOWN_RATIO" 'BEGIN {
        if (u < 0.9) print "below target: upload ratio " u " < 0.9"
        if (d < 0.9) print "below target: download ratio " d " < 0.9" }'
} >&2

printf '{"n_ids":%d,"upload_bytes":%d,"events":%d,"download_bytes":%d,"runs":%d,' \
    "$N" "$UPLOAD_BYTES" "$EVENTS" "$DOWNLOAD_BYTES" "$RUNS"
printf '"upload":{"ours_mb_s":%s,"curl_mb_s":%s,"ratio":%s,"ours_s":%s,"curl_s":%s,"ours_max_rss_kib":%d,"curl_max_rss_kib":%d},' \
    "$UP_OURS_MBS" "$UP_CURL_MBS" "$UP_RATIO" "$(secs "$UP_OURS_US")" "$(secs "$UP_CURL_US")" \
    "$UP_OURS_RSS_MAX" "$UP_CURL_RSS_MAX"
printf '"download":{"ours_mb_s":%s,"curl_mb_s":%s,"ratio":%s,"ours_s":%s,"curl_s":%s,"ours_max_rss_kib":%d,"curl_max_rss_kib":%d},' \
    "$DOWN_OURS_MBS" "$DOWN_CURL_MBS" "$DOWN_RATIO" "$(secs "$DOWN_OURS_US")" "$(secs "$DOWN_CURL_US")" \
    "$DOWN_OURS_RSS_MAX" "$DOWN_CURL_RSS_MAX"
printf '"startup_ms":{"create_job_help":%s},"emulator_vmhwm_kib":%d,"event_percent":%d,' \
    "$HELP_MS" "$EMU_HWM_KIB" "$EVENT_PERCENT"
printf '"rss_source":"%s","load_before":"%s","machine":"%s"}\n' "$RSS_SOURCE" "$LOAD_BEFORE" "$MACHINE"
