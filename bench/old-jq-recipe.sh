#!/usr/bin/env bash
# The jq recipe the README gave before apply-results, kept here word for
# word as the baseline of bench/apply.sh (the README no longer shows it).
#
#   bash bench/old-jq-recipe.sh RESULTS ARCHIVE OUT
#
# RESULTS is the JSON Lines of a tweets job (what download-results writes),
# ARCHIVE a flattened archive (one Tweet per line, as `twarc2 flatten`
# writes it), OUT the clean copy. delete.txt and scrub.txt, the recipe's own
# intermediate files, go in a temporary folder, removed at the end.
#
# Its cost is quadratic: the filter builds its two lookup objects from the
# whole ID lists again for every line of the archive, so its time grows with
# (archive lines) x (result IDs); on an archive of 1 GB with 10% of its IDs
# in the results it would run for days. It also re-serialises every line it
# keeps (jq -c: compact, UTF-8 instead of \u escapes, 19-digit numbers
# rounded to doubles before jq 1.7), ignores users results, and drops geo
# only at the top level.
#
# Needs jq.
set -euo pipefail

(($# == 3)) || { echo "usage: bash bench/old-jq-recipe.sh RESULTS ARCHIVE OUT" >&2; exit 2; }
results=$1 archive=$2 out=$3

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
# Relative paths were given from the caller's folder.
[[ "$results" == /* ]] || results="$OLDPWD/$results"
[[ "$archive" == /* ]] || archive="$OLDPWD/$archive"
[[ "$out" == /* ]] || out="$OLDPWD/$out"

# --- the recipe, as the README had it (file names aside) --------------------
jq -r 'select(.reason != "scrub_geo") | .id' "$results" > delete.txt
jq -r 'select(.reason == "scrub_geo") | .id' "$results" > scrub.txt
jq -c --rawfile d delete.txt --rawfile s scrub.txt '
  ($d | split("\n") | map({(.): true}) | add // {}) as $del
  | ($s | split("\n") | map({(.): true}) | add // {}) as $geo
  | select($del[.id] | not)
  | if $geo[.id] then del(.geo, .coordinates, .place) else . end' "$archive" > "$out"
