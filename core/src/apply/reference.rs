//! The reference reader of a JSON line: serde_json reads and checks it,
//! keeping the text of every value (`RawValue`), and the view is picked
//! out of that whole tree by plain lookups. It is the specification the
//! fast reader ([`super::json`]) is held to; built for the tests only.

use serde::de::{Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use super::json::{is_id, to_id, MAX_DEPTH};
use super::view::{IdValue, Includes, Items, Key, Line, Member, Record};

/// A value of the line, with where it is.
struct Node<'a> {
    start: usize,
    end: usize,
    text: &'a str,
    kind: Kind<'a>,
}

enum Kind<'a> {
    /// Each member: its key (where it starts, its text), and its value.
    Object(Vec<(usize, Vec<u8>, Node<'a>)>),
    Array(Vec<Node<'a>>),
    Scalar,
}

/// Deserialises the members of an object as raw keys and values.
struct Members;

impl<'de> Visitor<'de> for Members {
    type Value = Vec<(&'de RawValue, &'de RawValue)>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut members = Vec::new();
        while let Some(member) = map.next_entry()? {
            members.push(member);
        }
        Ok(members)
    }
}

struct Elements;

impl<'de> Visitor<'de> for Elements {
    type Value = Vec<&'de RawValue>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an array")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(items)
    }
}

/// Where `part` (a slice of `line`) starts in it.
fn offset(line: &str, part: &str) -> usize {
    part.as_ptr() as usize - line.as_ptr() as usize
}

/// The text of a string token: decoded, or as written (quotes and all)
/// when serde_json will not decode it (a lone surrogate).
fn text_of(token: &str) -> Vec<u8> {
    serde_json::from_str::<String>(token)
        .map(String::into_bytes)
        .unwrap_or_else(|_| token.as_bytes().to_vec())
}

fn node<'a>(line: &'a str, raw: &'a RawValue) -> Node<'a> {
    let text = raw.get();
    let start = offset(line, text);
    let kind = match text.as_bytes()[0] {
        b'{' => {
            let mut de = serde_json::Deserializer::from_str(text);
            let members = de.deserialize_map(Members).expect("checked already");
            Kind::Object(
                members
                    .into_iter()
                    .map(|(k, v)| (offset(line, k.get()), text_of(k.get()), node(line, v)))
                    .collect(),
            )
        }
        b'[' => {
            let mut de = serde_json::Deserializer::from_str(text);
            let items = de.deserialize_seq(Elements).expect("checked already");
            Kind::Array(items.into_iter().map(|v| node(line, v)).collect())
        }
        _ => Kind::Scalar,
    };
    Node {
        start,
        end: start + text.len(),
        text,
        kind,
    }
}

fn depth(node: &Node) -> usize {
    match &node.kind {
        Kind::Object(members) => 1 + members.iter().map(|(_, _, v)| depth(v)).max().unwrap_or(0),
        Kind::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        Kind::Scalar => 0,
    }
}

fn id_value(v: &Node) -> IdValue {
    let digits = match v.text.as_bytes()[0] {
        b'"' => Some(text_of(v.text)),
        b'n' => return IdValue::Null,
        b'0'..=b'9' => Some(v.text.as_bytes().to_vec()),
        _ => None,
    };
    match digits {
        Some(d) if is_id(&d) => IdValue::Id(to_id(&d)),
        _ => IdValue::Bad(v.start, v.end),
    }
}

fn is_string(v: &Node) -> bool {
    v.text.starts_with('"')
}

fn members<'n, 'a>(v: &'n Node<'a>) -> &'n [(usize, Vec<u8>, Node<'a>)] {
    match &v.kind {
        Kind::Object(m) => m,
        _ => &[],
    }
}

fn items<'n, 'a>(v: &'n Node<'a>) -> &'n [Node<'a>] {
    match &v.kind {
        Kind::Array(i) => i,
        _ => &[],
    }
}

/// The strings among the items of `v`, if it is an array.
fn strings(v: &Node, into: &mut Vec<Vec<u8>>) {
    into.extend(
        items(v)
            .iter()
            .filter(|i| is_string(i))
            .map(|i| text_of(i.text)),
    );
}

fn record(obj: &Node, nested: bool) -> Record {
    let mut rec = Record {
        span: (obj.start, obj.end),
        ..Record::default()
    };
    for (key_start, key, v) in members(obj) {
        let mut kind = Key::Other;
        match key.as_slice() {
            b"id" => {
                rec.ids.push(id_value(v));
                kind = Key::Id;
            }
            b"author_id" => rec.author_ids.push(id_value(v)),
            b"username" => rec.username = true,
            b"type" => kind = Key::Type,
            b"geo" => {
                kind = Key::Geo;
                for (_, k, place) in members(v) {
                    if k == b"place_id" && is_string(place) {
                        rec.place_ids.push(text_of(place.text));
                    }
                }
            }
            b"attachments" => {
                for (_, k, list) in members(v) {
                    match k.as_slice() {
                        b"media_keys" => strings(list, &mut rec.media_keys),
                        b"poll_ids" => strings(list, &mut rec.poll_ids),
                        _ => {}
                    }
                }
            }
            b"referenced_tweets" if !nested => {
                for item in items(v) {
                    if matches!(item.kind, Kind::Object(_)) {
                        rec.referenced.push(record(item, true));
                    }
                }
            }
            _ => {}
        }
        rec.members.push(Member {
            key: kind,
            key_start: *key_start,
            value_end: v.end,
        });
    }
    rec
}

/// The items of an array of records; `None` if one is not an object.
fn records(v: &Node) -> Option<Items<Record>> {
    let mut out = Vec::new();
    for item in items(v) {
        if !matches!(item.kind, Kind::Object(_)) {
            return None;
        }
        out.push(((item.start, item.end), record(item, true)));
    }
    Some(Items { items: out })
}

fn keyed(v: &Node, key: &[u8]) -> Items<Option<Vec<u8>>> {
    let items = items(v)
        .iter()
        .map(|item| {
            let name = members(item)
                .iter()
                .filter(|(_, k, v)| k == key && is_string(v))
                .map(|(_, _, v)| text_of(v.text))
                .next_back();
            ((item.start, item.end), name)
        })
        .collect();
    Items { items }
}

/// The view of `line`, or `None` if it is not one JSON object the fast
/// reader must take.
pub(crate) fn read_line(line: &[u8]) -> Option<Line> {
    let text = std::str::from_utf8(line).ok()?;
    serde_json::from_str::<IgnoredAny>(text).ok()?;
    let raw: &RawValue = serde_json::from_str(text).ok()?;
    let top = node(text, raw);
    if !matches!(top.kind, Kind::Object(_)) || depth(&top) > MAX_DEPTH {
        return None;
    }
    let mut view = Line {
        record: record(&top, false),
        ..Line::default()
    };
    for (_, key, v) in members(&top) {
        let is_array = matches!(v.kind, Kind::Array(_));
        match key.as_slice() {
            b"data" if is_array => view.data.push(records(v)?),
            b"includes" if matches!(v.kind, Kind::Object(_)) => {
                let mut inc = Includes::default();
                for (_, k, list) in members(v) {
                    let is_array = matches!(list.kind, Kind::Array(_));
                    match k.as_slice() {
                        b"tweets" if is_array => inc.tweets.push(records(list)?),
                        b"users" if is_array => inc.users.push(records(list)?),
                        b"tweets" | b"users" => return None,
                        b"places" if is_array => inc.places.push(keyed(list, b"id")),
                        b"media" if is_array => inc.media.push(keyed(list, b"media_key")),
                        b"polls" if is_array => inc.polls.push(keyed(list, b"id")),
                        _ => {}
                    }
                }
                view.includes.push(inc);
            }
            b"data" | b"includes" => return None,
            _ => {}
        }
        if matches!(key.as_slice(), b"data" | b"includes" | b"meta") {
            view.page_keys = true;
        }
    }
    Some(view)
}
