#!/usr/bin/env bash
# The two ID files of an archive of twarc2 pages (one API response a line:
# the Tweets under data, the Tweets and users they refer to under
# includes), for upload-ids or lifecycle.sh. Run it in the archive's
# folder: it reads archive.jsonl and writes tweet_ids.txt and user_ids.txt,
# each ID once.
# Tested by testkit/tests/programs/readme_flow.rs.
set -euo pipefail

# Tweet IDs: those of data and of includes.tweets.
jq -r '(.data[]?, .includes.tweets[]?) | .id' archive.jsonl |
  sort -u >tweet_ids.txt

# User IDs: those of includes.users, and the author of every Tweet.
jq -r '.includes.users[]?.id, ((.data[]?, .includes.tweets[]?) | .author_id // empty)' archive.jsonl |
  sort -u >user_ids.txt
