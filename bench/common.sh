# shellcheck shell=bash
# Shared by the bench scripts (sourced, not run): messages, the ID file,
# the VM warm-up, and timing a command with its peak memory.

log() { printf '%s\n' "$*" >&2; }

# ensure_ids GEN_IDS FILE N: writes N IDs to FILE with the gen-ids example,
# unless FILE is already there from an earlier run.
ensure_ids() {
    local gen=$1 file=$2 n=$3
    if [[ ! -s "$file" ]]; then
        log "generating $n IDs into $file..."
        "$gen" "$n" > "$file.tmp"
        mv "$file.tmp" "$file"
    fi
}

# warm_up BYTES DIR: unless WARMUP=0, writes and deletes 5x BYTES of scratch
# in DIR. On a VM, memory the guest has never touched is slow to write the
# first time; this makes the page cache reuse memory already faulted in.
warm_up() {
    local bytes=$1 dir=$2
    if [[ "${WARMUP:-1}" != 0 ]]; then
        log "warming up memory..."
        dd if=/dev/zero of="$dir/warmup.tmp" bs=1M count=$((bytes * 5 / 1048576 + 1)) status=none
        rm -f "$dir/warmup.tmp"
    fi
}

# Microseconds since the epoch, without a fork where bash has EPOCHREALTIME.
now_us() {
    if [[ -n "${EPOCHREALTIME:-}" ]]; then
        local t="${EPOCHREALTIME//[.,]/}"
        printf '%s\n' "$((10#$t))"
    else
        date +%s%6N
    fi
}

# Median of the numbers given as arguments.
median() {
    printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 }
        END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# Largest of the integers given as arguments.
maximum() {
    local m=0 x
    for x in "$@"; do ((x > m)) && m=$x; done
    printf '%s\n' "$m"
}

secs() { awk -v us="$1" 'BEGIN { printf "%.3f", us / 1e6 }'; }
mb_s() { awk -v b="$1" -v us="$2" 'BEGIN { printf "%.1f", b / us }'; }

# A file descriptor that never has data: `read -t` on it is a sleep without
# a fork (used by the VmHWM sampler).
exec {SLEEP_FD}<> <(:)

if [[ "${RSS_VIA:-}" != proc ]] && /usr/bin/time -f %M -o /dev/null true 2> /dev/null; then
    RSS_SOURCE=/usr/bin/time
else
    RSS_SOURCE=proc-vmhwm-20ms
fi

# measure OUT ERR CMD...: runs CMD with stdout to OUT and stderr to ERR;
# sets ELAPSED_US and RSS_KIB (its max RSS). Fails if CMD fails. Its notes
# go in $SCRATCH; with SYNC_AFTER=1 a `sync` follows, outside the timer, so
# that the next run does not pay for this one's writeback.
# shellcheck disable=SC2034 # ELAPSED_US and RSS_KIB are the caller's to read.
measure() {
    local out=$1 err=$2 rc=0 t0 t1
    shift 2
    if [[ "$RSS_SOURCE" == /usr/bin/time ]]; then
        t0=$(now_us)
        /usr/bin/time -f %M -o "$SCRATCH/rss" "$@" > "$out" 2> "$err" || rc=$?
        t1=$(now_us)
        RSS_KIB=$(tail -n 1 "$SCRATCH/rss")
    else
        local pid sampler
        t0=$(now_us)
        "$@" > "$out" 2> "$err" &
        pid=$!
        # VmHWM only grows, so the last value read is the peak (to within
        # the last 20 ms). The main shell waits on the command itself, so
        # the sampler does not blur the timing.
        (
            while [[ -r "/proc/$pid/status" ]]; do
                while read -r key value _; do
                    [[ "$key" == VmHWM: ]] && printf '%s\n' "$value" > "$SCRATCH/rss"
                done < "/proc/$pid/status" 2> /dev/null || true
                read -r -t 0.02 -u "$SLEEP_FD" _ || true
            done
        ) &
        sampler=$!
        wait "$pid" || rc=$?
        t1=$(now_us)
        kill "$sampler" 2> /dev/null || true
        wait "$sampler" 2> /dev/null || true
        RSS_KIB=$(cat "$SCRATCH/rss" 2> /dev/null || echo 0)
    fi
    ELAPSED_US=$((t1 - t0))
    if ((rc != 0)); then
        log "failed (exit $rc): $*"
        tail -n 20 "$err" | sed 's/^/  | /' >&2
        exit 1
    fi
    if [[ "${SYNC_AFTER:-0}" == 1 ]]; then
        sync
    fi
}
