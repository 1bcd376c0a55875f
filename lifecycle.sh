#!/usr/bin/env bash
# lifecycle.sh: one batch compliance check from start to end, by chaining
# the five programs; each command is printed, ready to paste, as it runs.
#
# Usage:
#   ./lifecycle.sh --type tweets|users --ids-file FILE|- --results-file FILE
#                  [--name NAME] [--replace] [--part-size BYTES]
#                  [--format jsonl|csv]
#   ./lifecycle.sh -h | --help | --version
#
# Options:
#   --type T            tweets or users: what the IDs are.
#   --ids-file FILE     The IDs, one a line; - reads standard input.
#   --results-file FILE Where the results go, whole or not at all.
#   --name NAME         The job's name; a split run's parts are NAME-2, ...
#   --replace           Cancels a job of the type in the way (create-job
#                       --replace) before the first job is created.
#   --part-size BYTES   Splits the IDs into parts of at most BYTES, a job each.
#   --format F          jsonl (the default) or csv, as download-results writes.
#   -h                  This usage; --help adds the manual.
#   --version           The script's name and version.
#
# Steps:
#   1. upload-ids --check   checks the ID file in full: a bad one makes no job
#   2. create-job           makes a job (one per part, one after the other)
#   3. upload-ids           sends it its IDs
#   4. list-job --wait      waits until it is complete
#   5. download-results     writes every part's results, and counts them
#
# The IDs sent are the ID file's normalised (as upload-ids sends them),
# each once and sorted: an ID twice, even in two parts, gets its events
# once. Parts are split at line boundaries; without --part-size, at 1 GiB
# when the upload URL is on the API host (its limit for one upload), never
# for Cloud Storage URLs. The results file is written by download-results'
# rules: only when every part's results are whole (a CSV under one header
# line), replacing a file there (the run says so when it starts); a FIFO or
# a device is written to, a link is followed. A folder, a folder where no
# file can be written, the ID file itself, or a name too long for the last
# part is refused before any job, and leaves no state.
#
# State. The run keeps its state in .FILE.lifecycle/ beside the results
# file: the IDs it sends, what they and the flags were, and each part's job.
#   - A re-run goes on with it when it is for the same IDs (the same set,
#     however the file writes them), --type, --name, --part-size and
#     X_API_URL: a part whose job is complete is not run again, and a part
#     whose job failed or expired, or whose results expired, gets a new one.
#   - Otherwise the re-run starts afresh, and says so (the jobs of the
#     earlier run are left as they are).
#   - --ids-file - reads standard input afresh on every run, as any file.
#   - A run holds a lock on the state (flock) while it lives: a second run
#     for the same results file stops at once (exit 1).
#   - A run stopped by a failure, Ctrl-C (SIGINT) or SIGTERM names the job
#     it leaves and the command that goes on from there.
#   - The state is removed once the results file is whole.
#
# Uses the five programs on PATH, or this project's newest build (cargo
# build --release, or the debug build demo.sh makes), and flock and
# sha256sum; talks to the API that X_API_URL names (the real one by
# default, or the emulator). Exit codes: those of the stage that failed (2:
# bad usage or input, 1: a failure); 1 when another run holds the state;
# 130 on SIGINT, 143 on SIGTERM; 0 when the results file is whole.
set -euo pipefail
version=0.1.0 # the workspace's, which the tests hold it to

# The usage (-h: up to --version) or the whole manual (--help).
manual() { sed -n "2,/$1/p" "$0" | sed '/^set -euo/d; s/^# \{0,1\}//'; }

# A command line that cannot work: exit 2, before any job. A failure: exit 1.
fail() { echo "lifecycle.sh: $*" >&2; exit 2; }
die() { echo "lifecycle.sh: $*" >&2; exit 1; }

# The words, shell-quoted: a command line that can be pasted.
quote() { local line; printf -v line ' %q' "$@"; echo "${line# }"; }

# What to say of the unknown flag $1: the real flag(s) it begins, else the
# one fewest edits away (if a third of it or fewer), else where the usage is.
closest() {
  printf '%s\n' --type --ids-file --results-file --name --replace --part-size --format --help --version |
    awk -v typed="$1" '
      function edits(a, b, i, j, d, c) { # Levenshtein distance
        for (i = 0; i <= length(a); i++) for (j = 0; j <= length(b); j++) {
          c = i + j
          if (i && j) c = d[i - 1, j - 1] + (substr(a, i, 1) != substr(b, j, 1))
          if (i && d[i - 1, j] + 1 < c) c = d[i - 1, j] + 1
          if (j && d[i, j - 1] + 1 < c) c = d[i, j - 1] + 1
          d[i, j] = c
        }
        return d[length(a), length(b)]
      }
      index($0, typed) == 1 { starts = starts (starts ? " or " : "") $0 }
      { n = edits(typed, $0); if (best == "" || n < fewest) { fewest = n; best = $0 } }
      END { near = starts ? starts : fewest <= length(typed) / 3 ? best : ""
            print near ? "did you mean " near "?" : "see ./lifecycle.sh -h" }'
}

# This command, to run again: the same words, quoted.
self=$0; [[ $self == */* ]] || self=./$self
again=$(quote "$self" "$@")

type='' ids_file='' results='' name='' format=jsonl
unset part_size
replace=()
while [ $# -gt 0 ]; do
  case "$1" in
    --type) type=${2-}; shift 2 || fail "--type needs a value" ;;
    --ids-file) ids_file=${2-}; shift 2 || fail "--ids-file needs a value" ;;
    --results-file) results=${2-}; shift 2 || fail "--results-file needs a value" ;;
    --name) name=${2-}; shift 2 || fail "--name needs a value" ;;
    --part-size) part_size=${2-}; shift 2 || fail "--part-size needs a value" ;;
    --format) format=${2-}; shift 2 || fail "--format needs a value" ;;
    --replace) replace=(--replace); shift ;;
    -h) manual '^#   --version'; exit 0 ;;
    --help) manual '^set -euo'; exit 0 ;;
    --version) echo "lifecycle.sh $version"; exit 0 ;;
    --?*=*) set -- "${1%%=*}" "${1#*=}" "${@:2}" ;;
    -?*) fail "there is no flag $1; $(closest "$1")" ;;
    *) fail "'$1' is not a flag, and every value follows its flag; see ./lifecycle.sh -h" ;;
  esac
done
case "$type" in tweets | users) ;; *) fail "--type must be tweets or users; see ./lifecycle.sh -h" ;; esac
[ -n "$ids_file" ] || fail "--ids-file is required; see ./lifecycle.sh -h"
case "$results" in '' | -) fail "--results-file must name a file; see ./lifecycle.sh -h" ;; esac
if [ -n "${part_size+given}" ]; then
  # Leading zeros go: 00 is no more a size than 0.
  bytes_per_part=$(printf '%s' "$part_size" | sed 's/^0*//')
  case "$part_size" in '' | *[!0-9]*) bytes_per_part='' ;; esac
  [ -n "$bytes_per_part" ] && [ "${#bytes_per_part}" -le 15 ] ||
    fail "--part-size takes a whole number of bytes, 1 or more, not '$part_size'"
  part_size=$bytes_per_part
fi
part_size=${part_size-}
case "$format" in jsonl | csv) ;; *) fail "--format must be jsonl or csv, not '$format'; see ./lifecycle.sh -h" ;; esac
if [ "$ids_file" != - ] && [ "$ids_file" -ef "$results" ]; then
  fail "--ids-file and --results-file are the same file ($ids_file): the results would overwrite the IDs"
fi

# The five programs: on PATH, else this project's newest build.
if ! command -v create-job >/dev/null; then
  here=$(cd -- "$(dirname -- "$0")" && pwd)
  built=${CARGO_TARGET_DIR:-$here/target}/release
  [ ! "${built%/*}/debug/create-job" -nt "$built/create-job" ] || built=${built%/*}/debug
  [ -x "$built/create-job" ] ||
    fail "the five programs are neither on PATH nor built: run cargo build --release in $here"
  PATH="$built:$PATH"
fi
for tool in flock sha256sum; do
  command -v "$tool" >/dev/null || die "$tool is needed (util-linux and coreutils) and is not on PATH"
done

# Prints a command, ready to paste, then runs it.
run() {
  stage=$1
  echo "\$ $(quote "$@")" >&2
  "$@"
}

# The value of a top-level KEY in the pretty JSON our programs print.
field() {
  sed -n "s/^  \"$1\": \"\{0,1\}\([^\",]*\)\"\{0,1\},\{0,1\}\$/\1/p" | head -n 1
}

# 1. Where the results go, by download-results' own rules, before any job.
run download-results --results-file "$results" --format "$format" --check || exit $?

# The state of this run, beside the results file, locked while the run
# lives (the programs it starts hold the lock too).
state="$(dirname -- "$results")/.$(basename -- "$results").lifecycle"
fresh=$([ -d "$state" ] || echo yes)
mkdir -p -- "$state" 2>/dev/null || die "cannot make $state, the folder for the run's state"
exec 9<"$state"
flock -n 9 || die "another lifecycle.sh run is using $state (for the same results file); wait for it to end"
[ /dev/fd/9 -ef "$state" ] || die "$state was removed by a run that just ended; run the command again"

# A check failed: exit with its code, leaving no state but an earlier run's.
refused() {
  [ -z "${2-}" ] || echo "lifecycle.sh: $2" >&2
  [ -z "$fresh" ] || rm -rf -- "$state"
  exit "$1"
}

# Where the run stopped ($2: how $stage failed, or a signal), what it
# leaves, and what can be done from there; exits with $1.
stopped() {
  local code=$1
  trap - INT TERM
  [ "$part" -gt 0 ] || refused "$code" "the run $2 before any job was made"
  echo >&2
  if [ "$stage" = download-results ]; then
    echo "lifecycle.sh: $stage $2; the $last job(s) of this run are complete." >&2
    echo "Their results stay downloadable for 7 days after each was created; until then, this command downloads them again: $again" >&2
    echo "If download-results said the results expired, remove $(quote "$state") and run the command again: that starts afresh, with new jobs." >&2
    exit "$code"
  fi
  echo "lifecycle.sh: $stage $2 for part $part of $last." >&2
  if [ "$stage" = create-job ] && [ "$code" -gt 128 ]; then
    echo "It may have created a job this run does not know of: list-jobs --type $type --status created shows it." >&2
    echo "To go on at once, add --replace, which cancels that job: $again --replace" >&2
    echo "The same command without --replace works once that job's upload window has closed (15 minutes after it was made)." >&2
    exit "$code"
  fi
  [ -z "$job" ] || echo "It leaves $type job $job${job_name:+ (\"$job_name\")}; see it with: list-job --id $job" >&2
  if [ "$code" -eq 2 ]; then
    echo "The error above says what to change; the state in $state stays for the run that follows." >&2
    exit "$code"
  fi
  echo "To go on from there, run the same command again: $again" >&2
  echo "A complete job is not run again, and a job that failed or expired is made anew (add --replace if another job of the type is in the way)." >&2
  if [ "$code" -gt 128 ] && [ -n "$job" ]; then
    echo "To give the run up instead, remove its state ($(quote rm -rf "$state")); then --replace on the next run cancels job $job if it is still active." >&2
  fi
  exit "$code"
}
part=0 job='' job_name=''
trap 'stopped 130 "was stopped by Ctrl-C (SIGINT)"' INT
trap 'stopped 143 "was stopped by SIGTERM"' TERM

# 2. The IDs, checked in full: a bad file creates no job. Standard input is
# read afresh every run: a copy an interrupted run left is overwritten.
input=$ids_file
if [ "$ids_file" = - ]; then
  input="$state/input"
  cat >"$input"
elif [ -e "$ids_file" ] && [ ! -f "$ids_file" ]; then
  # A FIFO or <(...) can be read once: a copy is read twice.
  input="$state/input"
  cat -- "$ids_file" >"$input"
fi
run upload-ids --ids-file "$input" --check >/dev/null || refused $?

# The IDs to send: normalised (no spaces, CR or byte order mark, no blank
# line), each once, sorted in bounded memory.
LC_ALL=C tr -d ' \t\r' <"$input" | LC_ALL=C sed '1s/^\xef\xbb\xbf//; /^$/d' |
  LC_ALL=C sort -u >"$state/ids.new"
bytes=$(wc -c <"$state/ids.new" | tr -d ' ')
key="type=$type name=$name part-size=$part_size api=${X_API_URL:-https://api.x.com}
ids=$(wc -l <"$state/ids.new" | tr -d ' ') $bytes $(sha256sum <"$state/ids.new" | cut -d ' ' -f 1)"

# Splits the IDs into parts of at most $1 bytes.
split_ids() {
  rm -rf "$state/parts"
  mkdir "$state/parts"
  LC_ALL=C awk -v max="$1" -v dir="$state/parts" '
    { n = length($0) + 1 }
    size > 0 && size + n > max { close(file); part++; size = 0 }
    { size += n; file = sprintf("%s/%04d", dir, part + 1); print > file }
  ' "$state/ids"
}

# How many parts the IDs are split into; 0 when they are not.
count_parts() {
  if [ -d "$state/parts" ]; then find "$state/parts" -type f | wc -l | tr -d ' '; else echo 0; fi
}

# The state belongs to the IDs and flags it was made for.
if [ "$(cat "$state/key" 2>/dev/null)" = "$key" ]; then
  echo "lifecycle.sh: going on with the unfinished run in $state" >&2
  rm -f "$state/ids.new"
else
  earlier=$(cat "$state"/*.job 2>/dev/null | tr '\n' ' ' || true)
  if [ -n "$earlier" ]; then
    echo "lifecycle.sh: $state holds an unfinished run for other IDs or flags: starting afresh (its jobs stay as they are: $earlier)" >&2
  fi
  rm -rf "$state/key" "$state/parts" "$state/ids" "$state"/*.job "$state"/*.json
  mv "$state/ids.new" "$state/ids"
  if [ -n "$part_size" ] && [ "$bytes" -gt "$part_size" ]; then split_ids "$part_size"; fi
  printf '%s\n' "$key" >"$state/key"
fi
parts=$(count_parts)
last=$((parts > 0 ? parts : 1))

# The longest part name must be a job name too: checked before any job. A
# split at the API host's limit is not known yet: its most parts count.
if [ -n "$name" ]; then
  most=$last
  if [ "$parts" -eq 0 ] && [ -z "$part_size" ] && [ "$bytes" -gt $((1 << 30)) ]; then
    most=$((bytes / ((1 << 30) - 20) + 1))
  fi
  longest=$name
  [ "$most" -eq 1 ] || longest="$name-$most"
  download-results --results-file "$results" --name "$longest" --check ||
    refused 2 "part $most would be named \"$longest\": give a shorter --name"
fi

# A file there already (not this run's, which is newer than its state) is
# last time's results: say that this run replaces it.
if [ -f "$results" ] && [ ! "$results" -nt "$state/key" ]; then
  echo "lifecycle.sh: $results exists (last written $(date -r "$results" '+%F %R')); this run replaces it once every part's results are whole" >&2
fi

jobs=()
while [ "$part" -lt "$last" ]; do
  part=$((part + 1))
  tag=$(printf %04d "$part")
  part_file="$state/parts/$tag"
  [ "$parts" -gt 0 ] || part_file="$state/ids"
  job_name=$name
  [ -z "$name" ] || [ "$part" -eq 1 ] || job_name="$name-$part"
  named=()
  [ -z "$job_name" ] || named=(--name "$job_name")

  # A job from an earlier run goes on where it stopped, if it still can.
  job=$(cat "$state/$tag.job" 2>/dev/null || true)
  status=
  if [ -n "$job" ]; then
    if ! run list-job --id "$job" >"$state/$tag.json"; then
      echo "lifecycle.sh: job $job of part $part, made by an earlier run, could not be looked up." >&2
      echo "If the API does not know it, remove $(quote "$state") to start afresh; else run the same command again." >&2
      exit 1
    fi
    status=$(field status <"$state/$tag.json")
    expires=$(field download_expires_at <"$state/$tag.json")
    if [ "$status" = complete ] && [ -n "$expires" ] &&
      [[ "${expires:0:19}" < "$(date -u +%Y-%m-%dT%H:%M:%S)" ]]; then
      status="complete, but its results expired at $expires"
    fi
    case "$status" in
      created | in_progress | complete) echo "part $part: job $job of an earlier run is $status" >&2 ;;
      *) echo "part $part: job $job of an earlier run is $status: a new job" >&2; job='' ;;
    esac
  fi

  # 2. A job for this part.
  if [ -z "$job" ]; then
    rm -f "$state/$tag.job"
    run create-job --type "$type" "${named[@]}" "${replace[@]}" >"$state/$tag.json" ||
      stopped $? "failed (exit $?)"
    replace=()
    job=$(field id <"$state/$tag.json")
    echo "$job" >"$state/$tag.job"
    status=created
    # The API host takes at most 1 GiB in one upload: split, unless asked not to.
    upload_url=$(field upload_url <"$state/$tag.json")
    api=${X_API_URL:-https://api.x.com}
    if [ "$parts" -eq 0 ] && [ -z "$part_size" ] && [ "${upload_url#"${api%/}"/}" != "$upload_url" ] &&
      [ "$bytes" -gt $((1 << 30)) ]; then
      echo "lifecycle.sh: $bytes bytes are over the API host's 1 GiB for one upload: splitting" >&2
      split_ids $((1 << 30))
      parts=$(count_parts)
      last=$parts
      part_file="$state/parts/$tag"
    fi
  fi

  # 3. Its IDs, and 4. the wait until it is done.
  if [ "$status" = created ]; then
    run upload-ids --ids-file "$part_file" --id "$job" >/dev/null || stopped $? "failed (exit $?)"
  fi
  run list-job --id "$job" --wait >/dev/null || stopped $? "failed (exit $?)"
  jobs+=(--id "$job")
done

# 5. The results of every part, into the one results file; download-results
# counts the events of them all by reason (on stderr).
run download-results "${jobs[@]}" --format "$format" --results-file "$results" >/dev/null ||
  stopped $? "failed (exit $?)"
rm -rf "$state"
echo "lifecycle.sh: $results holds the results of $last job(s)" >&2
