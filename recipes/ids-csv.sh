#!/usr/bin/env bash
# The two ID files of a CSV archive with a header (as twarc2 csv writes it:
# columns id and author_id), for upload-ids or lifecycle.sh. Run it in the
# archive's folder: it reads archive.csv and writes tweet_ids.txt and
# user_ids.txt, each ID once. sqlite3 reads the CSV, so a quoted field with
# a comma or a line break in it (a Tweet's text) is one field.
# Tested by testkit/tests/programs/readme_flow.rs.
set -euo pipefail

sqlite3 -batch :memory: '.import --csv archive.csv t' 'SELECT id FROM t' |
  sort -u >tweet_ids.txt
sqlite3 -batch :memory: '.import --csv archive.csv t' "SELECT author_id FROM t WHERE author_id <> ''" |
  sort -u >user_ids.txt
