#!/usr/bin/env bash
# The two ID files of a flattened archive (as twarc2 flatten writes it: one
# Tweet a line, a user's line has a username), for upload-ids or
# lifecycle.sh. Run it in the archive's folder: it reads archive.jsonl and
# writes tweet_ids.txt and user_ids.txt, each ID once.
# Tested by testkit/tests/programs/readme_flow.rs.
set -euo pipefail

# Tweet IDs: every Tweet's, and those of the Tweets copied into it
# (referenced_tweets: quoted, replied to, retweeted).
jq -r 'select(has("username") | not) | (., .referenced_tweets[]?) | .id' archive.jsonl |
  sort -u >tweet_ids.txt

# User IDs: every user line's, and the author of every Tweet and of every
# Tweet copied into it (a reference cut back to its id has no author).
jq -r 'if has("username") then .id else (., .referenced_tweets[]?) | .author_id // empty end' archive.jsonl |
  sort -u >user_ids.txt
