#!/usr/bin/env bash
# lifecycle.sh: one batch compliance check from start to end, by chaining
# the five programs. Each command is printed before it runs, so the script
# teaches the workflow as it runs it.
#
#   ./lifecycle.sh --type tweets|users --ids-file FILE|- --results-file FILE
#                  [--name NAME] [--replace] [--part-size BYTES]
#                  [--format jsonl|csv]
#
#   1. upload-ids --check      checks the ID file; a bad file creates no job
#   2. create-job              one job (or one per part, see below)
#   3. upload-ids              sends the IDs to the job
#   4. list-job --wait         waits until the job is complete
#   5. download-results        fetches and checks its results
#
# --name NAME      names the job(s): NAME, or NAME-2, NAME-3, ... for parts.
# --replace        cancels a job of the type that is in the way (create-job
#                  --replace) before the first job is created.
# --part-size N    a file whose normalised size is over N bytes is split at
#                  line boundaries into parts that run as consecutive jobs
#                  (only one job per type may be active). Default: 1 GiB
#                  when the upload URL is on the API host (its limit for one
#                  upload); no splitting for Cloud Storage URLs.
# --format F       jsonl (the default) or csv: the results file's format,
#                  as download-results --format F writes it. A CSV of
#                  several parts has one header line, then every part's rows.
#
# The results of all parts go into the one results file, which appears only
# when every part is done. The run keeps its state in .FILE.lifecycle/
# beside the results file: after a failure, run the same command again and
# the parts already done are not run again; the state is removed on
# success. With --ids-file -, the IDs read from standard input are kept in
# the state, and a re-run uses that copy.
#
# Uses the five programs on PATH, or this project's release build
# (cargo build --release); talks to the API that X_API_URL names (the real
# one by default, or the emulator). Exit codes: those of the stage that
# failed (2: bad usage or input, 1: a failure); 0 when the results file is
# whole.
set -euo pipefail

usage() {
  sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
}

fail() {
  echo "lifecycle.sh: $*" >&2
  exit 2
}

type='' ids_file='' results='' name='' part_size='' format=jsonl
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
    -h | --help) usage; exit 0 ;;
    *) fail "there is no flag $1; see ./lifecycle.sh --help" ;;
  esac
done
case "$type" in tweets | users) ;; *) fail "--type must be tweets or users; see ./lifecycle.sh --help" ;; esac
[ -n "$ids_file" ] || fail "--ids-file is required; see ./lifecycle.sh --help"
case "$results" in '' | -) fail "--results-file must name a file; see ./lifecycle.sh --help" ;; esac
case "$part_size" in '' | *[!0-9]* | 0) [ -z "$part_size" ] || fail "--part-size takes a number of bytes, not $part_size" ;; esac
case "$format" in jsonl | csv) ;; *) fail "--format must be jsonl or csv, not '$format'; see ./lifecycle.sh --help" ;; esac
folder=$(dirname -- "$results")
[ -d "$folder" ] || fail "--results-file $results: the folder $folder does not exist"

# The five programs: on PATH, else this project's release build.
if ! command -v create-job >/dev/null; then
  here=$(cd -- "$(dirname -- "$0")" && pwd)
  [ -x "$here/target/release/create-job" ] ||
    fail "the five programs are neither on PATH nor built: run cargo build --release in $here"
  PATH="$here/target/release:$PATH"
fi

# Prints a command, then runs it.
run() {
  printf '$ %s\n' "$*" >&2
  "$@"
}

# The value of a top-level KEY in the pretty JSON our programs print.
field() {
  sed -n "s/^  \"$1\": \"\{0,1\}\([^\",]*\)\"\{0,1\},\{0,1\}\$/\1/p" | head -n 1
}

# The state of this run, beside the results file.
state="$folder/.$(basename -- "$results").lifecycle"
arguments="type=$type ids-file=$ids_file name=$name part-size=$part_size format=$format"
if [ -d "$state" ]; then
  [ "$(cat "$state/arguments" 2>/dev/null)" = "$arguments" ] ||
    fail "$state holds an unfinished run with other arguments; run that again, or remove the folder"
  echo "lifecycle.sh: going on with the unfinished run in $state" >&2
else
  mkdir -p "$state/parts"
  echo "$arguments" >"$state/arguments"
fi

# Where the run stopped, and how to go on by hand from there.
stopped() {
  local code=$1 stage=$2 part=$3 job=${4-}
  echo >&2
  echo "lifecycle.sh: $stage failed (exit $code) for part $part of $parts." >&2
  if [ -n "$job" ]; then
    echo "It left behind job $job${job_name:+ (\"$job_name\")}; see it with: list-job --id $job" >&2
    echo "To go on by hand: upload-ids --ids-file $part_file --id $job (if it is still created)," >&2
    echo "  list-job --id $job --wait, download-results --id $job --format $format --results-file FILE;" >&2
  fi
  echo "or run the same lifecycle.sh command again: parts done are not run again." >&2
  exit "$code"
}

# 1. Check the whole ID file first: a bad file creates no job.
if [ "$ids_file" = - ]; then
  [ -s "$state/stdin" ] || cat >"$state/stdin"
  ids_file="$state/stdin"
fi
run upload-ids --ids-file "$ids_file" --check >"$state/check.json" || exit $?
bytes=$(field bytes <"$state/check.json")

# Splits the ID file at line boundaries into parts of at most $1 bytes as
# they are (so at most that normalised), leaving out blank lines.
split_ids() {
  rm -f "$state"/parts/*
  LC_ALL=C awk -v max="$1" -v dir="$state/parts" '
    /^[ \t\r]*$/ { next }
    { n = length($0) + 1 }
    size > 0 && size + n > max { close(file); part++; size = 0 }
    { size += n; file = sprintf("%s/%04d", dir, part + 1); print > file }
  ' "$ids_file"
}

parts=$(find "$state/parts" -type f | wc -l)
if [ "$parts" -eq 0 ] && [ -n "$part_size" ] && [ "$bytes" -gt "$part_size" ]; then
  split_ids "$part_size"
  parts=$(find "$state/parts" -type f | wc -l)
fi

part=0
while :; do
  part=$((part + 1))
  part_file="$state/parts/$(printf %04d "$part")"
  if [ "$parts" -eq 0 ]; then
    part_file=$ids_file
  elif [ "$part" -gt "$parts" ]; then
    break
  fi
  tag=$(printf %04d "$part")
  if [ -e "$state/$tag.done" ]; then
    echo "part $part: done in an earlier run" >&2
    if [ "$parts" -eq 0 ]; then break; fi
    continue
  fi
  job_name=$name
  [ -n "$name" ] && [ "$part" -gt 1 ] && job_name="$name-$part"
  named=()
  [ -n "$job_name" ] && named=(--name "$job_name")

  # A job from an earlier run goes on where it stopped, if it still can.
  job=$(cat "$state/$tag.job" 2>/dev/null || true)
  status=
  if [ -n "$job" ]; then
    status=$(run list-job --id "$job" | field status) || stopped $? list-job "$part" "$job"
    case "$status" in failed | expired) job='' status='' ;; esac
  fi

  # 2. A job for this part.
  if [ -z "$job" ]; then
    run create-job --type "$type" "${named[@]}" "${replace[@]}" >"$state/$tag.json" ||
      stopped $? create-job "$part"
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
      parts=$(find "$state/parts" -type f | wc -l)
      part_file="$state/parts/$tag"
    fi
  fi

  # 3. Its IDs.
  if [ "$status" = created ]; then
    run upload-ids --ids-file "$part_file" --id "$job" >/dev/null || stopped $? upload-ids "$part" "$job"
  fi

  # 4. Wait until it is done, then 5. fetch its results.
  run list-job --id "$job" --wait >/dev/null || stopped $? list-job "$part" "$job"
  run download-results --id "$job" --format "$format" --results-file "$state/$tag.results" >/dev/null ||
    stopped $? download-results "$part" "$job"
  touch "$state/$tag.done"
  [ "$parts" -eq 0 ] && break
done

# Every part is done: the results file appears whole, in one rename. A CSV
# keeps the header line of the first part alone.
whole="$folder/.$(basename -- "$results").lifecycle-$$"
: >"$whole"
for done in "$state"/*.results; do
  if [ "$format" = csv ] && [ -s "$whole" ]; then
    tail -n +2 "$done" >>"$whole"
  else
    cat "$done" >>"$whole"
  fi
  # A part's last line may lack its newline; the next part must not join it.
  if [ -s "$done" ] && [ "$(tail -c 1 "$done" | od -An -c | tr -d ' ')" != '\n' ]; then
    echo >>"$whole"
  fi
done
mv -f "$whole" "$results"
rm -rf "$state"
echo "lifecycle.sh: $results holds the results of $((parts > 0 ? parts : 1)) job(s)" >&2
