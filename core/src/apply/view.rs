//! What apply needs to know of one JSON line of an archive: where its
//! records are, their IDs, and the spans of the members and items it may
//! remove. Both readers of a line make this view, the fast one
//! ([`super::json`]) and, in the tests, the reference (serde_json); the
//! rules ([`super::rules`]) read only the view.
//!
//! Spans are byte offsets into the line (without its line end).

/// A member of an object: where its key starts and its value ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Member {
    /// What the key is, as far as apply cares.
    pub key: Key,
    /// The offset of the key's opening quote.
    pub key_start: usize,
    /// The offset just past the member's value.
    pub value_end: usize,
}

/// The keys apply reads; every other key is [`Key::Other`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Key {
    /// `id`
    Id,
    /// `type` (of a referenced Tweet)
    Type,
    /// `geo`
    Geo,
    /// Any other key.
    Other,
}

/// The value of an `id` or `author_id` member.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum IdValue {
    /// 1 to 19 digits, as a string or a number: the ID.
    Id(u64),
    /// `null`: as if the member were not there.
    Null,
    /// Anything else; the span of the value, for the message.
    Bad(usize, usize),
}

/// A Tweet or user object: a line of a flattened archive, an item of a
/// page, or a Tweet referenced inside a flattened Tweet.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Record {
    /// From its `{` to just past its `}`.
    pub span: (usize, usize),
    /// Its members, in order.
    pub members: Vec<Member>,
    /// Its `id` members' values (one, unless the record is bad).
    pub ids: Vec<IdValue>,
    /// Its `author_id` members' values.
    pub author_ids: Vec<IdValue>,
    /// Whether it has a `username` member: a user, not a Tweet.
    pub username: bool,
    /// The `place_id` strings of its `geo` objects.
    pub place_ids: Vec<Vec<u8>>,
    /// The strings of its `attachments.media_keys`.
    pub media_keys: Vec<Vec<u8>>,
    /// The strings of its `attachments.poll_ids`.
    pub poll_ids: Vec<Vec<u8>>,
    /// The objects of its `referenced_tweets` arrays (read on a line's
    /// record only, not inside another record).
    pub referenced: Vec<Record>,
}

impl Record {
    /// Whether it is a user: it has a `username`.
    pub fn is_user(&self) -> bool {
        self.username
    }
}

/// An array whose items apply may remove: each item's span and view.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Items<T> {
    /// Each item: its span and what was read of it.
    pub items: Vec<((usize, usize), T)>,
}

/// A page's `includes`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Includes {
    /// `includes.tweets` arrays.
    pub tweets: Vec<Items<Record>>,
    /// `includes.users` arrays.
    pub users: Vec<Items<Record>>,
    /// `includes.places` arrays, with each place's `id`.
    pub places: Vec<Items<Option<Vec<u8>>>>,
    /// `includes.media` arrays, with each item's `media_key`.
    pub media: Vec<Items<Option<Vec<u8>>>>,
    /// `includes.polls` arrays, with each poll's `id`.
    pub polls: Vec<Items<Option<Vec<u8>>>>,
}

/// One line of a JSON archive, as apply sees it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Line {
    /// The line's object, read as a record (its `id`, `geo`, ...).
    pub record: Record,
    /// Its `data` arrays, if it is a page.
    pub data: Vec<Items<Record>>,
    /// Its `includes` objects, if it is a page.
    pub includes: Vec<Includes>,
    /// Whether it has a `data`, `includes` or `meta` member.
    pub page_keys: bool,
}

/// What a line is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LineKind {
    /// A Tweet or user object: it has an `id`.
    Record,
    /// An API response (twarc2): no `id`, but `data`, `includes` or `meta`.
    Page,
}

impl Line {
    /// What the line is, if it is either.
    pub fn kind(&self) -> Option<LineKind> {
        if !self.record.ids.is_empty() {
            Some(LineKind::Record)
        } else if self.page_keys {
            Some(LineKind::Page)
        } else {
            None
        }
    }
}
