#!/usr/bin/env bash
# The whole batch compliance lifecycle against the offline emulator: builds
# everything, starts the emulator on a free loopback port, runs the whole
# check in one command (lifecycle.sh, which prints each of the five stages
# as it runs it), then shows the single stages again on the same job, and
# stops the emulator. Needs only the Rust toolchain.
set -euo pipefail
cd "$(dirname "$0")"

# The profile `cargo test` uses: the tests then reuse this build.
echo "Building (the first time takes two or three minutes on two cores)..." >&2
if [ -t 2 ]; then
  cargo build --workspace --bins # cargo's own progress bar
else
  # No progress bar off a terminal, and a large crate can compile for a
  # minute without a line: say every 15 s that the build goes on.
  cargo build --workspace --bins &
  build_pid=$!
  ( while sleep 15; do echo "  ... still building ($((SECONDS))s)" >&2; done ) &
  ticker_pid=$!
  build_status=0
  wait "$build_pid" || build_status=$?
  kill "$ticker_pid" 2>/dev/null || true
  wait "$ticker_pid" 2>/dev/null || true # killed on purpose
  [ "$build_status" -eq 0 ] || exit "$build_status"
fi
export PATH="${CARGO_TARGET_DIR:-$PWD/target}/debug:$PATH"

work=$(mktemp -d)
emulator_pid=
cleanup() {
  if [ -n "$emulator_pid" ]; then
    kill "$emulator_pid" 2>/dev/null || true
    wait "$emulator_pid" 2>/dev/null || true # killed on purpose: not a failure
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# The emulator prints the two `export` lines a user would paste. Its data
# lives in the demo's folder, so the cleanup removes it whatever happens;
# the delay is explicit (3 s), whatever the binary's default, and a generous
# rate limit lets the waits poll every second.
compliance-emulator --processing-delay 3 --rate-limit 1000 --data-dir "$work/data" \
  >"$work/env" 2>"$work/emulator.log" &
emulator_pid=$!
for _ in $(seq 100); do
  grep -q BEARER_TOKEN "$work/env" 2>/dev/null && break
  kill -0 "$emulator_pid" 2>/dev/null || { cat "$work/emulator.log" >&2; exit 1; }
  sleep 0.1
done
# shellcheck disable=SC1091
source "$work/env"

# A small ID file as people have them: CRLF line ends and a blank line.
for i in $(seq 1 1000); do printf '%s\r\n' $((1460000000000000000 + i * 7919)); done >"$work/ids.txt"
printf '\r\n' >>"$work/ids.txt"

bold='' plain=''
if [ -t 1 ]; then bold=$'\033[1m' plain=$'\033[0m'; fi
step() {
  printf '\n%s$ %s%s\n' "$bold" "$*" "$plain"
  "$@"
}

cat "$work/env"
# The whole run in one command: check, create, upload, wait, download.
step ./lifecycle.sh --type tweets --ids-file "$work/ids.txt" --results-file "$work/results.jsonl" --name demo
step head -n 3 "$work/results.jsonl"

# The same job, one stage at a time, as lifecycle.sh ran them.
step upload-ids --ids-file "$work/ids.txt" --check
step list-jobs --type tweets
step list-job --name demo
step download-results --name demo --results-file "$work/again.jsonl"
step cmp "$work/results.jsonl" "$work/again.jsonl"
