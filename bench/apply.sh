#!/usr/bin/env bash
# Benchmark of apply-results against the DuckDB recipe and the old jq recipe.
#
#   bash bench/apply.sh [MB]     archive of about MB megabytes (10^6 bytes;
#                                default 1000, i.e. 1 GB; or env MB)
#
# What it does:
#   1. builds apply-results and the gen-archive example (release);
#   2. generates, with gen-archive, into $APPLY_DATA/n<N>-s<SEED>/ (default
#      APPLY_DATA=/tmp/compliance-bench-apply, outside the repository;
#      reused when present):
#        archive.jsonl        a flattened archive (twarc2 flatten lines, one
#                             Tweet a line, then one user a line) of about MB
#                             MB: N Tweets, N is MB scaled by the bytes per
#                             Tweet of a 20000-Tweet archive made first;
#        tweets-results.jsonl the results of a tweets job: --removed-per-mille
#                             100 (10% of the Tweets removed) and scrub_geo
#                             for about 5% (about 15% of the IDs in all);
#        users-results.jsonl  the results of a users job (1% of the users,
#                             their Tweets go with them);
#        pages.jsonl          the same Tweets as twarc2 pages of 100;
#        archive.jsonl.gz, pages.jsonl.gz  both, through gzip (level 6);
#        slice-<SLICE_MB>MB/  the whole lines within the first SLICE_MB MB
#                             (default 20) of archive.jsonl, and the tweets
#                             results of its Tweets (its share);
#   3. times, RUNS times (default 5) each, alternating, in one round:
#        apply-results on archive.jsonl (both results files, as every run
#          below)                                             "flattened"
#        the DuckDB CLI running the README's line-preserving anti-join,
#          recipes/duckdb.sql (or $DUCKDB_RECIPE), in a folder where
#          archive.jsonl and the results are                  "duckdb"
#        apply-results on pages.jsonl                         "pages"
#        apply-results on archive.jsonl.gz                    "flattened.gz"
#        apply-results on pages.jsonl.gz                      "pages.gz"
#        apply-results on archive.jsonl.gz to a .gz output (it then writes
#          gzip, level 6)                                     "gz-to-gz"
#      then, JQ_RUNS times (default RUNS) alternating, on the slice with its
#      tweets results only (the jq recipe takes no users results):
#        apply-results                                        "slice"
#        bench/old-jq-recipe.sh, the README's old jq recipe   "jq"
#   4. checks the outputs: apply-results and DuckDB keep the same lines in
#      the same order (byte for byte, or else: the same number of lines, the
#      lines that differ no more than apply-results says it changed, geo
#      scrubbed or copies cut back, and each of them the same JSON value,
#      by `jq -cS`; DuckDB re-serialises a line it changes, apply-results
#      only cuts bytes out of it); the gzip runs give the same bytes as the
#      plain ones; jq and apply-results keep as many lines of the slice.
#
# Targets (the issue's): peak RSS of apply-results at most 16 bytes per
# result ID (distinct, both jobs, as its summary counts them) plus 32 MiB;
# on the flattened archive, apply-results no slower than DuckDB; on the
# slice, at least 20 times faster than jq; pages, flattened.gz and pages.gz
# within 2 times the flattened time (gz-to-gz is reported, with no target).
# The jq recipe's cost grows with archive lines times result IDs (its
# filter builds its lookup objects again for every line): on the slice it
# is measured, for the whole archive it is only extrapolated.
#
# Each time is wall-clock, process start to exit (bash's EPOCHREALTIME).
# Every output is deleted before its run and `sync` runs after each
# command, outside the timer: apply-results syncs its output to disk before
# it renames it into place (part of its time); DuckDB and jq do not, and
# their dirty pages must not be written back during the next run. Set
# APPLY_DATA to a tmpfs (/dev/shm/x) to take the disk out. apply-results runs
# with stdout (its JSON summary) and stderr to files, its quiet path. Max
# RSS comes from `/usr/bin/time -f %M` when it is GNU time, else from VmHWM
# in /proc/PID/status sampled every 20 ms (RSS_VIA=proc forces that).
#
# Prints each run's times on stderr as it goes (the VM this was written on
# is noisy), then medians, ratios, peak RSS and the targets on stderr, and
# one JSON object as the last line of stdout.
#
# Environment: RUNS (5), JQ_RUNS (RUNS), SLICE_MB (20), SEED (1),
# APPLY_DATA, DUCKDB (the DuckDB CLI; default: the binary that pip's
# duckdb-cli bundles when `duckdb` on PATH is its Python launcher, whose
# start-up would be timed too, else `duckdb`), DUCKDB_RECIPE
# (recipes/duckdb.sql), KEEP_DATA=1 (keep the outputs; the generated inputs
# are always kept for the next run), WARMUP=0 (no warm-up: see
# bench/common.sh), CARGO_TARGET_DIR.
#
# Needs bash (4.3 or later), cargo, the DuckDB CLI (pip install
# duckdb-cli==1.5.6), jq, gzip; /usr/bin/time is optional. About 5.5 GB of
# disk at the default size (inputs 1.7 GB, kept; outputs 3.7 GB, deleted at
# the end unless KEEP_DATA=1), and DuckDB takes about 3.5 GB of memory.
#
# The jq runs take long: about 3 minutes each on a 20 MB slice here, 4
# times less on one half as big. A quicker run, for a try:
#   RUNS=1 SLICE_MB=5 bash bench/apply.sh 100
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MB="${1:-${MB:-1000}}"
RUNS="${RUNS:-5}"
JQ_RUNS="${JQ_RUNS:-$RUNS}"
SLICE_MB="${SLICE_MB:-20}"
SEED="${SEED:-1}"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
BIN="$TARGET/release"
GEN="$BIN/examples/gen-archive"
APPLY_DATA="${APPLY_DATA:-/tmp/compliance-bench-apply}"
DUCKDB_RECIPE="${DUCKDB_RECIPE:-$ROOT/recipes/duckdb.sql}"
# The generator's knobs: the results of the issue, 10% of the Tweets removed.
GEN_FLAGS=(--seed "$SEED" --removed-per-mille 100 --users-removed-per-mille 10)
PER_PAGE=100

# shellcheck source=bench/common.sh
source "$ROOT/bench/common.sh"
die() { log "bench/apply.sh: $*"; exit 1; }

[[ "$MB" =~ ^[1-9][0-9]*$ ]] || die "MB must be a positive integer, not '$MB'"
[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive integer, not '$RUNS'"
[[ "$JQ_RUNS" =~ ^[1-9][0-9]*$ ]] || die "JQ_RUNS must be a positive integer, not '$JQ_RUNS'"
[[ "$SLICE_MB" =~ ^[1-9][0-9]*$ ]] || die "SLICE_MB must be a positive integer, not '$SLICE_MB'"
[[ "$SEED" =~ ^[0-9]+$ ]] || die "SEED must be a non-negative integer, not '$SEED'"
[[ -f "$DUCKDB_RECIPE" ]] || die "no DuckDB recipe at $DUCKDB_RECIPE (set DUCKDB_RECIPE)"
DUCKDB_RECIPE="$(cd "$(dirname "$DUCKDB_RECIPE")" && pwd)/$(basename "$DUCKDB_RECIPE")"
for tool in jq gzip; do
    command -v "$tool" > /dev/null || die "needs $tool"
done

# The DuckDB CLI itself: pip's duckdb-cli puts a Python launcher on PATH
# that starts the bundled binary as a child (about 0.2 s here); time the
# binary.
if [[ -z "${DUCKDB:-}" ]]; then
    DUCKDB=$(command -v duckdb) || die "needs the DuckDB CLI (pip install duckdb-cli==1.5.6) or DUCKDB"
    if [[ "$(head -c 2 "$DUCKDB")" == '#!' ]]; then
        bundled=$(python3 -c 'import duckdb_cli.__main__ as m; print(m._find_binary())' 2> /dev/null || true)
        [[ -n "$bundled" && -x "$bundled" ]] && DUCKDB=$bundled
    fi
fi
DUCKDB_VERSION=$("$DUCKDB" --version 2> /dev/null | head -n 1) || die "cannot run $DUCKDB"
JQ_VERSION=$(jq --version)

# --- helpers ---------------------------------------------------------------

# ratio A B: A / B to 3 decimals.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }
# at_most A B: "yes" if A <= B (numbers), else "no".
at_most() { awk -v a="$1" -v b="$2" 'BEGIN { print (a <= b) ? "yes" : "no" }'; }


# gen FILE SHAPE N [FLAGS...]: the archive of SHAPE with N Tweets to FILE
# (through FILE.tmp, so that a broken run leaves no FILE).
gen() {
    local file=$1 shape=$2 n=$3
    shift 3
    "$GEN" --shape "$shape" --tweets "$n" "${GEN_FLAGS[@]}" --archive "$file.tmp" "$@" 2> "$file.log" \
        || { cat "$file.log" >&2; die "gen-archive failed"; }
    mv "$file.tmp" "$file"
}

# summary_field FILE FILTER: a number from an apply-results JSON summary.
summary_field() { jq -r "$2" "$1"; }

# --- set-up ----------------------------------------------------------------

log "building release binaries..."
(cd "$ROOT" && cargo build --quiet --release -p apply-results -p compliance-testkit --bin apply-results --example gen-archive)
APPLY="$BIN/apply-results"

# N from the bytes per Tweet (its user lines included) of a small archive.
mkdir -p "$APPLY_DATA"
CALIBRATE=20000
gen "$APPLY_DATA/calibrate.jsonl" flattened "$CALIBRATE"
PER_TWEET=$(stat -c %s "$APPLY_DATA/calibrate.jsonl")
rm -f "$APPLY_DATA/calibrate.jsonl" "$APPLY_DATA/calibrate.jsonl.log"
N=$((MB * 1000000 * CALIBRATE / PER_TWEET))
((N >= 100)) || N=100

DATA="$APPLY_DATA/n$N-s$SEED"
RUN="$DATA/run"
SCRATCH=$RUN
# apply-results syncs its output inside its time; the others do not.
SYNC_AFTER=1
mkdir -p "$DATA"
if [[ ! -f "$DATA/complete" ]]; then
    log "generating $N Tweets (about $MB MB flattened) into $DATA..."
    gen "$DATA/archive.jsonl" flattened "$N" \
        --tweets-results "$DATA/tweets-results.jsonl" --users-results "$DATA/users-results.jsonl"
    gen "$DATA/pages.jsonl" pages "$N" --per-page "$PER_PAGE"
    for f in archive pages; do
        log "gzip $f.jsonl..."
        gzip -c "$DATA/$f.jsonl" > "$DATA/$f.jsonl.gz.tmp"
        mv "$DATA/$f.jsonl.gz.tmp" "$DATA/$f.jsonl.gz"
    done
    printf 'n=%s seed=%s\n' "$N" "$SEED" > "$DATA/complete"
fi
SLICE="$DATA/slice-${SLICE_MB}MB"
if [[ ! -f "$SLICE/complete" ]]; then
    # The slice: whole lines within the first SLICE_MB MB, and the tweets
    # results up to its last Tweet ID (results come in the archive's order;
    # the IDs have 19 digits, so the string order is the numeric one; the
    # two results of IDs the archive does not have come along, being lower).
    mkdir -p "$SLICE"
    head -c "$((SLICE_MB * 1000000))" "$DATA/archive.jsonl" | sed '$d' > "$SLICE/archive.jsonl"
    LAST_ID=$(awk -F '"' 'length($4) == 19 { last = $4 } END { print last }' "$SLICE/archive.jsonl")
    awk -F '"' -v last="$LAST_ID" '("" $4) <= ("" last)' "$DATA/tweets-results.jsonl" \
        > "$SLICE/tweets-results.jsonl"
    touch "$SLICE/complete"
fi

ARCHIVE_BYTES=$(stat -c %s "$DATA/archive.jsonl")
ARCHIVE_LINES=$(wc -l < "$DATA/archive.jsonl")
ARCHIVE_LINES=$((ARCHIVE_LINES))
PAGES_BYTES=$(stat -c %s "$DATA/pages.jsonl")
FLAT_GZ_BYTES=$(stat -c %s "$DATA/archive.jsonl.gz")
PAGES_GZ_BYTES=$(stat -c %s "$DATA/pages.jsonl.gz")
SLICE_BYTES=$(stat -c %s "$SLICE/archive.jsonl")
SLICE_LINES=$(wc -l < "$SLICE/archive.jsonl")
SLICE_LINES=$((SLICE_LINES))
SLICE_EVENTS=$(wc -l < "$SLICE/tweets-results.jsonl")
SLICE_EVENTS=$((SLICE_EVENTS))

rm -rf "$RUN"
mkdir -p "$RUN/duckdb"
cleanup() {
    if [[ "${KEEP_DATA:-0}" != 1 ]]; then rm -rf "$RUN"; fi
}
trap cleanup EXIT
# The recipe reads its inputs from, and writes archive.clean.jsonl to, the
# folder it runs in.
for f in archive.jsonl tweets-results.jsonl users-results.jsonl; do
    ln -s "$DATA/$f" "$RUN/duckdb/$f"
done
# A copy of the recipe as it is now: every run runs the same one.
cp "$DUCKDB_RECIPE" "$RUN/duckdb/recipe.sql"
RECIPE_SHA=$(sha256sum "$RUN/duckdb/recipe.sql" | cut -c 1-12)

warm_up "$ARCHIVE_BYTES" "$RUN"
sync
LOAD_BEFORE=$(cut -d ' ' -f 1-3 /proc/loadavg)

# --- measurements ----------------------------------------------------------

RESULTS=(--tweets-results "$DATA/tweets-results.jsonl" --users-results "$DATA/users-results.jsonl")
# The apply-results runs of a round: name, archive, output.
CASES=(
    "flattened archive.jsonl flattened.jsonl"
    "pages pages.jsonl pages.jsonl"
    "flattened.gz archive.jsonl.gz flattened-from-gz.jsonl"
    "pages.gz pages.jsonl.gz pages-from-gz.jsonl"
    "gz-to-gz archive.jsonl.gz flattened.jsonl.gz"
)
declare -A TIMES RSS
add() { TIMES[$1]="${TIMES[$1]:-} $2"; RSS[$1]="${RSS[$1]:-} $3"; }

# ours NAME ARCHIVE OUTPUT [RESULTS...]: one timed apply-results run.
ours() {
    local name=$1 archive=$2 output=$3
    shift 3
    rm -f "$RUN/$output"
    measure "$RUN/$name.summary.json" "$RUN/$name.err" \
        "$APPLY" --archive "$archive" "$@" --output "$RUN/$output"
    add "$name" "$ELAPSED_US" "$RSS_KIB"
}

for ((i = 1; i <= RUNS; i++)); do
    log "round $i/$RUNS ($ARCHIVE_BYTES bytes flattened)..."
    line="  "
    for c in "${CASES[@]}"; do
        read -r name archive output <<< "$c"
        ours "$name" "$DATA/$archive" "$output" "${RESULTS[@]}"
        line+="$name $(secs "$ELAPSED_US") s, "
        if [[ "$name" == flattened ]]; then
            # DuckDB right after ours, on the same archive.
            rm -f "$RUN/duckdb/archive.clean.jsonl"
            cd "$RUN/duckdb"
            measure "$RUN/duckdb.out" "$RUN/duckdb.err" "$DUCKDB" -bail -c ".read recipe.sql"
            cd "$ROOT"
            add duckdb "$ELAPSED_US" "$RSS_KIB"
            line+="duckdb $(secs "$ELAPSED_US") s, "
        fi
    done
    log "${line%, }"
done

for ((i = 1; i <= JQ_RUNS; i++)); do
    log "slice round $i/$JQ_RUNS ($SLICE_BYTES bytes, $SLICE_LINES lines, $SLICE_EVENTS tweets events)..."
    ours slice "$SLICE/archive.jsonl" slice.jsonl --tweets-results "$SLICE/tweets-results.jsonl"
    rm -f "$RUN/slice-jq.jsonl"
    measure /dev/null "$RUN/jq.err" bash "$ROOT/bench/old-jq-recipe.sh" \
        "$SLICE/tweets-results.jsonl" "$SLICE/archive.jsonl" "$RUN/slice-jq.jsonl"
    add jq "$ELAPSED_US" "$RSS_KIB"
    log "  apply-results $(secs "${TIMES[slice]##* }") s, jq $(secs "$ELAPSED_US") s"
done

# --- checks ----------------------------------------------------------------

log "checking the outputs..."
OURS="$RUN/flattened.jsonl"
DUCK="$RUN/duckdb/archive.clean.jsonl"
S="$RUN/flattened.summary.json"
CHANGED=$(summary_field "$S" '.geo_scrubbed + .cut_back')
KEPT=$(summary_field "$S" '.records.kept')
if cmp -s "$OURS" "$DUCK"; then
    DIFFERING=0
    CHECK_DUCKDB="identical bytes"
else
    # Line by line, in step (no file held in memory): the lines that differ
    # go to two small files.
    read -r OURS_LINES DIFFERING DUCK_EXTRA < <(awk -v other="$DUCK" \
        -v a="$RUN/differ.ours" -v b="$RUN/differ.duckdb" '
        { if ((getline l < other) <= 0) { extra--; next }
          if ($0 != l) { n++; print $0 > a; print l > b } }
        END { while ((getline l < other) > 0) extra++; print NR, n + 0, extra + 0 }' "$OURS")
    ((DUCK_EXTRA == 0)) || die "DuckDB kept $DUCK_EXTRA lines more (negative: fewer) than apply-results"
    ((OURS_LINES == KEPT)) || die "apply-results wrote $OURS_LINES lines, its summary says $KEPT kept"
    ((DIFFERING <= CHANGED)) \
        || die "$DIFFERING lines differ from DuckDB's; apply-results changed only $CHANGED"
    cmp -s <(jq -cS . "$RUN/differ.ours") <(jq -cS . "$RUN/differ.duckdb") \
        || die "lines that differ from DuckDB's are not the same JSON (see $RUN/differ.*; KEEP_DATA=1)"
    CHECK_DUCKDB="same $KEPT lines; $DIFFERING changed lines differ in bytes only (same JSON by jq -cS)"
fi
cmp -s "$OURS" "$RUN/flattened-from-gz.jsonl" || die "flattened.gz gave other bytes than flattened"
cmp -s "$RUN/pages.jsonl" "$RUN/pages-from-gz.jsonl" || die "pages.gz gave other bytes than pages"
gzip -dc "$RUN/flattened.jsonl.gz" | cmp -s "$OURS" - || die "the gzip output inflates to other bytes"
SLICE_KEPT=$(summary_field "$RUN/slice.summary.json" '.records.kept')
JQ_LINES=$(wc -l < "$RUN/slice-jq.jsonl")
((JQ_LINES == SLICE_KEPT)) || die "jq kept $JQ_LINES lines of the slice, apply-results $SLICE_KEPT"

# --- report ----------------------------------------------------------------

declare -A MED PEAK
# shellcheck disable=SC2086 # the lists are space-separated numbers
for k in "${!TIMES[@]}"; do
    MED[$k]=$(median ${TIMES[$k]})
    PEAK[$k]=$(maximum ${RSS[$k]})
done

RESULT_IDS=$(summary_field "$S" '[.results[].ids] | add')
TWEETS_EVENTS=$(summary_field "$S" '.results.tweets.events')
TWEETS_IDS=$(summary_field "$S" '.results.tweets.ids')
USERS_IDS=$(summary_field "$S" '.results.users.ids')
SLICE_IDS=$(summary_field "$RUN/slice.summary.json" '.results.tweets.ids')
BOUND_KIB=$(((16 * RESULT_IDS + 32 * 1048576) / 1024))
OURS_PEAK=0
for c in "${CASES[@]}"; do
    read -r name _ <<< "$c"
    ((PEAK[$name] > OURS_PEAK)) && OURS_PEAK=${PEAK[$name]}
done
# The slices' runs have fewer results: their own bound.
SLICE_BOUND_KIB=$(((16 * SLICE_IDS + 32 * 1048576) / 1024))

FLAT=${MED[flattened]}
VS_DUCKDB=$(ratio "$FLAT" "${MED[duckdb]}")
JQ_OVER=$(ratio "${MED[jq]}" "${MED[slice]}")
JQ_MS_LINE=$(awk -v us="${MED[jq]}" -v n="$SLICE_LINES" 'BEGIN { printf "%.3f", us / n / 1000 }')
# Per line and result ID: the constant of the quadratic.
JQ_NS_LINE_ID=$(awk -v us="${MED[jq]}" -v n="$SLICE_LINES" -v r="$SLICE_EVENTS" \
    'BEGIN { printf "%.1f", us * 1000 / n / r }')
JQ_FULL_H=$(awk -v c="$JQ_NS_LINE_ID" -v n="$ARCHIVE_LINES" -v r="$TWEETS_EVENTS" \
    'BEGIN { printf "%.1f", c * n * r / 1e9 / 3600 }')
MODEL=$(awk -F ': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
MACHINE="$(nproc) cores, ${MODEL:-unknown CPU}, $(awk '/^MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)"
MACHINE=${MACHINE//\\/\\\\}
MACHINE=${MACHINE//\"/\\\"}
FS=$(df -T "$DATA" | awk 'NR == 2 { print $2 }')
DATE=$(date -u +%Y-%m-%dT%H:%MZ)

declare -A BYTES=([flattened]=$ARCHIVE_BYTES [pages]=$PAGES_BYTES [flattened.gz]=$ARCHIVE_BYTES
    [pages.gz]=$PAGES_BYTES [gz-to-gz]=$ARCHIVE_BYTES)
declare -A IN_BYTES=([flattened]=$ARCHIVE_BYTES [pages]=$PAGES_BYTES [flattened.gz]=$FLAT_GZ_BYTES
    [pages.gz]=$PAGES_GZ_BYTES [gz-to-gz]=$FLAT_GZ_BYTES)
MET_MEMORY=$(at_most "$OURS_PEAK" "$BOUND_KIB")
MET_SLICE_MEMORY=$(at_most "${PEAK[slice]}" "$SLICE_BOUND_KIB")
MET_DUCKDB=$(at_most "$VS_DUCKDB" 1)
MET_JQ=$(at_most 20 "$JQ_OVER")

{
    printf '%s, %s; data in %s (%s)\n' "$DATE" "$MACHINE" "$DATA" "$FS"
    printf 'duckdb %s, %s (sha256 %s...); %s\n' "$DUCKDB_VERSION" "${DUCKDB_RECIPE#"$ROOT"/}" "$RECIPE_SHA" "$JQ_VERSION"
    printf 'archive:   %d bytes, %d lines (%d Tweets, then users); results: %d tweets events (%d IDs), %d users IDs\n' \
        "$ARCHIVE_BYTES" "$ARCHIVE_LINES" "$N" "$TWEETS_EVENTS" "$TWEETS_IDS" "$USERS_IDS"
    printf '%d runs each (slice: %d), medians; MB/s of the uncompressed archive\n' "$RUNS" "$JQ_RUNS"
    printf '  %-13s %8s s  %7.1f MB/s  max RSS %7d KiB\n' duckdb "$(secs "${MED[duckdb]}")" \
        "$(mb_s "$ARCHIVE_BYTES" "${MED[duckdb]}")" "${PEAK[duckdb]}"
    for c in "${CASES[@]}"; do
        read -r name _ <<< "$c"
        printf '  %-13s %8s s  %7.1f MB/s  max RSS %7d KiB  x%s of flattened\n' "$name" \
            "$(secs "${MED[$name]}")" "$(mb_s "${BYTES[$name]}" "${MED[$name]}")" "${PEAK[$name]}" \
            "$(ratio "${MED[$name]}" "$FLAT")"
    done
    printf 'memory:    apply-results peak %d KiB; bound 16 B x %d result IDs + 32 MiB = %d KiB: %s\n' \
        "$OURS_PEAK" "$RESULT_IDS" "$BOUND_KIB" "$MET_MEMORY"
    printf 'duckdb:    apply-results / duckdb time = %s (target <= 1): %s\n' "$VS_DUCKDB" "$MET_DUCKDB"
    for name in pages flattened.gz pages.gz; do
        x=$(ratio "${MED[$name]}" "$FLAT")
        printf '%-14s %s / flattened time = %s (target <= 2): %s\n' "$name:" "$name" "$x" "$(at_most "$x" 2)"
    done
    printf 'gz-to-gz:  %s / flattened time = %s (writes gzip level 6; no target)\n' \
        "gz-to-gz" "$(ratio "${MED[gz-to-gz]}" "$FLAT")"
    printf 'slice:     %d bytes, %d lines, %d tweets events: apply-results %s s (max RSS %d KiB), jq %s s (max RSS %d KiB)\n' \
        "$SLICE_BYTES" "$SLICE_LINES" "$SLICE_EVENTS" "$(secs "${MED[slice]}")" "${PEAK[slice]}" \
        "$(secs "${MED[jq]}")" "${PEAK[jq]}"
    printf 'jq:        jq / apply-results time on the slice = %s (target >= 20): %s\n' "$JQ_OVER" "$MET_JQ"
    printf 'jq:        %s ms a line here, %s ns a line per result event; its cost grows with archive lines x results,\n' \
        "$JQ_MS_LINE" "$JQ_NS_LINE_ID"
    printf '           so on the whole archive (%d lines, %d events) about %s h (extrapolated, not run)\n' \
        "$ARCHIVE_LINES" "$TWEETS_EVENTS" "$JQ_FULL_H"
    printf 'checked:   duckdb vs apply-results: %s;\n' "$CHECK_DUCKDB"
    printf '           .gz runs == plain runs; jq and apply-results keep %d lines of the slice\n' "$SLICE_KEPT"
    printf 'max RSS via %s; load before: %s\n' "$RSS_SOURCE" "$LOAD_BEFORE"
} >&2

# The JSON line.
{
    printf '{"date":"%s","machine":"%s","fs":"%s","duckdb":"%s","recipe_sha256_12":"%s","jq":"%s","runs":%d,"jq_runs":%d,' \
        "$DATE" "$MACHINE" "$FS" "$DUCKDB_VERSION" "$RECIPE_SHA" "$JQ_VERSION" "$RUNS" "$JQ_RUNS"
    printf '"archive":{"bytes":%d,"lines":%d,"tweets":%d,"tweets_events":%d,"result_ids":%d,"pages_bytes":%d,"flattened_gz_bytes":%d,"pages_gz_bytes":%d},' \
        "$ARCHIVE_BYTES" "$ARCHIVE_LINES" "$N" "$TWEETS_EVENTS" "$RESULT_IDS" "$PAGES_BYTES" \
        "$FLAT_GZ_BYTES" "$PAGES_GZ_BYTES"
    printf '"duckdb_s":%s,"duckdb_max_rss_kib":%d,' "$(secs "${MED[duckdb]}")" "${PEAK[duckdb]}"
    for c in "${CASES[@]}"; do
        read -r name _ <<< "$c"
        printf '"%s":{"s":%s,"mb_s":%s,"input_bytes":%d,"max_rss_kib":%d,"over_flattened":%s},' "$name" \
            "$(secs "${MED[$name]}")" "$(mb_s "${BYTES[$name]}" "${MED[$name]}")" "${IN_BYTES[$name]}" \
            "${PEAK[$name]}" "$(ratio "${MED[$name]}" "$FLAT")"
    done
    printf '"slice":{"bytes":%d,"lines":%d,"tweets_events":%d,"ours_s":%s,"jq_s":%s,"jq_over_ours":%s,"jq_ms_per_line":%s,"jq_ns_per_line_per_event":%s,"jq_full_estimate_h":%s,"ours_max_rss_kib":%d},' \
        "$SLICE_BYTES" "$SLICE_LINES" "$SLICE_EVENTS" "$(secs "${MED[slice]}")" "$(secs "${MED[jq]}")" \
        "$JQ_OVER" "$JQ_MS_LINE" "$JQ_NS_LINE_ID" "$JQ_FULL_H" "${PEAK[slice]}"
    printf '"memory":{"ours_max_rss_kib":%d,"bound_kib":%d},' "$OURS_PEAK" "$BOUND_KIB"
    printf '"targets":{"memory":"%s","slice_memory":"%s","ours_over_duckdb_le_1":"%s","jq_over_ours_ge_20":"%s"},' \
        "$MET_MEMORY" "$MET_SLICE_MEMORY" "$MET_DUCKDB" "$MET_JQ"
    printf '"per_run_us":{'
    sep=""
    for k in duckdb flattened pages flattened.gz pages.gz gz-to-gz slice jq; do
        # shellcheck disable=SC2086 # the list is space-separated numbers
        printf '%s"%s":[%s]' "$sep" "$k" "$(printf '%s\n' ${TIMES[$k]} | paste -sd ,)"
        sep=","
    done
    printf '},"rss_source":"%s","load_before":"%s"}\n' "$RSS_SOURCE" "$LOAD_BEFORE"
}
