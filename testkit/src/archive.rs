//! Archives as researchers keep them, made up, and what they must look like
//! once results are applied: the tests' own expectation, rendered from the
//! model rather than cut from the bytes as `apply-results` does.
//!
//! Every Tweet, user and place is a function of the seed and its index,
//! so an archive of any size streams out without being held in memory,
//! and its results follow from the same model. The three shapes are those
//! of `shared/reference/archive-shapes.md`: `twarc2 flatten` lines, twarc2
//! pages, and a twarc-csv style CSV; the JSON is written the way Python's
//! `json.dumps` writes it (`", "`, `": "`, non-ASCII as `\uXXXX`) or
//! compact, lines end in LF or CRLF.

use std::collections::BTreeMap;
use std::io::{self, Write};

/// How the lines are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Style {
    /// Python's `json.dumps`: `", "` and `": "`, non-ASCII escaped.
    pub python: bool,
    /// Lines end in CRLF rather than LF.
    pub crlf: bool,
    /// A blank line after the last record.
    pub blank_line_at_end: bool,
}

impl Style {
    /// As twarc2 writes it, LF lines.
    pub const TWARC: Style = Style {
        python: true,
        crlf: false,
        blank_line_at_end: false,
    };
}

/// What the results say of one ID.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fate {
    /// No event: compliant.
    Keep,
    /// An event with this reason.
    Event(&'static str),
}

const TWEET_REASONS: [&str; 5] = [
    "deleted",
    "suspended",
    "protected",
    "deactivated",
    "bounced",
];
const USER_REASONS: [&str; 4] = ["deleted", "suspended", "protected", "deactivated"];

/// A made-up archive: `tweets` Tweets by `users` users.
#[derive(Clone, Copy, Debug)]
pub struct Archive {
    /// The seed everything follows from.
    pub seed: u64,
    /// How many Tweets.
    pub tweets: u64,
    /// How many users (authors).
    pub users: u64,
    /// Per thousand Tweets, how many have an event other than scrub_geo.
    pub removed_per_mille: u64,
    /// Per thousand users, how many have an event.
    pub users_removed_per_mille: u64,
}

/// The first Tweet ID: 19 digits, as Tweets of 2021 have.
const FIRST_TWEET: u64 = 1_460_000_000_000_000_000;
/// The first user ID.
const FIRST_USER: u64 = 2_244_994_000;

fn mix(mut x: u64) -> u64 {
    // splitmix64: a good hash of (seed, index) in a few operations.
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// Words for texts, some beyond ASCII (escaped as `\u` in Python's style).
const WORDS: [&str; 16] = [
    "compliance",
    "archive",
    "caf\u{e9}",
    "na\u{ef}ve",
    "\u{1f600}",
    "\"quoted\"",
    "back\\slash",
    "http://t.co/x",
    "r\u{e9}sum\u{e9}",
    "\u{4e2d}\u{6587}",
    "line\nbreak",
    "tab\there",
    "a,b",
    "research",
    "twarc",
    "data",
];

const PLACES: [(&str, &str, &str); 3] = [
    (
        "01a9a39529b27f36",
        "Manhattan, NY",
        "[-74.026675, 40.683935, -73.910408, 40.877483]",
    ),
    (
        "3b77caf94bfc81fe",
        "S\u{e3}o Paulo, Brasil",
        "[-46.826039, -24.008814, -46.365052, -23.356792]",
    ),
    (
        "5a110d312052166f",
        "San Francisco, CA",
        "[-122.514926, 37.708075, -122.357031, 37.833238]",
    ),
];

/// A Tweet of the model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tweet {
    /// Its ID.
    pub id: u64,
    /// Its author's user ID.
    pub author: u64,
    /// Its text.
    pub text: String,
    /// The index of its place in [`PLACES`], if it has geo data.
    pub place: Option<usize>,
    /// The Tweet it quotes, if any (an earlier one of the archive).
    pub quotes: Option<u64>,
    /// Its media key, if it has a photo.
    pub media: Option<String>,
    /// Its like count; its impression count is a 19-digit number.
    pub likes: u64,
}

impl Archive {
    /// A small archive for tests: `tweets` Tweets, one user per ten.
    pub fn small(seed: u64, tweets: u64) -> Archive {
        Archive {
            seed,
            tweets,
            users: (tweets / 10).max(3),
            removed_per_mille: 100,
            users_removed_per_mille: 50,
        }
    }

    fn hash(&self, what: u64, index: u64) -> u64 {
        mix(self.seed ^ mix(what.wrapping_mul(0x1000_0000_01b3) ^ index))
    }

    /// The ID of Tweet `i`: increasing, with gaps.
    pub fn tweet_id(&self, i: u64) -> u64 {
        FIRST_TWEET + i * 7919 + self.hash(1, i) % 7000
    }

    /// The ID of user `k`.
    pub fn user_id(&self, k: u64) -> u64 {
        FIRST_USER + k * 13
    }

    /// Tweet `i`.
    pub fn tweet(&self, i: u64) -> Tweet {
        let h = self.hash(2, i);
        let words = 3 + h % 6;
        let text: Vec<&str> = (0..words)
            .map(|w| WORDS[(self.hash(3, i * 16 + w) % WORDS.len() as u64) as usize])
            .collect();
        Tweet {
            id: self.tweet_id(i),
            author: self.user_id(self.hash(4, i) % self.users),
            text: text.join(" "),
            place: (h >> 8 & 3 == 0).then(|| (h >> 10) as usize % PLACES.len()),
            quotes: (i > 0 && h >> 12 & 3 == 0)
                .then(|| self.tweet_id(i - 1 - (h >> 14) % i.min(50))),
            media: (h >> 20 & 7 == 0).then(|| format!("3_{}", self.tweet_id(i) + 1)),
            likes: h >> 24 & 0xff,
        }
    }

    /// The index of the Tweet with `id`, if the archive has it.
    fn tweet_index(&self, id: u64) -> Option<u64> {
        let i = id.checked_sub(FIRST_TWEET)? / 7919;
        (i < self.tweets && self.tweet_id(i) == id).then_some(i)
    }

    /// What the tweets results say of Tweet `i`.
    pub fn tweet_fate(&self, i: u64) -> Fate {
        let h = self.hash(5, i);
        let t = self.tweet(i);
        if t.place.is_some() && h.is_multiple_of(5) {
            return Fate::Event("scrub_geo");
        }
        if h >> 8 & 0x3ff < self.removed_per_mille * 1024 / 1000 {
            return Fate::Event(TWEET_REASONS[(h >> 20) as usize % TWEET_REASONS.len()]);
        }
        Fate::Keep
    }

    /// What the users results say of user `k`.
    pub fn user_fate(&self, k: u64) -> Fate {
        let h = self.hash(6, k);
        if h & 0x3ff < self.users_removed_per_mille * 1024 / 1000 {
            Fate::Event(USER_REASONS[(h >> 20) as usize % USER_REASONS.len()])
        } else {
            Fate::Keep
        }
    }

    /// The tweets results, as download-results writes them: one line per
    /// event, with two IDs the archive does not have, and one Tweet both
    /// scrubbed and deleted.
    pub fn tweets_results(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for i in 0..self.tweets {
            if let Fate::Event(reason) = self.tweet_fate(i) {
                event(&mut out, self.tweet_id(i), reason);
                if reason == "scrub_geo" && self.hash(7, i).is_multiple_of(7) {
                    // Scrubbed, then deleted: removal wins.
                    event(&mut out, self.tweet_id(i), "deleted");
                }
            }
        }
        event(&mut out, 1_234_567, "deleted");
        event(&mut out, FIRST_TWEET - 1, "protected");
        out
    }

    /// The users results.
    pub fn users_results(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for k in 0..self.users {
            if let Fate::Event(reason) = self.user_fate(k) {
                event(&mut out, self.user_id(k), reason);
            }
        }
        out
    }

    /// Whether the Tweet `id` goes once `applied`: its own removal, or its
    /// author's.
    fn gone(&self, applied: Option<&Applied>, id: u64) -> bool {
        let Some(applied) = applied else { return false };
        applied.removes_tweet(id)
            || self
                .tweet_index(id)
                .is_some_and(|i| applied.users.contains_key(&self.tweet(i).author))
    }

    fn scrubbed(&self, applied: Option<&Applied>, id: u64) -> bool {
        applied.is_some_and(|a| a.tweets.get(&id).is_some_and(|r| r == "scrub_geo"))
    }

    /// Writes the archive as `twarc2 flatten` lines, then one line per user;
    /// with `applied`, as it must be once the results are applied.
    pub fn write_flattened(
        &self,
        out: &mut impl Write,
        style: Style,
        applied: Option<&Applied>,
    ) -> io::Result<()> {
        let end: &[u8] = if style.crlf { b"\r\n" } else { b"\n" };
        for i in 0..self.tweets {
            let t = self.tweet(i);
            if self.gone(applied, t.id) {
                continue;
            }
            let scrub = self.scrubbed(applied, t.id);
            let mut j = Json::new(style);
            self.flat_tweet(&mut j, &t, scrub, applied, true);
            out.write_all(&j.out)?;
            out.write_all(end)?;
        }
        for k in 0..self.users {
            if applied.is_some_and(|a| a.users.contains_key(&self.user_id(k))) {
                continue;
            }
            let mut j = Json::new(style);
            self.user(&mut j, self.user_id(k));
            out.write_all(&j.out)?;
            out.write_all(end)?;
        }
        if style.blank_line_at_end {
            out.write_all(end)?;
        }
        Ok(())
    }

    /// One flattened Tweet: `author` folded in, `geo` with its place, the
    /// quoted Tweet whole (cut back to type and id when it is removed).
    fn flat_tweet(
        &self,
        j: &mut Json,
        t: &Tweet,
        scrub: bool,
        applied: Option<&Applied>,
        top: bool,
    ) {
        j.open();
        j.key("id").string(&t.id.to_string());
        j.key("text").string(&t.text);
        j.key("author_id").string(&t.author.to_string());
        j.key("created_at").string("2022-01-10T10:00:00.000Z");
        j.key("public_metrics").open();
        j.key("like_count").raw(&t.likes.to_string());
        j.key("impression_count")
            .raw(&(1_000_000_000_000_000_000 + t.id % 1000).to_string());
        j.close();
        j.key("entities").open();
        j.key("mentions").array();
        j.open();
        j.key("start").raw("0");
        j.key("username").string("someone");
        j.key("id").string("783214");
        j.close();
        j.close_array();
        j.close();
        if let Some(place) = t.place.filter(|_| !scrub) {
            let (id, name, bbox) = PLACES[place];
            j.key("geo").open();
            j.key("place_id").string(id);
            j.key("id").string(id);
            j.key("full_name").string(name);
            j.key("geo").open();
            j.key("type").string("Feature");
            let bbox = bbox.replace(", ", j.comma());
            j.key("bbox").raw(&bbox);
            j.key("properties").open();
            j.close();
            j.close();
            j.close();
        }
        if let Some(media) = &t.media {
            j.key("attachments").open();
            j.key("media_keys").array();
            j.item().string(media);
            j.close_array();
            j.close();
        }
        if let (Some(quoted), true) = (t.quotes, top) {
            j.key("referenced_tweets").array();
            j.item();
            match self.tweet_index(quoted) {
                Some(q) if !self.gone(applied, quoted) => {
                    // The whole quoted Tweet, as flatten copies it in.
                    let inner = self.tweet(q);
                    let mut copy = Json::new(j.style);
                    let scrub = self.scrubbed(applied, quoted);
                    self.flat_tweet(&mut copy, &inner, scrub, applied, false);
                    // Its own type first, as twarc keeps the API's order.
                    let text = String::from_utf8(copy.out).expect("UTF-8");
                    let mut with_type = format!("{{\"type\"{}\"quoted\"{}", j.colon(), j.comma());
                    with_type.push_str(&text[1..]);
                    j.raw_value(&with_type);
                }
                _ => {
                    j.open();
                    j.key("type").string("quoted");
                    j.key("id").string(&quoted.to_string());
                    j.close();
                }
            }
            j.close_array();
        }
        j.key("author");
        self.user(j, t.author);
        j.key("__twarc").open();
        j.key("url")
            .string("https://api.twitter.com/2/tweets/search/all?query=x");
        j.key("version").string("2.14.0");
        j.close();
        j.close();
    }

    fn user(&self, j: &mut Json, id: u64) {
        j.open();
        j.key("id").string(&id.to_string());
        j.key("name").string(&format!("User {}", id % 1000));
        j.key("username").string(&format!("user{}", id % 100_000));
        j.key("description").string("R\u{e9}searcher");
        j.key("public_metrics").open();
        j.key("followers_count").raw(&(id % 977).to_string());
        j.close();
        j.close();
    }

    /// Writes the archive as twarc2 pages of `per_page` Tweets: `data`, and
    /// `includes` with the authors, the quoted Tweets, the places, media
    /// and polls; with `applied`, as it must be once applied.
    pub fn write_pages(
        &self,
        out: &mut impl Write,
        style: Style,
        per_page: u64,
        applied: Option<&Applied>,
    ) -> io::Result<()> {
        let end: &[u8] = if style.crlf { b"\r\n" } else { b"\n" };
        let mut first = 0;
        while first < self.tweets {
            let page: Vec<Tweet> = (first..(first + per_page).min(self.tweets))
                .map(|i| self.tweet(i))
                .collect();
            first += per_page;
            // The quoted Tweets, once each, as the API includes them.
            let mut quoted: Vec<u64> = page.iter().filter_map(|t| t.quotes).collect();
            quoted.sort_unstable();
            quoted.dedup();
            let quoted: Vec<Tweet> = quoted
                .into_iter()
                .filter_map(|q| self.tweet_index(q))
                .map(|q| self.tweet(q))
                .collect();
            let kept = |t: &&Tweet| !self.gone(applied, t.id);
            let scrub = |t: &Tweet| self.scrubbed(applied, t.id);
            let mut authors: Vec<u64> = page.iter().chain(&quoted).map(|t| t.author).collect();
            authors.sort_unstable();
            authors.dedup();
            let mut j = Json::new(style);
            j.open();
            j.key("data").array();
            for t in page.iter().filter(kept) {
                j.item();
                self.page_tweet(&mut j, t, scrub(t));
            }
            j.close_array();
            j.key("includes").open();
            j.key("users").array();
            for &a in authors
                .iter()
                .filter(|&&a| !applied.is_some_and(|ap| ap.users.contains_key(&a)))
            {
                j.item();
                self.user(&mut j, a);
            }
            j.close_array();
            j.key("tweets").array();
            for t in quoted.iter().filter(kept) {
                j.item();
                self.page_tweet(&mut j, t, scrub(t));
            }
            j.close_array();
            // An include goes when only Tweets that went (or lost their
            // geo) referred to it.
            let all: Vec<&Tweet> = page.iter().chain(&quoted).collect();
            let stays = |t: &&&Tweet| kept(t);
            j.key("places").array();
            let mut places: Vec<usize> = all.iter().filter_map(|t| t.place).collect();
            places.sort_unstable();
            places.dedup();
            for p in places {
                let referred = all
                    .iter()
                    .filter(stays)
                    .any(|t| t.place == Some(p) && !scrub(t));
                if applied.is_some() && !referred {
                    continue;
                }
                let (id, name, _) = PLACES[p];
                j.item().open();
                j.key("id").string(id);
                j.key("full_name").string(name);
                j.close();
            }
            j.close_array();
            j.key("media").array();
            let mut media: Vec<&Tweet> =
                all.iter().copied().filter(|t| t.media.is_some()).collect();
            media.sort_by_key(|t| t.id);
            media.dedup_by_key(|t| t.id);
            for t in media {
                if applied.is_some() && !all.iter().filter(stays).any(|o| o.media == t.media) {
                    continue;
                }
                j.item().open();
                j.key("media_key")
                    .string(t.media.as_deref().unwrap_or_default());
                j.key("type").string("photo");
                j.close();
            }
            j.close_array();
            j.close();
            j.key("meta").open();
            j.key("result_count").raw(&page.len().to_string());
            j.key("newest_id").string(&page[0].id.to_string());
            j.close();
            j.close();
            out.write_all(&j.out)?;
            out.write_all(end)?;
        }
        if style.blank_line_at_end {
            out.write_all(end)?;
        }
        Ok(())
    }

    /// A Tweet as the API has it in a page: IDs only for what it refers to.
    fn page_tweet(&self, j: &mut Json, t: &Tweet, scrub: bool) {
        j.open();
        j.key("id").string(&t.id.to_string());
        j.key("text").string(&t.text);
        j.key("author_id").string(&t.author.to_string());
        j.key("public_metrics").open();
        j.key("impression_count")
            .raw(&(1_000_000_000_000_000_000 + t.id % 1000).to_string());
        j.close();
        if let Some(place) = t.place.filter(|_| !scrub) {
            j.key("geo").open();
            j.key("place_id").string(PLACES[place].0);
            j.close();
        }
        if let Some(media) = &t.media {
            j.key("attachments").open();
            j.key("media_keys").array();
            j.item().string(media);
            j.close_array();
            j.close();
        }
        if let Some(q) = t.quotes {
            j.key("referenced_tweets").array();
            j.item().open();
            j.key("type").string("quoted");
            j.key("id").string(&q.to_string());
            j.close();
            j.close_array();
        }
        j.close();
    }

    /// The CSV header of [`Archive::write_csv`].
    pub const CSV_HEADER: &'static str =
        "id,author_id,text,created_at,geo.place_id,geo.full_name,author.username,public_metrics.like_count,referenced_tweets.quoted.id";

    /// Writes the archive as twarc-csv would: a header, one row per Tweet,
    /// fields quoted only where they must be; with `applied`, as it must
    /// be once applied (a scrubbed row's geo cells empty).
    pub fn write_csv(
        &self,
        out: &mut impl Write,
        crlf: bool,
        applied: Option<&Applied>,
    ) -> io::Result<()> {
        let end = if crlf { "\r\n" } else { "\n" };
        write!(out, "{}{end}", Archive::CSV_HEADER)?;
        for i in 0..self.tweets {
            let t = self.tweet(i);
            if self.gone(applied, t.id) {
                continue;
            }
            let (place_id, place_name) = match t.place.filter(|_| !self.scrubbed(applied, t.id)) {
                Some(p) => (PLACES[p].0, csv_field(PLACES[p].1)),
                None => ("", String::new()),
            };
            write!(
                out,
                "{},{},{},2022-01-10T10:00:00.000Z,{place_id},{place_name},user{},{},{}{end}",
                t.id,
                t.author,
                csv_field(&t.text),
                t.author % 100_000,
                t.likes,
                t.quotes.map(|q| q.to_string()).unwrap_or_default()
            )?;
        }
        Ok(())
    }

    /// How many records `apply-results` should remove per reason from the
    /// flattened archive (Tweets and user lines) once `applied`: a Tweet's
    /// own reason first, else its author's.
    pub fn removed_per_reason(&self, applied: &Applied) -> BTreeMap<String, u64> {
        let mut counts = BTreeMap::new();
        for i in 0..self.tweets {
            let t = self.tweet(i);
            let reason = match (applied.tweets.get(&t.id), applied.users.get(&t.author)) {
                (Some(r), _) if r != "scrub_geo" => r,
                (_, Some(r)) => r,
                _ => continue,
            };
            *counts.entry(reason.clone()).or_default() += 1;
        }
        for k in 0..self.users {
            if let Some(r) = applied.users.get(&self.user_id(k)) {
                *counts.entry(r.clone()).or_default() += 1;
            }
        }
        counts
    }
}

/// What results files say, read the plain way: each ID's reason, a
/// removal winning over `scrub_geo`, the first removal over later ones.
#[derive(Clone, Debug, Default)]
pub struct Applied {
    /// Tweet IDs and their reasons.
    pub tweets: BTreeMap<u64, String>,
    /// User IDs and their reasons.
    pub users: BTreeMap<u64, String>,
}

impl Applied {
    /// Reads JSON Lines results of tweets jobs and of users jobs.
    pub fn from_results(tweets: &[&[u8]], users: &[&[u8]]) -> Applied {
        let mut applied = Applied::default();
        for (files, map) in [(tweets, &mut applied.tweets), (users, &mut applied.users)] {
            for file in files {
                for line in file
                    .split(|&b| b == b'\n')
                    .filter(|l| !l.trim_ascii().is_empty())
                {
                    let v: serde_json::Value =
                        serde_json::from_slice(line).expect("a results line");
                    let id: u64 = v["id"]
                        .as_str()
                        .and_then(|s| s.parse().ok())
                        .expect("an id");
                    let reason = v["reason"].as_str().expect("a reason").to_string();
                    match map.get(&id) {
                        Some(r) if r != "scrub_geo" => {}
                        Some(_) if reason == "scrub_geo" => {}
                        _ => {
                            map.insert(id, reason);
                        }
                    }
                }
            }
        }
        applied
    }

    fn removes_tweet(&self, id: u64) -> bool {
        self.tweets.get(&id).is_some_and(|r| r != "scrub_geo")
    }
}

fn event(out: &mut Vec<u8>, id: u64, reason: &str) {
    let redacted = if reason == "scrub_geo" {
        ""
    } else {
        ",\"redacted_at\":\"2022-03-01T00:00:00.000Z\""
    };
    out.extend_from_slice(
        format!("{{\"id\":\"{id}\",\"action\":\"delete\",\"created_at\":\"2022-01-10T10:00:00.000Z\"{redacted},\"reason\":\"{reason}\"}}\n")
            .as_bytes(),
    );
}

/// A CSV field, quoted where it must be (RFC 4180).
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// A small JSON writer in the two styles: members separated as the style
/// says, strings escaped as the style says.
struct Json {
    style: Style,
    out: Vec<u8>,
    /// Whether the container being written has had a member or item.
    first: Vec<bool>,
}

impl Json {
    fn new(style: Style) -> Json {
        Json {
            style,
            out: Vec::new(),
            first: Vec::new(),
        }
    }

    fn comma(&self) -> &'static str {
        if self.style.python {
            ", "
        } else {
            ","
        }
    }

    fn colon(&self) -> &'static str {
        if self.style.python {
            ": "
        } else {
            ":"
        }
    }

    fn separate(&mut self) {
        if let Some(first) = self.first.last_mut() {
            if !std::mem::replace(first, false) {
                let comma = self.comma();
                self.out.extend_from_slice(comma.as_bytes());
            }
        }
    }

    fn open(&mut self) -> &mut Json {
        self.out.push(b'{');
        self.first.push(true);
        self
    }

    fn close(&mut self) {
        self.out.push(b'}');
        self.first.pop();
    }

    fn array(&mut self) -> &mut Json {
        self.out.push(b'[');
        self.first.push(true);
        self
    }

    fn close_array(&mut self) {
        self.out.push(b']');
        self.first.pop();
    }

    fn key(&mut self, key: &str) -> &mut Json {
        self.separate();
        self.push_string(key);
        let colon = self.colon();
        self.out.extend_from_slice(colon.as_bytes());
        self
    }

    fn item(&mut self) -> &mut Json {
        self.separate();
        self
    }

    fn string(&mut self, text: &str) {
        self.push_string(text);
    }

    fn raw(&mut self, text: &str) {
        self.out.extend_from_slice(text.as_bytes());
    }

    fn raw_value(&mut self, text: &str) {
        self.out.extend_from_slice(text.as_bytes());
    }

    fn push_string(&mut self, text: &str) {
        self.out.push(b'"');
        for c in text.chars() {
            match c {
                '"' => self.out.extend_from_slice(b"\\\""),
                '\\' => self.out.extend_from_slice(b"\\\\"),
                '\n' => self.out.extend_from_slice(b"\\n"),
                '\r' => self.out.extend_from_slice(b"\\r"),
                '\t' => self.out.extend_from_slice(b"\\t"),
                c if (c as u32) < 0x20 || (self.style.python && !c.is_ascii()) => {
                    let mut units = [0u16; 2];
                    for unit in c.encode_utf16(&mut units) {
                        self.out
                            .extend_from_slice(format!("\\u{unit:04x}").as_bytes());
                    }
                }
                c => {
                    let mut bytes = [0u8; 4];
                    self.out
                        .extend_from_slice(c.encode_utf8(&mut bytes).as_bytes());
                }
            }
        }
        self.out.push(b'"');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_line_is_json_and_python_style_escapes_beyond_ascii() {
        let a = Archive::small(1, 200);
        let mut out = Vec::new();
        a.write_flattened(&mut out, Style::TWARC, None).unwrap();
        for line in out.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            let v: serde_json::Value = serde_json::from_slice(line).unwrap();
            assert!(v["id"].is_string());
            assert!(line.is_ascii());
        }
        let mut pages = Vec::new();
        let applied = Applied::from_results(&[&a.tweets_results()], &[&a.users_results()]);
        let style = Style {
            python: false,
            crlf: true,
            blank_line_at_end: true,
        };
        a.write_pages(&mut pages, style, 25, Some(&applied))
            .unwrap();
        for line in pages.split(|&b| b == b'\n').filter(|l| l.len() > 1) {
            let v: serde_json::Value = serde_json::from_slice(line).unwrap();
            assert!(v["data"].is_array());
        }
    }

    #[test]
    fn the_results_name_what_the_model_removes() {
        let a = Archive::small(2, 1000);
        let results = String::from_utf8(a.tweets_results()).unwrap();
        assert!(results.contains("scrub_geo") && results.contains("deleted"));
        let applied = Applied::from_results(&[&a.tweets_results()], &[&a.users_results()]);
        assert!(
            applied.tweets.values().any(|r| r == "deleted"),
            "scrubbed then deleted"
        );
        let removed: u64 = a.removed_per_reason(&applied).values().sum();
        assert!(removed > 50 && removed < 400, "{removed}");
    }
}
