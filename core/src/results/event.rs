//! The one definition of a compliance event: what the check of a results
//! line finds ([`Record`]), what the summary counts and what a CSV row holds
//! ([`Event`]).
//!
//! A line is read by the fast path (`flat`) when it is written the way the
//! API writes events, and by the parser here ([`parse`]) otherwise; both
//! make the same [`Record`] of a line (the tests in `results` hold them to
//! it), and every consumer takes that [`Event`], through an [`EventSink`].

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// A compliance event: a line of results that is a JSON object with `id`,
/// `action` and `reason`, each there once and each a string; its
/// `created_at` and `redacted_at`, if there, are kept for the CSV (given
/// twice, the last one counts). Any other member is left in the line.
///
/// The API writes one event per uploaded ID that is no longer compliant:
/// `action` `delete` or `scrub_geo`; `reason` `deleted`, `suspended`,
/// `protected`, `deactivated` or `scrub_geo`. Other values are taken as
/// they are, and counted by their name.
///
/// An event borrows from its line (and from the parser, for strings that
/// held escapes): a sink that keeps events copies what it keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Event<'a> {
    /// The Tweet's or user's ID, as the line gives it (digits, from the API).
    pub id: Text<'a>,
    /// What to do with it: `delete` or `scrub_geo`, from the API.
    pub action: Text<'a>,
    /// Why: `deleted`, `suspended`, `protected`, `deactivated` or
    /// `scrub_geo`, from the API.
    pub reason: Text<'a>,
    /// When the Tweet or user was created, if the line says.
    pub created_at: Option<Field<'a>>,
    /// When it was made non-compliant, if the line says.
    pub redacted_at: Option<Field<'a>>,
}

/// What a line of results that is a JSON object is: an event, or another
/// record (kept in a JSON Lines file, left out of a CSV one, counted apart).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Record<'a> {
    /// A compliance event.
    Event(Event<'a>),
    /// Any other JSON object.
    Other,
}

/// A string of an event, its JSON escapes decoded: UTF-8 text.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Text<'a>(&'a [u8]);

impl<'a> Text<'a> {
    /// Bytes the fast path found between two quotes: printable ASCII with
    /// no escape, so the string is the bytes themselves.
    pub(super) fn ascii(bytes: &'a [u8]) -> Text<'a> {
        debug_assert!(bytes.is_ascii(), "{bytes:?}");
        Text(bytes)
    }

    /// The text's bytes (UTF-8).
    pub fn as_bytes(&self) -> &'a [u8] {
        self.0
    }

    /// The text as a `str` (borrowed: it is UTF-8 already).
    pub fn to_str(&self) -> Cow<'a, str> {
        String::from_utf8_lossy(self.0)
    }
}

impl<'a> From<&'a str> for Text<'a> {
    fn from(text: &'a str) -> Text<'a> {
        Text(text.as_bytes())
    }
}

impl fmt::Display for Text<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_str())
    }
}

impl fmt::Debug for Text<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.to_str(), f)
    }
}

/// A value of an event's `created_at` or `redacted_at`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field<'a> {
    /// A string (what the API sends: a timestamp).
    Text(Text<'a>),
    /// `null`.
    Null,
    /// Any other value (a number, `true`, an array, an object), as compact
    /// JSON.
    Json(&'a str),
}

/// What takes the events of a results body, in order, as the
/// [`ResultsChecker`](super::ResultsChecker) passes them: each event it
/// counts, and no other line. A [`CsvWriter`](super::CsvWriter) is one; so
/// is any `FnMut(&Event)`.
pub trait EventSink {
    /// Takes the next event.
    fn event(&mut self, event: &Event<'_>);
}

impl<F: FnMut(&Event<'_>)> EventSink for F {
    fn event(&mut self, event: &Event<'_>) {
        self(event)
    }
}

/// Reads a line of results (a JSON object, white space trimmed) with the
/// parser: the reference the fast path is held to, and the path of every
/// line the fast path does not take; [`Fields::record`] says what it is.
/// An error for a line the parser cannot read as an object of such fields;
/// the caller tells valid JSON (another record) from corruption.
pub(super) fn parse(line: &[u8]) -> Result<Fields<'_>, serde_json::Error> {
    serde_json::from_slice(line)
}

impl Fields<'_> {
    /// The record the line is: an event if `id`, `action` and `reason` came
    /// once each, each a string.
    pub(super) fn record(&self) -> Record<'_> {
        let (Once(Value::Text(id)), Once(Value::Text(action)), Once(Value::Text(reason))) =
            (&self.id, &self.action, &self.reason)
        else {
            return Record::Other;
        };
        Record::Event(Event {
            id: Text::from(&**id),
            action: Text::from(&**action),
            reason: Text::from(&**reason),
            created_at: self.created_at.as_ref().map(Value::field),
            redacted_at: self.redacted_at.as_ref().map(Value::field),
        })
    }
}

/// The fields of a line an event has, each as often as it came, as the
/// parser read them.
#[derive(Default)]
pub(super) struct Fields<'a> {
    id: Seen<'a>,
    action: Seen<'a>,
    reason: Seen<'a>,
    created_at: Option<Value<'a>>,
    redacted_at: Option<Value<'a>>,
}

/// How often a field that must come once came.
#[derive(Default)]
enum Seen<'a> {
    #[default]
    Never,
    Once(Value<'a>),
    Twice,
}
use Seen::Once;

impl<'a> Seen<'a> {
    fn see(&mut self, value: Value<'a>) {
        *self = match self {
            Seen::Never => Once(value),
            _ => Seen::Twice,
        };
    }
}

/// A value as the parser read it: a string (borrowed from the line unless
/// it held escapes), `null`, or any other value as compact JSON.
enum Value<'a> {
    Text(Cow<'a, str>),
    Null,
    Json(String),
}

impl Value<'_> {
    fn field(&self) -> Field<'_> {
        match self {
            Value::Text(text) => Field::Text(Text::from(&**text)),
            Value::Null => Field::Null,
            Value::Json(json) => Field::Json(json),
        }
    }
}

impl<'de> Deserialize<'de> for Value<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl ValueVisitor {
    fn json<E: de::Error>(value: serde_json::Value) -> Result<Value<'static>, E> {
        serde_json::to_string(&value)
            .map(Value::Json)
            .map_err(E::custom)
    }
}

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Value::Text(Cow::Borrowed(v)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Value::Text(Cow::Owned(v.to_string())))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Value::Text(Cow::Owned(v)))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Value::Null)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        ValueVisitor::json(v.into())
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        ValueVisitor::json(v.into())
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        ValueVisitor::json(v.into())
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        ValueVisitor::json(v.into())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        let value = serde_json::Value::deserialize(de::value::SeqAccessDeserializer::new(seq))?;
        ValueVisitor::json(value)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        let value = serde_json::Value::deserialize(de::value::MapAccessDeserializer::new(map))?;
        ValueVisitor::json(value)
    }
}

/// The keys an event has; any other is skipped.
enum Key {
    Id,
    Action,
    Reason,
    CreatedAt,
    RedactedAt,
    Other,
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = Key;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a key")
            }

            fn visit_str<E: de::Error>(self, key: &str) -> Result<Key, E> {
                Ok(match key {
                    "id" => Key::Id,
                    "action" => Key::Action,
                    "reason" => Key::Reason,
                    "created_at" => Key::CreatedAt,
                    "redacted_at" => Key::RedactedAt,
                    _ => Key::Other,
                })
            }
        }
        deserializer.deserialize_identifier(KeyVisitor)
    }
}

impl<'de> Deserialize<'de> for Fields<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FieldsVisitor;
        impl<'de> Visitor<'de> for FieldsVisitor {
            type Value = Fields<'de>;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Fields<'de>, A::Error> {
                let mut fields = Fields::default();
                while let Some(key) = map.next_key::<Key>()? {
                    match key {
                        Key::Id => fields.id.see(map.next_value()?),
                        Key::Action => fields.action.see(map.next_value()?),
                        Key::Reason => fields.reason.see(map.next_value()?),
                        Key::CreatedAt => fields.created_at = Some(map.next_value()?),
                        Key::RedactedAt => fields.redacted_at = Some(map.next_value()?),
                        Key::Other => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(fields)
            }
        }
        deserializer.deserialize_map(FieldsVisitor)
    }
}
