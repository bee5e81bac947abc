//! serde over the spanned tree.
//!
//! The raw model (`model::raw`) derives `Deserialize`; this module feeds it from a
//! [`Node`] instead of from text, so that every type error carries the span of the
//! node it is about. Three things serde alone would not give:
//!
//! - Unknown keys are collected (with a "did you mean"), not fatal: the struct
//!   being read never sees them, so one pass reports all of them.
//! - A value of the wrong type is reported and left out, and reading goes on
//!   ([`from_node`]), so that one mistake neither hides the next nor drops a
//!   whole service (which would make every reference to it "not defined").
//!   Its message is in the user's words: "`ports` must be a list".
//! - [`Spanned<T>`] fields receive the span of their node, for the checks that run
//!   after deserializing (ports, sizes, references to other services).
//!
//! It stops at types: what a value means is decided in `load::resolve`.

use std::cell::RefCell;
use std::fmt;

use serde::de::{self, DeserializeSeed, IntoDeserializer, Visitor};

use crate::diag::Diagnostic;
use crate::load::yaml::{Node, Plain, Value, resolve_plain};
use crate::model::Spanned;
use crate::source::Span;

/// A type error, located at the node it is about.
#[derive(Debug, Clone)]
pub struct Error {
    pub message: String,
    pub span: Option<Span>,
    /// The innermost mapping key whose value was wrong, for "`ports` must be a
    /// list"; `in_item` when the wrong value is an entry of that key's list.
    pub key: Option<String>,
    pub in_item: bool,
    /// The key span of that innermost mapping entry: what [`from_node`] leaves
    /// out when it reads the node again.
    entry: Option<Span>,
    /// A consequence of an error already reported (a required key that was left
    /// out because its value had the wrong type): not worth reporting again.
    quiet: bool,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

impl de::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Error {
            message: msg.to_string(),
            span: None,
            key: None,
            in_item: false,
            entry: None,
            quiet: false,
        }
    }
}

impl Error {
    fn at(mut self, span: Span) -> Self {
        if self.span.is_none() {
            self.span = Some(span);
        }
        self
    }

    /// Names the mapping key this error is about, unless a deeper one is known.
    pub fn within(mut self, key: &str) -> Self {
        if self.key.is_none() {
            self.key = Some(key.to_string());
        }
        self
    }

    /// Remembers the mapping entry the error is in, unless a deeper one is known.
    fn in_entry(mut self, key: &str, key_span: Span) -> Self {
        if self.entry.is_none() {
            self.entry = Some(key_span);
        }
        self.within(key)
    }

    /// A "missing field" error raised for `map` itself is quiet when the key
    /// is there but was passed over because of its own, reported, error.
    fn quiet_if_skipped(mut self, map: &crate::load::yaml::Map, sink: &Sink) -> Self {
        if self.span.is_none()
            && let Some(field) = self.message.strip_prefix("missing field ")
            && map
                .get(field.trim_matches('`'))
                .is_some_and(|e| sink.skip.borrow().contains(&e.key_span))
        {
            self.quiet = true;
        }
        self
    }

    /// Marks the error as being about one entry of a list.
    fn in_item(mut self) -> Self {
        if self.key.is_none() {
            self.in_item = true;
        }
        self
    }

    pub fn into_diagnostic(self, fallback: Span) -> Diagnostic {
        let span = self.span.unwrap_or(fallback);
        let (message, label, help) = humanize(&self);
        Diagnostic::error(message).label(span, label).help(help)
    }
}

/// serde's messages read "invalid type: integer `80`, expected a sequence"; turn
/// them into the user's words: "`ports` must be a list", a label saying what was
/// found, and a help line saying what to write instead.
fn humanize(e: &Error) -> (String, String, String) {
    let msg = e.message.as_str();
    let key = e.key.as_deref();
    let subject = match key {
        Some(k) if e.in_item => format!("each entry of `{k}`"),
        Some(k) => format!("`{k}`"),
        None => "this value".to_string(),
    };
    let fallback_help = || match key {
        Some(k) => format!("see the Compose Specification for the accepted forms of `{k}`"),
        None => "see the Compose Specification for the accepted forms of this key".to_string(),
    };
    let invalid = msg
        .strip_prefix("invalid type: ")
        .or_else(|| msg.strip_prefix("invalid value: "));
    if let Some((found, expected)) = invalid.and_then(|r| r.split_once(", expected ")) {
        let expected = expected_words(expected);
        let help = key_help(key, e.in_item)
            .map(str::to_string)
            .or_else(|| type_help(&expected, key))
            .unwrap_or_else(fallback_help);
        let label = if msg.starts_with("invalid type") {
            format!("found {}", found_words(found))
        } else {
            format!("{} is not accepted here", quoted_value(found))
        };
        return (format!("{subject} must be {expected}"), label, help);
    }
    if let Some(rest) = msg.strip_prefix("missing field ") {
        let field = rest.trim_matches('`');
        let message = match key {
            Some(_) => format!("{subject} is missing the key `{field}`"),
            None => format!("the key `{field}` is missing"),
        };
        return (
            message,
            format!("`{field}` is needed in this mapping"),
            format!("add `{field}:` here"),
        );
    }
    if let Some(rest) = msg.strip_prefix("unknown variant ") {
        let (value, expected) = rest.split_once(", expected ").unwrap_or((rest, ""));
        return (
            format!("invalid value {value} for {subject}"),
            "not one of the accepted values".to_string(),
            if expected.is_empty() {
                fallback_help()
            } else {
                format!("use {expected}")
            },
        );
    }
    if let Some((_, expected)) = msg
        .strip_prefix("invalid length ")
        .and_then(|r| r.split_once(", expected "))
    {
        return (
            format!("{subject} must be {}", expected_words(expected)),
            "wrong number of entries".to_string(),
            fallback_help(),
        );
    }
    if msg.starts_with("data did not match any variant") {
        return (
            format!("{subject} is not in a form berth understands"),
            "unexpected form".to_string(),
            fallback_help(),
        );
    }
    (msg.to_string(), "here".to_string(), fallback_help())
}

/// serde's "expected ..." in the words of a stack file.
fn expected_words(expected: &str) -> String {
    match expected {
        "a sequence" => "a list".into(),
        "a map" => "a mapping".into(),
        "a boolean" => "`true` or `false`".into(),
        "a borrowed string" | "a string" | "a character" => "a string".into(),
        "u8" => "a whole number from 0 to 255".into(),
        "u16" => "a whole number from 0 to 65535".into(),
        "u32" | "u64" | "usize" => "a whole number, 0 or more".into(),
        "i8" | "i16" | "i32" | "i64" | "isize" => "a whole number".into(),
        "f32" | "f64" => "a number".into(),
        "unit" => "empty".into(),
        e if e.starts_with("struct ") => "a mapping".into(),
        e => e.to_string(),
    }
}

/// serde's description of what it found, as a short phrase.
fn found_words(found: &str) -> &'static str {
    let kinds: &[(&str, &'static str)] = &[
        ("boolean", "a boolean"),
        ("integer", "a number"),
        ("floating point", "a number"),
        ("string", "a string"),
        ("character", "a string"),
        ("unit value", "an empty value"),
        ("sequence", "a list"),
        ("map", "a mapping"),
    ];
    kinds
        .iter()
        .find(|(prefix, _)| found.starts_with(prefix))
        .map_or("something else", |(_, words)| words)
}

/// `integer `70000`` -> `` `70000` ``.
fn quoted_value(found: &str) -> String {
    match found.split_once([' ']) {
        Some((_, v)) if v.starts_with('`') || v.starts_with('"') => {
            format!("`{}`", v.trim_matches(['`', '"']))
        }
        _ => "this value".to_string(),
    }
}

/// What to write instead, for the keys whose forms people most often get wrong.
fn key_help(key: Option<&str>, in_item: bool) -> Option<&'static str> {
    if in_item {
        return match key? {
            "ports" => Some(
                "write each port as a string like `\"8080:80\"`, or as a mapping with `target` and `published`",
            ),
            "volumes" => Some(
                "write each mount as a string like `./data:/data`, or as a mapping with `type`, `source` and `target`",
            ),
            _ => None,
        };
    }
    Some(match key? {
        "ports" => "write a list, one port per line: `- \"8080:80\"`",
        "expose" => "write a list of container ports: `expose: [\"3000\"]`",
        "volumes" => "write a list, one mount per line: `- ./data:/data`",
        "environment" => {
            "write a mapping (`KEY: value` lines indented below) or a list of `KEY=value` strings"
        }
        "labels" | "sysctls" | "args" | "annotations" => {
            "write a mapping (`key: value` lines indented below) or a list of `key=value` strings"
        }
        "command" | "entrypoint" => {
            "write a command line (`command: npm start`) or a list of words (`command: [npm, start]`)"
        }
        "depends_on" => {
            "write a list of service names (`depends_on: [db]`) or a mapping from service name to `condition:`"
        }
        "networks" => {
            "write a list of network names (`networks: [front]`) or a mapping from network name to its settings"
        }
        "healthcheck" => "write a mapping with `test`, `interval`, `timeout` and `retries`",
        "dns" | "dns_search" | "tmpfs" | "env_file" => "write one value or a list of values",
        _ => return None,
    })
}

/// What to write instead, from the type that was expected.
fn type_help(expected: &str, key: Option<&str>) -> Option<String> {
    Some(if expected == "a list" {
        "write a list: one `- value` line per entry, or `[a, b]`".to_string()
    } else if expected == "a mapping" {
        match key {
            Some(k) => format!("write `name: value` lines indented below `{k}:`"),
            None => "write `name: value` lines indented below the key".to_string(),
        }
    } else if expected == "`true` or `false`" {
        "write `true` or `false`".to_string()
    } else if expected.starts_with("a whole number") {
        "write a whole number, such as `3`".to_string()
    } else {
        return None;
    })
}

/// Where unknown keys are reported while deserializing.
#[derive(Default)]
pub struct Sink {
    pub diagnostics: RefCell<Vec<Diagnostic>>,
    /// Key spans of the entries already reported (unknown keys, values of the
    /// wrong type), which the next attempt passes over (see [`from_node`]).
    skip: RefCell<Vec<Span>>,
}

/// Deserializes `T` from a node, collecting unknown-key diagnostics in `sink`.
///
/// serde stops at the first error, but users should see all of them. So an
/// error inside a mapping entry is reported, the entry remembered, and the node
/// read again without it (its field is then simply absent), until a read
/// succeeds or an error cannot be pinned to an entry. The same goes for unknown
/// keys of structs that serde reads through a plain map (the long forms inside
/// short-or-long types), which reject such a key instead of letting this module
/// pass over it. Only the error that ends the loop is returned; the others are
/// in `sink`.
pub fn from_node<'de, T: serde::Deserialize<'de>>(
    node: &'de Node,
    sink: &'de Sink,
) -> Result<T, Error> {
    let mark = sink.diagnostics.borrow().len();
    let mut found = Vec::new();
    let result = loop {
        let e = match T::deserialize(NodeDe { node, sink }) {
            Ok(v) => break Ok(v),
            Err(e) => e,
        };
        let unknown = e.message.starts_with("unknown field ");
        let skip = if unknown { e.span } else { e.entry };
        let Some(skip) = skip.filter(|s| !sink.skip.borrow().contains(s)) else {
            break Err(e);
        };
        sink.skip.borrow_mut().push(skip);
        // The failed attempt's own reports come again on the next one.
        sink.diagnostics.borrow_mut().truncate(mark);
        if unknown {
            let words = backticked(&e.message);
            let key = words.first().copied().unwrap_or_default();
            if !key.starts_with("x-") {
                found.push(unknown_key(key, skip, words.get(1..).unwrap_or_default()));
            }
        } else if !e.quiet {
            found.push(e.into_diagnostic(node.span));
        }
    };
    sink.diagnostics.borrow_mut().extend(found);
    result.map_err(|e: Error| e.at(node.span))
}

pub const SPANNED_NAME: &str = "$berth::Spanned";
pub const SPANNED_FIELDS: &[&str] = &["$span_file", "$span_start", "$span_end", "$value"];

#[derive(Clone, Copy)]
pub struct NodeDe<'a> {
    node: &'a Node,
    sink: &'a Sink,
}

impl<'de> NodeDe<'de> {
    fn scalar(&self) -> Option<(&'de str, bool)> {
        match &self.node.value {
            Value::Scalar(s) => Some((&s.text, s.plain)),
            _ => None,
        }
    }

    fn span(&self) -> Span {
        self.node.span
    }

    /// Hands the node to the visitor by its own kind; the visitor complains if
    /// that is not what it wanted.
    fn by_kind<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match &self.node.value {
            Value::Null => visitor.visit_unit(),
            Value::Scalar(s) if s.plain => match resolve_plain(&s.text) {
                Plain::Bool(b) => visitor.visit_bool(b),
                Plain::Int(i) if i >= 0 => visitor.visit_u64(i as u64),
                Plain::Int(i) => visitor.visit_i64(i),
                Plain::Float(f) => visitor.visit_f64(f),
                Plain::Str => visitor.visit_borrowed_str(&s.text),
            },
            Value::Scalar(s) => visitor.visit_borrowed_str(&s.text),
            Value::Seq(items) => visitor.visit_seq(SeqAccess {
                items: items.iter(),
                sink: self.sink,
            }),
            Value::Map(map) => visitor
                .visit_map(MapAccess {
                    entries: map.iter(),
                    value: None,
                    key_span: Span::default(),
                    sink: self.sink,
                    fields: None,
                })
                .map_err(|e: Error| e.quiet_if_skipped(map, self.sink)),
        }
        .map_err(|e: Error| e.at(self.span()))
    }
}

macro_rules! parse_number {
    ($method:ident, $visit:ident, $ty:ty) => {
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
            // Numbers given as text (quoted, or produced by interpolation) are
            // read as numbers, as compose does after interpolating.
            if let Some((text, _)) = self.scalar() {
                if let Ok(n) = text.trim().parse::<$ty>() {
                    return visitor.$visit(n).map_err(|e: Error| e.at(self.span()));
                }
            }
            self.by_kind(visitor)
        }
    };
}

impl<'de> de::Deserializer<'de> for NodeDe<'de> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.by_kind(visitor)
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        if let Some((text, _)) = self.scalar() {
            let b = match text.to_ascii_lowercase().as_str() {
                "true" | "yes" | "y" | "on" => Some(true),
                "false" | "no" | "n" | "off" => Some(false),
                _ => None,
            };
            if let Some(b) = b {
                return visitor.visit_bool(b).map_err(|e: Error| e.at(self.span()));
            }
        }
        self.by_kind(visitor)
    }

    parse_number!(deserialize_i8, visit_i8, i8);
    parse_number!(deserialize_i16, visit_i16, i16);
    parse_number!(deserialize_i32, visit_i32, i32);
    parse_number!(deserialize_i64, visit_i64, i64);
    parse_number!(deserialize_u8, visit_u8, u8);
    parse_number!(deserialize_u16, visit_u16, u16);
    parse_number!(deserialize_u32, visit_u32, u32);
    parse_number!(deserialize_u64, visit_u64, u64);
    parse_number!(deserialize_f32, visit_f32, f32);
    parse_number!(deserialize_f64, visit_f64, f64);

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        // Any scalar is text where text is wanted: `environment: {A: 1}` is "1".
        match self.scalar() {
            Some((text, _)) => visitor
                .visit_borrowed_str(text)
                .map_err(|e: Error| e.at(self.span())),
            None => self.by_kind(visitor),
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        if self.node.is_null() {
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.by_kind(visitor)
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.by_kind(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.by_kind(visitor)
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.by_kind(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.by_kind(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.by_kind(visitor)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        if name == SPANNED_NAME {
            return visitor.visit_map(SpannedAccess { de: self, state: 0 });
        }
        match &self.node.value {
            Value::Map(map) => visitor
                .visit_map(MapAccess {
                    entries: map.iter(),
                    value: None,
                    key_span: Span::default(),
                    sink: self.sink,
                    fields: Some(fields),
                })
                .map_err(|e: Error| e.quiet_if_skipped(map, self.sink).at(self.span())),
            // serde would read a struct from a list, by position; a stack
            // file never means that.
            Value::Seq(_) => Err(
                <Error as de::Error>::invalid_type(de::Unexpected::Seq, &visitor).at(self.span()),
            ),
            _ => self.by_kind(visitor),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match &self.node.value {
            Value::Scalar(s) => visitor
                .visit_enum(s.text.as_str().into_deserializer())
                .map_err(|e: Error| e.at(self.span())),
            _ => self.by_kind(visitor),
        }
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }
}

struct SeqAccess<'a> {
    items: std::slice::Iter<'a, Node>,
    sink: &'a Sink,
}

impl<'de> de::SeqAccess<'de> for SeqAccess<'de> {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        match self.items.next() {
            Some(node) => seed
                .deserialize(NodeDe {
                    node,
                    sink: self.sink,
                })
                .map(Some)
                .map_err(|e: Error| e.at(node.span).in_item()),
            None => Ok(None),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

struct MapAccess<'a> {
    entries: indexmap::map::Iter<'a, String, crate::load::yaml::Entry>,
    /// The key just read and its value node.
    value: Option<(&'a str, &'a Node)>,
    key_span: Span,
    sink: &'a Sink,
    /// The struct's fields, when reading a struct: other keys are reported and
    /// skipped instead of failing the whole struct.
    fields: Option<&'static [&'static str]>,
}

impl<'de> de::MapAccess<'de> for MapAccess<'de> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        loop {
            let Some((key, entry)) = self.entries.next() else {
                return Ok(None);
            };
            if let Some(fields) = self.fields
                && !fields.contains(&key.as_str())
            {
                if !key.starts_with("x-") {
                    self.sink.diagnostics.borrow_mut().push(unknown_key(
                        key,
                        entry.key_span,
                        fields,
                    ));
                }
                continue;
            }
            if self.sink.skip.borrow().contains(&entry.key_span) {
                continue;
            }
            self.value = Some((key, &entry.value));
            self.key_span = entry.key_span;
            return seed
                .deserialize(KeyDe {
                    text: key.clone(),
                    span: entry.key_span,
                })
                .map(Some)
                .map_err(|e: Error| e.at(entry.key_span));
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        let (key, node) = self.value.take().expect("next_value without next_key");
        seed.deserialize(NodeDe {
            node,
            sink: self.sink,
        })
        .map_err(|e: Error| e.at(node.span).in_entry(key, self.key_span))
    }
}

/// A mapping key: text, and its span for `Spanned<String>` keys.
struct KeyDe {
    text: String,
    span: Span,
}

impl<'de> de::Deserializer<'de> for KeyDe {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_string(self.text)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        if name == SPANNED_NAME {
            return visitor.visit_map(KeySpannedAccess {
                key: Some(self.text),
                span: self.span,
                state: 0,
            });
        }
        visitor.visit_string(self.text)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map enum identifier ignored_any
    }
}

/// Feeds a `Spanned<String>` map key.
struct KeySpannedAccess {
    key: Option<String>,
    span: Span,
    state: u8,
}

impl<'de> de::MapAccess<'de> for KeySpannedAccess {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        let Some(name) = SPANNED_FIELDS.get(self.state as usize) else {
            return Ok(None);
        };
        seed.deserialize(OwnedStrDe(name.to_string())).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        let state = self.state;
        self.state += 1;
        match state {
            0 => seed.deserialize((self.span.file.0 as u64).into_deserializer()),
            1 => seed.deserialize((self.span.start as u64).into_deserializer()),
            2 => seed.deserialize((self.span.end as u64).into_deserializer()),
            _ => seed.deserialize(OwnedStrDe(self.key.take().unwrap_or_default())),
        }
    }
}

/// Keys are handed over as owned strings: the key text lives in the map, but
/// serde's identifier visitors only need it for a moment.
struct OwnedStrDe(String);

impl<'de> de::Deserializer<'de> for OwnedStrDe {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_string(self.0)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map struct enum identifier ignored_any
    }
}

/// The `` `quoted` `` words of a serde message, in order.
fn backticked(msg: &str) -> Vec<&str> {
    msg.split('`').skip(1).step_by(2).collect()
}

pub fn unknown_key(key: &str, span: Span, fields: &[&str]) -> Diagnostic {
    let suggestion = fields
        .iter()
        .filter(|f| !f.starts_with('$'))
        .map(|f| (strsim::jaro_winkler(key, f), *f))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, f)| f);
    let d = Diagnostic::error(format!("unknown key `{key}`")).label(span, "not a key here");
    match suggestion {
        Some(s) => d.help(format!("did you mean `{s}`?")),
        None => d.help(format!(
            "remove it, or prefix it with `x-` to keep it as an extension; known keys: {}",
            fields
                .iter()
                .filter(|f| !f.starts_with('$'))
                .copied()
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// Feeds a `Spanned<T>`: the span as three numbers, then the value itself.
struct SpannedAccess<'a> {
    de: NodeDe<'a>,
    state: u8,
}

impl<'de> de::MapAccess<'de> for SpannedAccess<'de> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        let Some(name) = SPANNED_FIELDS.get(self.state as usize) else {
            return Ok(None);
        };
        seed.deserialize(OwnedStrDe(name.to_string())).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        let span = self.de.span();
        let state = self.state;
        self.state += 1;
        match state {
            0 => seed.deserialize((span.file.0 as u64).into_deserializer()),
            1 => seed.deserialize((span.start as u64).into_deserializer()),
            2 => seed.deserialize((span.end as u64).into_deserializer()),
            _ => seed.deserialize(self.de),
        }
    }
}

impl<'de, T: serde::Deserialize<'de>> serde::Deserialize<'de> for Spanned<T> {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SpannedVisitor<T>(std::marker::PhantomData<T>);

        impl<'de, T: serde::Deserialize<'de>> Visitor<'de> for SpannedVisitor<T> {
            type Value = Spanned<T>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a value")
            }

            fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Spanned<T>, A::Error> {
                let mut file = 0u64;
                let mut start = 0u64;
                let mut end = 0u64;
                let mut value = None;
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "$span_file" => file = map.next_value()?,
                        "$span_start" => start = map.next_value()?,
                        "$span_end" => end = map.next_value()?,
                        _ => value = Some(map.next_value()?),
                    }
                }
                let value = value.ok_or_else(|| de::Error::custom("missing value"))?;
                Ok(Spanned {
                    span: Span::new(
                        crate::source::FileId(file as u32),
                        start as usize..end as usize,
                    ),
                    value,
                })
            }
        }

        deserializer.deserialize_struct(
            SPANNED_NAME,
            SPANNED_FIELDS,
            SpannedVisitor(std::marker::PhantomData),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::yaml::parse;
    use crate::source::FileId;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Svc {
        image: Option<String>,
        port: Option<Spanned<u16>>,
        cpus: Option<f64>,
        init: Option<bool>,
        tags: Option<Vec<String>>,
    }

    #[test]
    fn unknown_keys_are_collected_with_a_suggestion() {
        let node = parse(FileId(0), "imgae: x\nfoo: 1\nx-ok: 2\ncpus: '0.5'\n")
            .unwrap()
            .unwrap();
        let sink = Sink::default();
        let svc: Svc = from_node(&node, &sink).unwrap();
        assert_eq!(svc.cpus, Some(0.5));
        let d = sink.diagnostics.borrow();
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].message, "unknown key `imgae`");
        assert_eq!(d[0].help.as_deref(), Some("did you mean `image`?"));
    }

    #[test]
    fn type_errors_point_at_the_node_and_reading_goes_on() {
        let text = "image: x\ntags: abc\ninit: maybe\ncpus: 2\n";
        let node = parse(FileId(0), text).unwrap().unwrap();
        let sink = Sink::default();
        let svc: Svc = from_node(&node, &sink).unwrap();
        assert_eq!(svc.cpus, Some(2.0));
        assert_eq!(svc.tags, None);
        let d = sink.diagnostics.borrow();
        let found: Vec<(&str, &str)> = d
            .iter()
            .map(|d| (d.message.as_str(), &text[d.primary_span().unwrap().range()]))
            .collect();
        assert_eq!(
            found,
            [
                ("`tags` must be a list", "abc"),
                ("`init` must be `true` or `false`", "maybe")
            ]
        );
    }

    #[test]
    fn a_value_of_the_wrong_kind_fails_when_nothing_can_be_left_out() {
        let text = "[1, 2]\n";
        let node = parse(FileId(0), text).unwrap().unwrap();
        let err = from_node::<Svc>(&node, &Sink::default()).unwrap_err();
        assert_eq!(&text[err.span.unwrap().range()], "[1, 2]");
        let d = err.within("web").into_diagnostic(node.span);
        assert_eq!(d.message, "`web` must be a mapping");
        assert_eq!(d.labels[0].1, "found a list");
    }

    #[test]
    fn unknown_keys_of_long_forms_are_collected_too() {
        let text = "ports:\n  - target: 80\n    publised: 8080\n    x-note: ok\n";
        let node = parse(FileId(0), text).unwrap().unwrap();
        let sink = Sink::default();
        let svc: crate::model::raw::Service = from_node(&node, &sink).unwrap();
        assert_eq!(svc.ports.map(|p| p.len()), Some(1));
        let d = sink.diagnostics.borrow();
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].message, "unknown key `publised`");
        assert_eq!(d[0].help.as_deref(), Some("did you mean `published`?"));
        assert_eq!(&text[d[0].primary_span().unwrap().range()], "publised");
    }

    #[test]
    fn spanned_values_know_where_they_are() {
        let text = "port: 8080\ninit: yes\n";
        let node = parse(FileId(0), text).unwrap().unwrap();
        let svc: Svc = from_node(&node, &Sink::default()).unwrap();
        let port = svc.port.unwrap();
        assert_eq!(port.value, 8080);
        assert_eq!(&text[port.span.range()], "8080");
        assert_eq!(svc.init, Some(true));
    }
}
#[cfg(test)]
mod key_tests {
    use super::*;
    use crate::load::yaml::parse;
    use crate::source::FileId;

    #[test]
    fn spanned_keys() {
        let text = "db:\n  condition: x\n";
        let node = parse(FileId(0), text).unwrap().unwrap();
        let m: indexmap::IndexMap<Spanned<String>, crate::model::raw::Dependency> =
            from_node(&node, &Sink::default()).unwrap();
        let k = m.keys().next().unwrap();
        assert_eq!(&text[k.span.range()], "db");
    }
}
