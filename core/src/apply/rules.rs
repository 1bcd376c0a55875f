//! The rules: what the results do to one line of a JSON archive, as a list
//! of byte ranges to cut from it and a report of each record removed or
//! changed. Everything not cut stays as it was, byte for byte.
//!
//! | results | reason | the archive |
//! |---|---|---|
//! | tweets | `scrub_geo` | the Tweet loses its `geo` member, wherever it is |
//! | tweets | any other | the Tweet is removed: a line, an item of `data` or `includes.tweets` |
//! | users | any | the user is removed (a line, an item of `data` or `includes.users`), and so is every Tweet whose `author_id` is the user |
//!
//! A Tweet copied inside a flattened Tweet (`referenced_tweets[i]`, as
//! `twarc2 flatten` writes it) that is removed is cut back to its `type` and
//! `id`; one that is scrubbed loses its `geo`. In a page, the
//! `includes.places`, `includes.media` and `includes.polls` items that only
//! removed or scrubbed Tweets referred to go with them.
//!
//! Removing members or items keeps the rest as written: an item goes with
//! the separator before it (after it, when it is the first one kept), so
//! `[a, b, c]` less `b` is `[a, c]` and less `a` is `[b, c]`.

use super::verdicts::{Hit, Verdicts};
use super::view::{IdValue, Includes, Items, Key, Line, Member, Record};

/// Where a record was in its line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Place {
    /// The line is the record.
    Line,
    /// An item of `data`.
    Data,
    /// An item of `includes.tweets`.
    Tweets,
    /// An item of `includes.users`.
    Users,
    /// An item of `includes.places`.
    Places,
    /// An item of `includes.media`.
    Media,
    /// An item of `includes.polls`.
    Polls,
    /// A Tweet copied into another one's `referenced_tweets`.
    Referenced,
    /// A row of a CSV archive.
    Row,
}

impl Place {
    /// Its name in the report.
    pub fn name(self) -> &'static str {
        match self {
            Place::Line => "line",
            Place::Data => "data",
            Place::Tweets => "includes.tweets",
            Place::Users => "includes.users",
            Place::Places => "includes.places",
            Place::Media => "includes.media",
            Place::Polls => "includes.polls",
            Place::Referenced => "referenced_tweets",
            Place::Row => "row",
        }
    }
}

/// What was done to a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Action {
    /// Removed whole.
    Remove,
    /// Its geo data removed.
    ScrubGeo,
    /// A referenced Tweet cut back to `type` and `id`.
    CutBack,
}

impl Action {
    /// Its name in the report.
    pub fn name(self) -> &'static str {
        match self {
            Action::Remove => "remove",
            Action::ScrubGeo => "scrub_geo",
            Action::CutBack => "cut_back",
        }
    }
}

/// Why: the result that decided it, and the ID it names (the record's own,
/// or its author's); `None` for an include that no Tweet left refers to.
pub(crate) type Cause = Option<(Hit, u64)>;

/// One record removed or changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Change {
    /// Where it was.
    pub place: Place,
    /// Its ID (a place's or a poll's `id`, a media item's `media_key`).
    pub id: String,
    /// For a referenced Tweet, the ID of the Tweet it was copied into.
    pub within: Option<u64>,
    /// What was done.
    pub action: Action,
    /// Why.
    pub cause: Cause,
}

/// What happened to one line: the ranges to cut, and the changes.
#[derive(Debug, Default)]
pub(crate) struct Outcome {
    /// Byte ranges to cut, in order and apart.
    pub cuts: Vec<(usize, usize)>,
    /// Each record removed or changed.
    pub changes: Vec<Change>,
    /// Tweets and users read.
    pub records: u64,
    /// Whether the whole line goes.
    pub remove_line: bool,
}

/// A record that must be refused: no usable `id`, say.
pub(crate) type Refusal = String;

/// The ID of a record: exactly one `id` member, 1 to 19 digits.
pub(crate) fn record_id(line: &[u8], rec: &Record, what: &str) -> Result<u64, Refusal> {
    match rec.ids[..] {
        [IdValue::Id(id)] => Ok(id),
        [] | [IdValue::Null] => Err(format!("{what} without an id")),
        [IdValue::Bad(s, e)] => Err(format!(
            "{what} whose id is not 1 to 19 digits: {}",
            super::quote(&line[s..e])
        )),
        _ => Err(format!("{what} with {} id members", rec.ids.len())),
    }
}

/// The author of a Tweet, if it names one.
fn author_id(line: &[u8], rec: &Record, what: &str) -> Result<Option<u64>, Refusal> {
    match rec.author_ids[..] {
        [] | [IdValue::Null] => Ok(None),
        [IdValue::Id(id)] => Ok(Some(id)),
        [IdValue::Bad(s, e)] => Err(format!(
            "{what} whose author_id is not 1 to 19 digits: {}",
            super::quote(&line[s..e])
        )),
        _ => Err(format!(
            "{what} with {} author_id members",
            rec.author_ids.len()
        )),
    }
}

/// What becomes of a Tweet or user.
enum Fate {
    Keep,
    /// Removed, for this result and the ID it named.
    Remove(Hit, u64),
    /// Kept without its geo data.
    Scrub(Hit, u64),
}

/// Looks a record up: as a user if it is one, else as a Tweet and by its
/// author. Every lookup is made, so that every ID it matches counts as
/// matched.
fn fate(verdicts: &mut Verdicts, id: u64, author: Option<u64>, user: bool) -> Fate {
    if user {
        return match verdicts.user(id) {
            Some(hit) => Fate::Remove(hit, id),
            None => Fate::Keep,
        };
    }
    let own = verdicts.tweet(id);
    let by_author = author.and_then(|a| verdicts.user(a).map(|hit| (hit, a)));
    match (own, by_author) {
        (Some(hit), _) if !hit.scrub => Fate::Remove(hit, id),
        (_, Some((hit, author))) => Fate::Remove(hit, author),
        (Some(hit), None) => Fate::Scrub(hit, id),
        (None, None) => Fate::Keep,
    }
}

/// The cuts that remove the members or items at `removed` (their spans
/// `spans`, in order) and keep the rest as written.
fn cut_items(spans: &[(usize, usize)], removed: &[bool], cuts: &mut Vec<(usize, usize)>) {
    let Some(first_kept) = removed.iter().position(|r| !r) else {
        if let (Some(first), Some(last)) = (spans.first(), spans.last()) {
            cuts.push((first.0, last.1));
        }
        return;
    };
    if first_kept > 0 {
        cuts.push((spans[0].0, spans[first_kept].0));
    }
    for k in first_kept + 1..spans.len() {
        if removed[k] {
            cuts.push((spans[k - 1].1, spans[k].1));
        }
    }
}

/// Cuts the members of `rec` that `drop` picks; returns whether any went.
fn cut_members(
    rec: &Record,
    drop: impl Fn(&Member) -> bool,
    cuts: &mut Vec<(usize, usize)>,
) -> bool {
    let removed: Vec<bool> = rec.members.iter().map(drop).collect();
    if !removed.contains(&true) {
        return false;
    }
    let spans: Vec<_> = rec
        .members
        .iter()
        .map(|m| (m.key_start, m.value_end))
        .collect();
    cut_items(&spans, &removed, cuts);
    true
}

/// A kept Tweet's referenced copies, in a flattened archive.
fn referenced(verdicts: &mut Verdicts, line: &[u8], within: u64, rec: &Record, out: &mut Outcome) {
    for inner in &rec.referenced {
        // A copy without a usable id is left as it is.
        let Ok(id) = record_id(line, inner, "") else {
            continue;
        };
        let author = author_id(line, inner, "").ok().flatten();
        let (action, cause, drop): (_, _, fn(&Member) -> bool) =
            match fate(verdicts, id, author, false) {
                Fate::Keep => continue,
                Fate::Remove(hit, named) => (Action::CutBack, (hit, named), |m| {
                    !matches!(m.key, Key::Id | Key::Type)
                }),
                Fate::Scrub(hit, named) => (Action::ScrubGeo, (hit, named), |m| m.key == Key::Geo),
            };
        if cut_members(inner, drop, &mut out.cuts) {
            out.changes.push(Change {
                place: Place::Referenced,
                id: id.to_string(),
                within: Some(within),
                action,
                cause: Some(cause),
            });
        }
    }
}

/// Applies the results to a line that is a record.
pub(crate) fn record_line(
    verdicts: &mut Verdicts,
    line: &[u8],
    view: &Line,
) -> Result<Outcome, Refusal> {
    let rec = &view.record;
    let mut out = Outcome {
        records: 1,
        ..Outcome::default()
    };
    let id = record_id(line, rec, "a record")?;
    let author = author_id(line, rec, "a record")?;
    match fate(verdicts, id, author, rec.is_user()) {
        Fate::Remove(hit, named) => {
            out.remove_line = true;
            out.changes
                .push(change(Place::Line, id, Action::Remove, hit, named));
            return Ok(out);
        }
        Fate::Scrub(hit, named) => {
            if cut_members(rec, |m| m.key == Key::Geo, &mut out.cuts) {
                out.changes
                    .push(change(Place::Line, id, Action::ScrubGeo, hit, named));
            }
        }
        Fate::Keep => {}
    }
    if !rec.is_user() {
        referenced(verdicts, line, id, rec, &mut out);
    }
    out.cuts.sort_unstable();
    Ok(out)
}

fn change(place: Place, id: u64, action: Action, hit: Hit, named: u64) -> Change {
    Change {
        place,
        id: id.to_string(),
        within: None,
        action,
        cause: Some((hit, named)),
    }
}

/// What a page's Tweets that stay and those that go (or lose their geo)
/// refer to, for its `includes.places`, `media` and `polls`.
#[derive(Default)]
struct References<'r> {
    kept: Vec<&'r [u8]>,
    gone: Vec<&'r [u8]>,
}

impl<'r> References<'r> {
    /// Whether an include named `key` is referred to by Tweets that went
    /// or were scrubbed, and by none that stayed.
    fn orphaned(&self, key: &[u8]) -> bool {
        self.gone.contains(&key) && !self.kept.contains(&key)
    }
}

#[derive(Default)]
struct PageRefs<'r> {
    places: References<'r>,
    media: References<'r>,
    polls: References<'r>,
}

/// Applies the results to the items of one array of a page.
fn page_items<'r>(
    verdicts: &mut Verdicts,
    line: &[u8],
    items: &'r Items<Record>,
    place: Place,
    refs: &mut PageRefs<'r>,
    out: &mut Outcome,
) -> Result<(), Refusal> {
    let mut removed = Vec::with_capacity(items.items.len());
    for (i, (_, rec)) in items.items.iter().enumerate() {
        out.records += 1;
        let what = format!("{}[{i}]", place.name());
        let id = record_id(line, rec, &format!("an item {what}"))?;
        let user = match place {
            Place::Users => true,
            Place::Tweets => false,
            _ => rec.is_user(),
        };
        let author = match user {
            true => None,
            false => author_id(line, rec, &format!("an item {what}"))?,
        };
        let fate = fate(verdicts, id, author, user);
        let (places_of, media_of, polls_of) = match fate {
            Fate::Keep => (
                &mut refs.places.kept,
                &mut refs.media.kept,
                &mut refs.polls.kept,
            ),
            Fate::Remove(..) => (
                &mut refs.places.gone,
                &mut refs.media.gone,
                &mut refs.polls.gone,
            ),
            // A scrubbed Tweet keeps its media and polls, not its place.
            Fate::Scrub(..) => (
                &mut refs.places.gone,
                &mut refs.media.kept,
                &mut refs.polls.kept,
            ),
        };
        places_of.extend(rec.place_ids.iter().map(Vec::as_slice));
        media_of.extend(rec.media_keys.iter().map(Vec::as_slice));
        polls_of.extend(rec.poll_ids.iter().map(Vec::as_slice));
        match fate {
            Fate::Remove(hit, named) => {
                out.changes
                    .push(change(place, id, Action::Remove, hit, named));
                removed.push(true);
                continue;
            }
            Fate::Scrub(hit, named) => {
                if cut_members(rec, |m| m.key == Key::Geo, &mut out.cuts) {
                    out.changes
                        .push(change(place, id, Action::ScrubGeo, hit, named));
                }
            }
            Fate::Keep => {}
        }
        removed.push(false);
    }
    let spans: Vec<_> = items.items.iter().map(|(span, _)| *span).collect();
    cut_items(&spans, &removed, &mut out.cuts);
    Ok(())
}

/// Removes the includes (places, media, polls) no kept Tweet refers to.
fn orphans(items: &Items<Option<Vec<u8>>>, place: Place, refs: &References, out: &mut Outcome) {
    let removed: Vec<bool> = items
        .items
        .iter()
        .map(|(_, key)| key.as_deref().is_some_and(|k| refs.orphaned(k)))
        .collect();
    for ((_, key), gone) in items.items.iter().zip(&removed) {
        if *gone {
            out.changes.push(Change {
                place,
                id: String::from_utf8_lossy(key.as_deref().unwrap_or_default()).into_owned(),
                within: None,
                action: Action::Remove,
                cause: None,
            });
        }
    }
    let spans: Vec<_> = items.items.iter().map(|(span, _)| *span).collect();
    cut_items(&spans, &removed, &mut out.cuts);
}

/// Applies the results to a line that is a page.
pub(crate) fn page_line(
    verdicts: &mut Verdicts,
    line: &[u8],
    view: &Line,
) -> Result<Outcome, Refusal> {
    let mut out = Outcome::default();
    let mut refs = PageRefs::default();
    for items in &view.data {
        page_items(verdicts, line, items, Place::Data, &mut refs, &mut out)?;
    }
    for Includes { tweets, users, .. } in &view.includes {
        for items in tweets {
            page_items(verdicts, line, items, Place::Tweets, &mut refs, &mut out)?;
        }
        for items in users {
            page_items(verdicts, line, items, Place::Users, &mut refs, &mut out)?;
        }
    }
    for Includes {
        places,
        media,
        polls,
        ..
    } in &view.includes
    {
        for items in places {
            orphans(items, Place::Places, &refs.places, &mut out);
        }
        for items in media {
            orphans(items, Place::Media, &refs.media, &mut out);
        }
        for items in polls {
            orphans(items, Place::Polls, &refs.polls, &mut out);
        }
    }
    out.cuts.sort_unstable();
    Ok(out)
}

/// Applies the results to a row of a CSV archive: its ID, its author's,
/// whether it is a user, and the spans of its geo cells that are not empty.
/// A scrubbed row keeps its geo cells, emptied.
pub(crate) fn csv_row(
    verdicts: &mut Verdicts,
    id: u64,
    author: Option<u64>,
    user: bool,
    geo: &[(usize, usize)],
) -> Outcome {
    let mut out = Outcome {
        records: 1,
        ..Outcome::default()
    };
    match fate(verdicts, id, author, user) {
        Fate::Remove(hit, named) => {
            out.remove_line = true;
            out.changes
                .push(change(Place::Row, id, Action::Remove, hit, named));
        }
        Fate::Scrub(hit, named) if !geo.is_empty() => {
            out.cuts.extend_from_slice(geo);
            out.changes
                .push(change(Place::Row, id, Action::ScrubGeo, hit, named));
        }
        Fate::Scrub(..) | Fate::Keep => {}
    }
    out
}

/// Writes `line` less its `cuts` (in order, apart) to `out`.
pub(crate) fn write_cut(line: &[u8], cuts: &[(usize, usize)], out: &mut Vec<u8>) {
    let mut at = 0;
    for &(start, end) in cuts {
        debug_assert!(start >= at && end >= start, "cuts overlap: {cuts:?}");
        out.extend_from_slice(&line[at..start]);
        at = end;
    }
    out.extend_from_slice(&line[at..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cut(text: &str, removed: &[bool]) -> String {
        // Items are the comma-separated words between [ and ].
        let mut spans = Vec::new();
        let mut start = None;
        for (i, c) in text.char_indices() {
            match (c.is_ascii_alphanumeric(), start) {
                (true, None) => start = Some(i),
                (false, Some(s)) => {
                    spans.push((s, i));
                    start = None;
                }
                _ => {}
            }
        }
        let mut cuts = Vec::new();
        cut_items(&spans, removed, &mut cuts);
        let mut out = Vec::new();
        write_cut(text.as_bytes(), &cuts, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn items_go_with_their_separators() {
        let t = [true, false];
        assert_eq!(cut("[a, b, c]", &[false, true, false]), "[a, c]");
        assert_eq!(cut("[a, b, c]", &[true, false, false]), "[b, c]");
        assert_eq!(cut("[a, b, c]", &[false, false, true]), "[a, b]");
        assert_eq!(cut("[a, b, c]", &[true, true, false]), "[c]");
        assert_eq!(cut("[a, b, c]", &[true, false, true]), "[b]");
        assert_eq!(cut("[a, b, c]", &[true, true, true]), "[]");
        assert_eq!(cut("[ a ,b ]", &t), "[ b ]");
        assert_eq!(cut("[ a ,b ]", &[false, true]), "[ a ]");
        assert_eq!(cut("[a]", &[true]), "[]");
        assert_eq!(cut("[]", &[]), "[]");
    }
}
