.bail on
-- Compliance results applied to a flattened archive with DuckDB, by the
-- rules of apply-results. Run `duckdb < duckdb.sql` in the folder of
--
--   archive.jsonl         one Tweet or user object per line (twarc2 flatten)
--   tweets-results.jsonl  what download-results wrote for a tweets job
--   users-results.jsonl   the same for a users job (an empty file for none)
--
-- to write archive.clean.jsonl:
--
--   tweets results, scrub_geo   the Tweet loses its top-level geo, and stays
--   tweets results, any other   the Tweet goes
--   users results, any reason   the user goes, and every Tweet whose
--                               author_id is the user
--
-- A record with a top-level username is a user; any other is a Tweet. A
-- Tweet copied into another's referenced_tweets is cut back to {type, id}
-- when it goes, and loses its geo for scrub_geo. A line that stays is
-- written byte for byte, CR of a CRLF included; a line that changes is
-- written again compactly, its members in their order.

-- Every table this makes, so that it runs again in a database file.
DROP TABLE IF EXISTS tweets_results;
DROP TABLE IF EXISTS gone_tweets;
DROP TABLE IF EXISTS scrubbed_tweets;
DROP TABLE IF EXISTS gone_users;
DROP TABLE IF EXISTS archive_lines;
DROP TABLE IF EXISTS records;
DROP TABLE IF EXISTS copies;
DROP TABLE IF EXISTS edited_copies;
DROP TABLE IF EXISTS edited_lines;

-- An ID as apply-results reads one: 1 to 19 digits, in a string or a
-- number, compared as a number. Anything else matches nothing.
CREATE OR REPLACE TEMP MACRO id_of(text) AS
    CASE WHEN regexp_full_match(text, '[0-9]{1,19}') THEN CAST(text AS UBIGINT) END;

-- 1. The results. The columns are named, so that an empty results file
-- (every ID compliant) reads as no rows.
CREATE TABLE tweets_results AS
SELECT id_of(id) AS id, reason
FROM read_json('tweets-results.jsonl', format = 'newline_delimited',
               columns = {id: 'VARCHAR', reason: 'VARCHAR'});
CREATE TABLE gone_tweets AS
SELECT DISTINCT id FROM tweets_results WHERE reason <> 'scrub_geo';
-- It may hold Tweets that go too: removal is looked at first, and wins.
CREATE TABLE scrubbed_tweets AS
SELECT DISTINCT id FROM tweets_results WHERE reason = 'scrub_geo';
CREATE TABLE gone_users AS
SELECT DISTINCT id_of(id) AS id
FROM read_json('users-results.jsonl', format = 'newline_delimited',
               columns = {id: 'VARCHAR', reason: 'VARCHAR'});

-- 2. The archive's lines, n their numbers. read_text and a split on LF keep
-- every byte (the CSV reader would drop the CR of a CRLF line end).
CREATE TABLE archive_lines AS
SELECT unnest(l) AS line, generate_subscripts(l, 1) AS n
FROM (SELECT string_split(content, chr(10)) AS l FROM read_text('archive.jsonl'));
-- What follows the last LF is a line only when there is something.
DELETE FROM archive_lines
WHERE n = (SELECT max(n) FROM archive_lines) AND line = '';

-- 3. The records (the lines not blank), each parsed once, and their fate.
CREATE TABLE records AS
WITH parsed AS (
    SELECT n, json_extract(line, ['$.id', '$.author_id', '$.username', '$.geo',
                                  '$.referenced_tweets']) AS v
    FROM archive_lines
    WHERE trim(line, E' \t\r\f') <> ''
), record AS (
    -- A member that is there, even as null, is not SQL NULL.
    SELECT n, id_of(v[1] ->> '$') AS id, id_of(v[2] ->> '$') AS author_id,
           v[3] IS NOT NULL AS is_user, v[4] IS NOT NULL AS has_geo,
           v[5] AS referenced_tweets
    FROM parsed
)
SELECT *,
    CASE WHEN is_user
         THEN EXISTS (SELECT 1 FROM gone_users g WHERE g.id = r.id)
         ELSE EXISTS (SELECT 1 FROM gone_tweets g WHERE g.id = r.id)
           OR EXISTS (SELECT 1 FROM gone_users g WHERE g.id = r.author_id)
    END AS gone,
    NOT is_user AND has_geo
        AND EXISTS (SELECT 1 FROM scrubbed_tweets s WHERE s.id = r.id) AS scrub_geo
FROM record r;

-- 4. The items of the referenced_tweets of the Tweets that stay, k their
-- places. A copy is a Tweet: it goes for its own removal or its author's.
CREATE TABLE copies AS
WITH item AS (
    SELECT r.n, i.k, i.copy,
           id_of(i.copy ->> '$.id') AS id, id_of(i.copy ->> '$.author_id') AS author_id
    FROM records r,
         unnest(json_extract(r.referenced_tweets, '$[*]')) WITH ORDINALITY AS i(copy, k)
    WHERE NOT r.gone AND NOT r.is_user
)
SELECT *,
    EXISTS (SELECT 1 FROM gone_tweets g WHERE g.id = c.id)
        OR EXISTS (SELECT 1 FROM gone_users g WHERE g.id = c.author_id) AS cut_back,
    EXISTS (SELECT 1 FROM scrubbed_tweets s WHERE s.id = c.id) AS scrub_geo
FROM item c;

-- 5. The copies that change, written again member by member in their
-- order: a copy cut back keeps its type and id; a scrubbed one drops its
-- geo. One with nothing to drop stays as it is.
CREATE TABLE edited_copies AS
WITH member AS (
    SELECT c.n, c.k, m.id AS pos, m.key, m.value,
           CASE WHEN c.cut_back THEN m.key NOT IN ('type', 'id')
                ELSE m.key = 'geo' END AS dropped
    FROM copies c, json_each(c.copy) AS m
    WHERE c.cut_back OR c.scrub_geo
)
SELECT n, k,
       '{' || string_agg(to_json(key) || ':' || value, ',' ORDER BY pos)
                  FILTER (WHERE NOT dropped) || '}' AS copy
FROM member
GROUP BY n, k
HAVING bool_or(dropped);

-- 6. The lines that change, written again the same way (json_merge_patch
-- would move a replaced member to the end): without geo for scrub_geo,
-- with referenced_tweets made anew where a copy changed, and with the CR
-- the line ended in, if it did.
CREATE TABLE edited_lines AS
WITH new_referenced AS (
    SELECT c.n, '[' || string_agg(coalesce(e.copy, c.copy), ',' ORDER BY c.k) || ']' AS items
    FROM copies c LEFT JOIN edited_copies e USING (n, k)
    WHERE c.n IN (SELECT n FROM edited_copies)
    GROUP BY c.n
)
SELECT r.n,
       '{' || string_agg(to_json(m.key) || ':' ||
                         CASE WHEN m.key = 'referenced_tweets' AND nr.items IS NOT NULL
                              THEN nr.items ELSE m.value END,
                         ',' ORDER BY m.id) || '}'
           || CASE WHEN ends_with(l.line, chr(13)) THEN chr(13) ELSE '' END AS line
FROM records r
    JOIN archive_lines l USING (n)
    LEFT JOIN new_referenced nr USING (n),
    json_each(l.line) AS m
WHERE NOT r.gone AND (r.scrub_geo OR nr.items IS NOT NULL)
  AND NOT (r.scrub_geo AND m.key = 'geo')
GROUP BY r.n, l.line;

-- 7. The clean archive in the lines' order: blank lines and records that
-- stay as they were, edited lines as edited. Written raw, each line and LF:
-- no header, no quotes, and a delimiter that JSON text never holds unescaped.
COPY (
    SELECT coalesce(e.line, l.line)
    FROM archive_lines l
        LEFT JOIN records r USING (n)
        LEFT JOIN edited_lines e USING (n)
    WHERE r.gone IS NOT TRUE
    ORDER BY l.n
) TO 'archive.clean.jsonl' (FORMAT csv, HEADER false, QUOTE '', ESCAPE '', DELIMITER chr(1));
