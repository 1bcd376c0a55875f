.bail on
-- Compliance results applied to a SQLite table of Tweets, by the rules of
-- apply-results. The table is `tweets`, one row per Tweet, as
-- `.import --csv archive.csv tweets` makes it from a twarc-csv file (IDs
-- as text). Run `sqlite3 archive.db < sqlite.sql` in the folder of
--
--   tweets-results.csv  what download-results --format csv wrote for a tweets job
--   users-results.csv   the same for a users job (empty, or only the header, for none)
--
-- It deletes the Tweets the tweets results remove, empties every geo
-- column (named geo or geo.something) of the Tweets with scrub_geo,
-- deletes the Tweets of the users the users results name, and writes
-- the table to archive.clean.csv (a header, then the rows in their order).

-- The results tables are made anew each time: run again next month, this
-- neither appends to last month's rows nor reads a header as a row.
DROP TABLE IF EXISTS tweets_results;
DROP TABLE IF EXISTS users_results;
CREATE TABLE tweets_results (id TEXT, action TEXT, reason TEXT, created_at TEXT, redacted_at TEXT);
CREATE TABLE users_results (id TEXT, action TEXT, reason TEXT, created_at TEXT, redacted_at TEXT);
-- Into a table that exists, .import reads the header as a row: --skip 1.
-- An empty file imports nothing, and is no error.
.import --csv --skip 1 tweets-results.csv tweets_results
.import --csv --skip 1 users-results.csv users_results

-- The geo step needs the names of the geo columns, which only the table
-- knows: write its UPDATE to a file of its own here, read it, remove it.
-- (No geo column: an empty file.)
.headers off
.mode list
.once recipe-scrub-geo.tmp.sql
SELECT 'UPDATE tweets SET '
       || group_concat('"' || replace(name, '"', '""') || '" = NULL', ', ')
       || ' WHERE CAST(id AS TEXT) IN'
       || ' (SELECT id FROM tweets_results WHERE reason = ''scrub_geo'');'
FROM pragma_table_info('tweets')
WHERE name = 'geo' OR name GLOB 'geo.*'
HAVING count(*) > 0;

BEGIN;
-- Any reason but scrub_geo removes the Tweet: first, so that a removal
-- wins over a scrub_geo of the same Tweet.
DELETE FROM tweets
WHERE CAST(id AS TEXT) IN (SELECT id FROM tweets_results WHERE reason <> 'scrub_geo');
.read recipe-scrub-geo.tmp.sql
-- A user in the users results goes, whatever the reason, with their Tweets.
DELETE FROM tweets
WHERE CAST(author_id AS TEXT) IN (SELECT id FROM users_results);
COMMIT;
.shell rm -f recipe-scrub-geo.tmp.sql

-- CSV with a header (none if no row is left), rows ending in LF (.mode csv
-- alone ends them in CRLF), fields quoted where SQLite sees fit.
.headers on
.mode csv
.separator "," "\n"
.once archive.clean.csv
SELECT * FROM tweets ORDER BY rowid;
