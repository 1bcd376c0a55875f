# shellcheck shell=bash
# Shared by the bench scripts (sourced, not run): messages, the ID file and
# the VM warm-up.

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
