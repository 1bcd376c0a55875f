#!/usr/bin/env bash
# End-to-end benchmark of download-results and upload-ids against curl,
# side by side in one run, all on 127.0.0.1.
#
#   bash bench/run.sh [N]      N IDs (default 20000000, about 400 MB; or env N)
#
# What it does:
#   1. builds the workspace's release binaries and examples;
#   2. generates N IDs into bench/data/ids-N.txt with the gen-ids example
#      (reused when present; bench/data/ is git-ignored);
#   3. starts compliance-emulator (release) with --processing-delay 0 and
#      --event-percent $EVENT_PERCENT (default 26: at least 5 million events
#      for the default N), its data under bench/data/run-emu (or $EMU_DATA,
#      say on a tmpfs, to keep its disk writes out of the timings);
#   4. uploads the IDs once with curl to a job, waits for it to complete and
#      downloads its results with curl: the LF results file; a copy with
#      every line ending in CRLF (sed) is the CRLF one (same events). The
#      emulator's copies of that job's files are then deleted;
#   5. serves each of the two files with the serve-object example of
#      testkit, a loopback endpoint that answers GET as Cloud Storage does
#      (Content-Length, ETag, Content-Type, and x-goog-hash: crc32c=...,
#      md5=... of the whole object);
#   6. times, RUNS times (default 5) each, in rounds, ours and curl
#      alternating (ours first in odd rounds, curl first in even ones):
#        download-results --url URL --results-file OUT (it checks the lines
#          and the hash, syncs the file and renames it into place)
#        vs  curl -o OUT URL, then `sync OUT` (fsync of that file: the
#          durability download-results pays for; a bare `sync` would also
#          charge curl for what other processes left unwritten)
#      with the LF file, then with the CRLF one;
#        upload-ids --ids-file FILE --url URL
#        vs  curl -T FILE -H 'Content-Type: text/plain' URL
#      against the emulator, each to a fresh job (created before the timer
#      starts, cancelled after it stops so that the next job can be created
#      and the emulator does not generate results during the next run);
#      then `create-job --help` (stdout to /dev/null), HELP_RUNS times
#      (default 21);
#   7. checks every download: our file and curl's are byte-identical to the
#      file served; and once, that the emulator stored exactly the ID file
#      (it is already normalised) from our upload, and that the CRLF file is
#      the LF one with a CR before each LF.
# Each command's time is wall-clock, process start to exit, taken with
# bash's EPOCHREALTIME; a `sync` outside the timers before each command
# keeps a run from paying for the writeback of the one before. Our tools run
# with stderr to a file (bench/data/run), so they take their quiet path
# (progress only shows on a terminal). download-results reads BEARER_TOKEN
# (set from the emulator, as for upload-ids) but sends it to no other origin
# than the API's: the serve-object URL gets no token, as a signed URL.
#
# Prints each run's times on stderr as it goes (the VM this was written on
# is noisy: the spread tells how far to trust the medians), then a summary
# on stderr and one JSON object as the last line of stdout: medians,
# throughput in MB/s (10^6 bytes/s), the time ratios ours/(curl + sync) for
# the downloads (and ours/curl without the sync) and ours/curl for the
# upload (lower is better; the target is at most 1.11), the largest max RSS
# seen of each measured process (target for ours: 16 MiB), the median
# start-up (target: 5 ms), the emulator's VmHWM, the machine. A missed
# target is named in the summary; it does not fail the script. Max RSS comes
# from `/usr/bin/time -f %M` when it is GNU time, else from VmHWM in
# /proc/PID/status sampled every 20 ms (RSS_VIA=proc forces that).
#
# Warm-up: as in bench/emulator.sh, unless WARMUP=0 a scratch file of 5x the
# upload size is written and deleted first, so that the page cache reuses
# memory the VM has already faulted in.
#
# Needs bash (4.3 or later), cargo, curl, sed and cmp; /usr/bin/time is
# optional, jq is not used. Honours CARGO_TARGET_DIR. Large outputs (the
# emulator's data, the results files and the downloads) are deleted at the
# end unless KEEP_DATA=1; the ID file is kept for the next run.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
N="${1:-${N:-20000000}}"
EVENT_PERCENT="${EVENT_PERCENT:-26}"
RUNS="${RUNS:-5}"
HELP_RUNS="${HELP_RUNS:-21}"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
BIN="$TARGET/release"
DATA="$ROOT/bench/data"
IDS="$DATA/ids-$N.txt"
WORK="$DATA/run"
SCRATCH=$WORK
EMU_DATA="${EMU_DATA:-$DATA/run-emu}"
# The issue's targets: time ratios at most 1.11, peak RSS at most 16 MiB,
# start-up at most 5 ms.
MAX_RATIO=1.11
MAX_RSS_KIB=16384
MAX_STARTUP_MS=5

# Loopback only: no proxy, no ~/.curlrc (curl -q).
unset http_proxy https_proxy all_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY
CURL=(curl -q -sS --fail)

# shellcheck source=bench/common.sh
source "$ROOT/bench/common.sh"
die() { log "bench/run.sh: $*"; exit 1; }

[[ "$N" =~ ^[1-9][0-9]*$ ]] || die "N must be a positive integer, not '$N'"
[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive integer, not '$RUNS'"
[[ "$HELP_RUNS" =~ ^[1-9][0-9]*$ ]] || die "HELP_RUNS must be a positive integer, not '$HELP_RUNS'"

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

# wait_for PID WHAT FILE PATTERN COUNT: waits until PID has written COUNT
# lines that match PATTERN to FILE; dies with $WORK/WHAT.log if PID ends
# first, or after 60 s (serve-object hashes its file first: about 7 s for
# the 3.4 GB of CRLF results of 100 million IDs).
wait_for() {
    local pid=$1 what=$2 file=$3 pattern=$4 count=$5
    for _ in $(seq 600); do
        [[ $(grep -c -e "$pattern" "$file") -ge $count ]] && return 0
        kill -0 "$pid" 2> /dev/null || die "$what did not start: $(cat "$WORK/$what.log")"
        sleep 0.1
    done
    die "$what did not start within 60 s"
}

# other WHO: curl for ours, ours for curl.
other() { if [[ "$1" == ours ]]; then echo curl; else echo ours; fi; }

# val KIND NAME: the value of the variable KIND_NAME.
val() { local name="$1_$2"; printf '%s' "${!name}"; }

# Each download run: ours, or curl and then the sync of its file. Both start
# from no output file and nothing dirty (outside the timer). Set
# ELAPSED_US and RSS_KIB as measure does; curl's run also SYNC_US, the
# sync's share of its ELAPSED_US.
ours_download() {
    local url=$1 out=$2
    rm -f "$out"
    sync
    measure /dev/null "$WORK/download-results.err" \
        "$BIN/download-results" --url "$url" --results-file "$out"
}
curl_download() {
    local url=$1 out=$2 t0 t1
    rm -f "$out"
    sync
    measure /dev/null "$WORK/curl-download.err" "${CURL[@]}" -o "$out" "$url"
    t0=$(now_us)
    sync -- "$out"
    t1=$(now_us)
    SYNC_US=$((t1 - t0))
    ELAPSED_US=$((ELAPSED_US + SYNC_US))
}

# download_round KIND SERVED URL FIRST: one run of each, FIRST (ours or
# curl) first, of the file SERVED at URL; appends to the arrays named
# KIND_OURS, KIND_CURL (curl + sync), KIND_SYNC, KIND_OURS_RSS and
# KIND_CURL_RSS, and checks that both outputs are SERVED byte for byte.
download_round() {
    local kind=$1 served=$2 url=$3 first=$4 who
    local -n ours=${kind}_OURS pair=${kind}_CURL syncs=${kind}_SYNC
    local -n ours_rss=${kind}_OURS_RSS curl_rss=${kind}_CURL_RSS
    local ours_out="$WORK/ours-$kind.jsonl" curl_out="$WORK/curl-$kind.jsonl"
    for who in "$first" "$(other "$first")"; do
        if [[ "$who" == ours ]]; then
            ours_download "$url" "$ours_out"
            ours+=("$ELAPSED_US") ours_rss+=("$RSS_KIB")
        else
            curl_download "$url" "$curl_out"
            pair+=("$ELAPSED_US") syncs+=("$SYNC_US") curl_rss+=("$RSS_KIB")
        fi
    done
    cmp -s "$served" "$ours_out" || die "$kind: our results file differs from the file served"
    cmp -s "$served" "$curl_out" || die "$kind: curl's results file differs from the file served"
    log "  $kind download: ours $(secs "${ours[-1]}") s, curl + sync $(secs "${pair[-1]}") s" \
        "(sync $(secs "${syncs[-1]}") s)"
}

# upload_round FIRST: one upload of each, FIRST (ours or curl) first, each
# to a fresh job; appends to UP_OURS, UP_CURL, UP_OURS_RSS, UP_CURL_RSS.
upload_round() {
    local first=$1 who
    # An untimed upload first: after the downloads, the first upload of a
    # round ran about 1 s slower than the second, whoever went first (the
    # kernel finding memory for the emulator's copy on its tmpfs, as seen
    # with EMU_DATA=/dev/shm/...); both timed uploads now start alike.
    new_job tweets
    "${CURL[@]}" -o /dev/null -T "$IDS" -H 'Content-Type: text/plain' "$UPLOAD_URL" \
        || die "the untimed upload before the round failed"
    drop_job "$JOB_ID"
    for who in "$first" "$(other "$first")"; do
        new_job tweets
        sync
        if [[ "$who" == ours ]]; then
            measure /dev/null "$WORK/upload-ids.err" \
                "$BIN/upload-ids" --ids-file "$IDS" --url "$UPLOAD_URL"
            UP_OURS+=("$ELAPSED_US") UP_OURS_RSS+=("$RSS_KIB")
            if [[ "$VERIFIED_UPLOAD" == no ]]; then
                cmp -s "$IDS" "$EMU_DATA/uploads/$JOB_ID.txt" \
                    || die "the emulator's copy of our upload differs from $IDS"
                VERIFIED_UPLOAD=yes
            fi
        else
            measure /dev/null "$WORK/curl-upload.err" \
                "${CURL[@]}" -o /dev/null -T "$IDS" -H 'Content-Type: text/plain' "$UPLOAD_URL"
            UP_CURL+=("$ELAPSED_US") UP_CURL_RSS+=("$RSS_KIB")
        fi
        drop_job "$JOB_ID"
    done
    log "  upload: ours $(secs "${UP_OURS[-1]}") s, curl $(secs "${UP_CURL[-1]}") s"
}

# ratio A B: A / B to three decimals.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }

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
SERVE_PIDS=()
cleanup() {
    local pid
    for pid in "$EMU_PID" ${SERVE_PIDS[@]+"${SERVE_PIDS[@]}"}; do
        kill "$pid" 2> /dev/null || true
        wait "$pid" 2> /dev/null || true
    done
    if [[ "${KEEP_DATA:-0}" != 1 ]]; then rm -rf "$EMU_DATA" "$WORK"; fi
}
trap cleanup EXIT

# The emulator prints its two exports once it listens.
wait_for "$EMU_PID" emulator "$ENV_FILE" '^export ' 2
# shellcheck disable=SC1090
source "$ENV_FILE"
[[ "$X_API_URL" == http://127.0.0.1:* ]] || die "unexpected X_API_URL '$X_API_URL'"
export X_API_URL BEARER_TOKEN

LOAD_BEFORE=$(cut -d ' ' -f 1-3 /proc/loadavg)

log "preparing the results: curl uploads $UPLOAD_BYTES bytes, the emulator processes them..."
new_job tweets
RESULTS_JOB=$JOB_ID
"${CURL[@]}" -o /dev/null -T "$IDS" -H 'Content-Type: text/plain' "$UPLOAD_URL"
while :; do
    STATUS=$(json_str status "$(api "$X_API_URL/2/compliance/jobs/$RESULTS_JOB")")
    [[ "$STATUS" == complete ]] && break
    [[ "$STATUS" == in_progress ]] || die "results job is '$STATUS'"
    sleep 0.05
done
SERVED_LF="$WORK/served-lf.jsonl"
SERVED_CRLF="$WORK/served-crlf.jsonl"
"${CURL[@]}" -o "$SERVED_LF" "$DOWNLOAD_URL"
drop_job "$RESULTS_JOB"
grep -q $'\r' "$SERVED_LF" && die "the emulator's results hold a CR: they are not LF only"
sed 's/$/\r/' "$SERVED_LF" > "$SERVED_CRLF"
tr -d '\r' < "$SERVED_CRLF" | cmp -s - "$SERVED_LF" \
    || die "the CRLF results are not the LF ones with a CR before each LF"
EVENTS=$(wc -l < "$SERVED_LF")
EVENTS=$((EVENTS))
LF_BYTES=$(stat -c %s "$SERVED_LF")
CRLF_BYTES=$(stat -c %s "$SERVED_CRLF")
((CRLF_BYTES == LF_BYTES + EVENTS)) || die "the CRLF results are not one byte a line longer"

log "serving the LF and CRLF results (hashing them first)..."
for kind in LF CRLF; do
    : > "$WORK/serve-$kind.url"
    "$BIN/examples/serve-object" "$(val SERVED "$kind")" > "$WORK/serve-$kind.url" \
        2> "$WORK/serve-$kind.log" &
    SERVE_PIDS+=($!)
done
wait_for "${SERVE_PIDS[0]}" serve-LF "$WORK/serve-LF.url" '^http://' 1
wait_for "${SERVE_PIDS[1]}" serve-CRLF "$WORK/serve-CRLF.url" '^http://' 1
URL_LF=$(cat "$WORK/serve-LF.url")
URL_CRLF=$(cat "$WORK/serve-CRLF.url")
[[ "$URL_LF" == http://127.0.0.1:* && "$URL_CRLF" == http://127.0.0.1:* ]] \
    || die "unexpected serve-object URLs '$URL_LF' '$URL_CRLF'"

# --- measurements ----------------------------------------------------------

# shellcheck disable=SC2034 # filled through the namerefs of download_round
declare -a LF_OURS LF_CURL LF_SYNC LF_OURS_RSS LF_CURL_RSS
# shellcheck disable=SC2034
declare -a CRLF_OURS CRLF_CURL CRLF_SYNC CRLF_OURS_RSS CRLF_CURL_RSS
declare -a UP_OURS UP_CURL UP_OURS_RSS UP_CURL_RSS HELP_US
VERIFIED_UPLOAD=no

for ((i = 1; i <= RUNS; i++)); do
    if ((i % 2)); then first=ours; else first=curl; fi
    log "round $i/$RUNS ($first first)..."
    download_round LF "$SERVED_LF" "$URL_LF" "$first"
    download_round CRLF "$SERVED_CRLF" "$URL_CRLF" "$first"
    upload_round "$first"
done

log "start-up runs..."
for ((i = 1; i <= HELP_RUNS; i++)); do
    t0=$(now_us)
    "$BIN/create-job" --help > /dev/null
    t1=$(now_us)
    HELP_US+=($((t1 - t0)))
done

EMU_HWM_KIB=$(awk '/^VmHWM:/ { print $2 }' "/proc/$EMU_PID/status")
LOAD_AFTER=$(cut -d ' ' -f 1-3 /proc/loadavg)

# --- report ----------------------------------------------------------------

# download_summary KIND BYTES: sets the KIND_* medians, speeds, ratios and
# peaks the report prints.
download_summary() {
    local kind=$1 bytes=$2
    local -n o=${kind}_OURS p=${kind}_CURL s=${kind}_SYNC
    local -n o_rss=${kind}_OURS_RSS c_rss=${kind}_CURL_RSS
    local ours_us pair_us curl_us=() k
    ours_us=$(median "${o[@]}")
    pair_us=$(median "${p[@]}")
    for k in "${!p[@]}"; do curl_us+=($((p[k] - s[k]))); done
    printf -v "${kind}_OURS_S" '%s' "$(secs "$ours_us")"
    printf -v "${kind}_PAIR_S" '%s' "$(secs "$pair_us")"
    printf -v "${kind}_CURL_S" '%s' "$(secs "$(median "${curl_us[@]}")")"
    printf -v "${kind}_SYNC_S" '%s' "$(secs "$(median "${s[@]}")")"
    printf -v "${kind}_OURS_MBS" '%s' "$(mb_s "$bytes" "$ours_us")"
    printf -v "${kind}_PAIR_MBS" '%s' "$(mb_s "$bytes" "$pair_us")"
    printf -v "${kind}_RATIO" '%s' "$(ratio "$ours_us" "$pair_us")"
    printf -v "${kind}_RATIO_PLAIN" '%s' "$(ratio "$ours_us" "$(median "${curl_us[@]}")")"
    printf -v "${kind}_OURS_RSS_MAX" '%s' "$(maximum "${o_rss[@]}")"
    printf -v "${kind}_CURL_RSS_MAX" '%s' "$(maximum "${c_rss[@]}")"
}
download_summary LF "$LF_BYTES"
download_summary CRLF "$CRLF_BYTES"

UP_OURS_US=$(median "${UP_OURS[@]}")
UP_CURL_US=$(median "${UP_CURL[@]}")
UP_OURS_MBS=$(mb_s "$UPLOAD_BYTES" "$UP_OURS_US")
UP_CURL_MBS=$(mb_s "$UPLOAD_BYTES" "$UP_CURL_US")
UP_RATIO=$(ratio "$UP_OURS_US" "$UP_CURL_US")
UP_OURS_RSS_MAX=$(maximum "${UP_OURS_RSS[@]}")
UP_CURL_RSS_MAX=$(maximum "${UP_CURL_RSS[@]}")
DOWN_OURS_RSS_MAX=$(maximum "$(val LF OURS_RSS_MAX)" "$(val CRLF OURS_RSS_MAX)")
HELP_MS=$(awk -v us="$(median "${HELP_US[@]}")" 'BEGIN { printf "%.2f", us / 1000 }')
MODEL=$(awk -F ': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
MACHINE="$(nproc) cores, ${MODEL:-unknown CPU}"
MACHINE=${MACHINE//\\/\\\\}
MACHINE=${MACHINE//\"/\\\"}

MISSED=$(awk -v lf="$(val LF RATIO)" -v crlf="$(val CRLF RATIO)" -v up="$UP_RATIO" -v r="$MAX_RATIO" \
    -v dm="$DOWN_OURS_RSS_MAX" -v um="$UP_OURS_RSS_MAX" -v m="$MAX_RSS_KIB" \
    -v help="$HELP_MS" -v s="$MAX_STARTUP_MS" 'BEGIN {
    if (lf > r) print "above target: download LF ours/(curl + sync) " lf " > " r
    if (crlf > r) print "above target: download CRLF ours/(curl + sync) " crlf " > " r
    if (up > r) print "above target: upload ours/curl " up " > " r
    if (dm > m) print "above target: download-results peak RSS " dm " KiB > " m " KiB"
    if (um > m) print "above target: upload-ids peak RSS " um " KiB > " m " KiB"
    if (help > s) print "above target: create-job --help " help " ms > " s " ms" }')
if [[ -z "$MISSED" ]]; then TARGETS_MET=true; else TARGETS_MET=false; fi

{
    printf 'ids:       %d (%d bytes); results: %d events (LF %d bytes, CRLF %d bytes); %d runs each, medians\n' \
        "$N" "$UPLOAD_BYTES" "$EVENTS" "$LF_BYTES" "$CRLF_BYTES" "$RUNS"
    for kind in LF CRLF; do
        printf 'download %-5s ours %s s (%.1f MB/s, max RSS %d KiB)   curl + sync %s s (curl %s s, sync %s s; max RSS %d KiB)\n' \
            "$kind:" "$(val "$kind" OURS_S)" "$(val "$kind" OURS_MBS)" "$(val "$kind" OURS_RSS_MAX)" \
            "$(val "$kind" PAIR_S)" "$(val "$kind" CURL_S)" "$(val "$kind" SYNC_S)" \
            "$(val "$kind" CURL_RSS_MAX)"
        printf '               ours/(curl + sync) %s (target <= %s); ours/curl %s\n' \
            "$(val "$kind" RATIO)" "$MAX_RATIO" "$(val "$kind" RATIO_PLAIN)"
    done
    printf 'upload:        ours %s s (%.1f MB/s, max RSS %d KiB)   curl %s s (%.1f MB/s, max RSS %d KiB)\n' \
        "$(secs "$UP_OURS_US")" "$UP_OURS_MBS" "$UP_OURS_RSS_MAX" \
        "$(secs "$UP_CURL_US")" "$UP_CURL_MBS" "$UP_CURL_RSS_MAX"
    printf '               ours/curl %s (target <= %s)\n' "$UP_RATIO" "$MAX_RATIO"
    printf 'memory:        ours peak %d KiB download, %d KiB upload (target <= %d KiB)\n' \
        "$DOWN_OURS_RSS_MAX" "$UP_OURS_RSS_MAX" "$MAX_RSS_KIB"
    printf 'start-up:      create-job --help %s ms (median of %d; target <= %s ms)\n' \
        "$HELP_MS" "$HELP_RUNS" "$MAX_STARTUP_MS"
    printf 'emulator:      VmHWM %d KiB; max RSS via %s; load before %s, after %s; %s\n' \
        "$EMU_HWM_KIB" "$RSS_SOURCE" "$LOAD_BEFORE" "$LOAD_AFTER" "$MACHINE"
    printf 'checked:       every download, ours == curl'\''s == the file served; CRLF file == LF file with CRs; stored upload == ID file\n'
    if [[ -n "$MISSED" ]]; then printf '%s\n' "$MISSED"; else printf 'targets:       all met\n'; fi
} >&2

# download_json KIND BYTES: the JSON object of one download kind.
download_json() {
    local k=$1
    printf '{"bytes":%d,"ours_s":%s,"curl_sync_s":%s,"curl_s":%s,"sync_s":%s,"ours_mb_s":%s,"curl_sync_mb_s":%s,"ratio":%s,"ratio_plain_curl":%s,"ours_max_rss_kib":%d,"curl_max_rss_kib":%d}' \
        "$2" "$(val "$k" OURS_S)" "$(val "$k" PAIR_S)" "$(val "$k" CURL_S)" "$(val "$k" SYNC_S)" \
        "$(val "$k" OURS_MBS)" "$(val "$k" PAIR_MBS)" "$(val "$k" RATIO)" "$(val "$k" RATIO_PLAIN)" \
        "$(val "$k" OURS_RSS_MAX)" "$(val "$k" CURL_RSS_MAX)"
}

printf '{"n_ids":%d,"upload_bytes":%d,"events":%d,"runs":%d,' \
    "$N" "$UPLOAD_BYTES" "$EVENTS" "$RUNS"
printf '"download_lf":%s,"download_crlf":%s,' "$(download_json LF "$LF_BYTES")" \
    "$(download_json CRLF "$CRLF_BYTES")"
printf '"upload":{"ours_s":%s,"curl_s":%s,"ours_mb_s":%s,"curl_mb_s":%s,"ratio":%s,"ours_max_rss_kib":%d,"curl_max_rss_kib":%d},' \
    "$(secs "$UP_OURS_US")" "$(secs "$UP_CURL_US")" "$UP_OURS_MBS" "$UP_CURL_MBS" "$UP_RATIO" \
    "$UP_OURS_RSS_MAX" "$UP_CURL_RSS_MAX"
printf '"startup_ms":{"create_job_help":%s,"runs":%d},' "$HELP_MS" "$HELP_RUNS"
printf '"targets":{"max_ratio":%s,"max_rss_kib":%d,"max_startup_ms":%s,"met":%s},' \
    "$MAX_RATIO" "$MAX_RSS_KIB" "$MAX_STARTUP_MS" "$TARGETS_MET"
printf '"emulator_vmhwm_kib":%d,"event_percent":%d,' "$EMU_HWM_KIB" "$EVENT_PERCENT"
printf '"rss_source":"%s","load_before":"%s","load_after":"%s","machine":"%s"}\n' \
    "$RSS_SOURCE" "$LOAD_BEFORE" "$LOAD_AFTER" "$MACHINE"
