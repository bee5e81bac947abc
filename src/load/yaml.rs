//! YAML text to a spanned tree.
//!
//! The stack model is never deserialized straight from text: compose interpolates,
//! merges files and resolves `extends` on the untyped tree first, and so does berth.
//! This module turns a file into that tree ([`Node`]) with a byte span on every
//! node and key, resolves anchors, aliases and merge keys (`<<`), and keeps the two
//! custom tags compose gives meaning to (`!reset`, `!override`), which a serde
//! deserializer would drop. It stops there: no types, no interpolation.

use indexmap::IndexMap;
use serde_saphyr::granit_parser::{self, Event, Parser, ScalarStyle};

use crate::diag::Diagnostic;
use crate::source::{FileId, Span};

/// A compose-specific tag on a node, used when merging files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tag {
    /// `!reset`: remove the value inherited from earlier files.
    Reset,
    /// `!override`: replace the earlier value instead of merging with it.
    Override,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    /// A scalar as written. Its YAML type (bool, int, float, string) is decided by
    /// whoever reads it: compose reads `"8080"` and `8080` alike where a port is
    /// expected, and interpolated values are always text.
    Scalar(Scalar),
    Seq(Vec<Node>),
    Map(Map),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Scalar {
    pub text: String,
    /// Quoted or block scalars are always strings; plain ones are typed by the
    /// YAML core schema (`true`, `12`, `1.5`).
    pub plain: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: Value,
    pub span: Span,
    pub tag: Option<Tag>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub key_span: Span,
    pub value: Node,
}

pub type Map = IndexMap<String, Entry>;

impl Node {
    pub fn new(value: Value, span: Span) -> Node {
        Node {
            value,
            span,
            tag: None,
        }
    }

    pub fn str(text: impl Into<String>, span: Span) -> Node {
        Node::new(
            Value::Scalar(Scalar {
                text: text.into(),
                plain: false,
            }),
            span,
        )
    }

    pub fn as_map(&self) -> Option<&Map> {
        match &self.value {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_map_mut(&mut self) -> Option<&mut Map> {
        match &mut self.value {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_seq(&self) -> Option<&Vec<Node>> {
        match &self.value {
            Value::Seq(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Scalar(s) => Some(&s.text),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self.value, Value::Null)
    }

    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?.get(key).map(|e| &e.value)
    }

    /// The node at a path of mapping keys and sequence indexes, e.g.
    /// `["services", "web", "ports", "0"]`.
    pub fn at<'a>(&'a self, path: &[&str]) -> Option<&'a Node> {
        let mut node = self;
        for part in path {
            node = match &node.value {
                Value::Map(m) => &m.get(*part)?.value,
                Value::Seq(s) => s.get(part.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        Some(node)
    }

    /// The span of the key that names `key` in this mapping, else this node's span.
    pub fn key_span(&self, key: &str) -> Span {
        self.as_map()
            .and_then(|m| m.get(key))
            .map_or(self.span, |e| e.key_span)
    }

    /// A short word for the node's kind, for "expected a mapping, found a list".
    pub fn kind(&self) -> &'static str {
        match &self.value {
            Value::Null => "null",
            Value::Scalar(s) if s.plain => match resolve_plain(&s.text) {
                Plain::Bool(_) => "a boolean",
                Plain::Int(_) | Plain::Float(_) => "a number",
                Plain::Str => "a string",
            },
            Value::Scalar(_) => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }
}

/// How the YAML core schema reads a plain scalar.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Plain {
    Bool(bool),
    Int(i64),
    Float(f64),
    Str,
}

pub fn resolve_plain(text: &str) -> Plain {
    match text {
        "true" | "True" | "TRUE" => return Plain::Bool(true),
        "false" | "False" | "FALSE" => return Plain::Bool(false),
        _ => {}
    }
    if let Some(i) = parse_int(text) {
        return Plain::Int(i);
    }
    let looks_numeric = text
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_digit() || b == b'-' || b == b'+' || b == b'.');
    if looks_numeric && text.bytes().any(|b| b.is_ascii_digit()) {
        if let Ok(f) = text.parse::<f64>() {
            if !text.contains(['i', 'I', 'n', 'N']) {
                return Plain::Float(f);
            }
        }
    }
    match text {
        ".inf" | ".Inf" | ".INF" | "+.inf" => Plain::Float(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => Plain::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => Plain::Float(f64::NAN),
        _ => Plain::Str,
    }
}

fn parse_int(text: &str) -> Option<i64> {
    let (neg, digits) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let value = if let Some(hex) = digits.strip_prefix("0x") {
        i64::from_str_radix(hex, 16).ok()?
    } else if let Some(oct) = digits.strip_prefix("0o") {
        i64::from_str_radix(oct, 8).ok()?
    } else {
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits.parse::<i64>().ok()?
    };
    Some(if neg { -value } else { value })
}

fn is_null(text: &str) -> bool {
    matches!(text, "" | "~" | "null" | "Null" | "NULL")
}

/// Parses one YAML file. An empty file gives `Ok(None)`. Only the first document
/// is read, as compose does for stack files.
pub fn parse(file: FileId, text: &str) -> Result<Option<Node>, Diagnostic> {
    let mut builder = Builder {
        text,
        file,
        anchors: Vec::new(),
        stack: Vec::new(),
        root: None,
        errors: Vec::new(),
    };
    let parser = Parser::new_from_str(text);
    for item in parser {
        let (event, span) = match item {
            Ok(ev) => ev,
            Err(e) => {
                let m = e.marker();
                let offset = m.byte_offset().unwrap_or(m.index()).min(text.len());
                let end = next_char_end(text, offset);
                return Err(Diagnostic::error(format!("invalid YAML: {}", e.info()))
                    .label(Span::new(file, offset..end), "the YAML parser stopped here")
                    .help("fix the YAML syntax at this position (indentation, quotes, a missing ':'?)"));
            }
        };
        let range = span
            .byte_range()
            .unwrap_or_else(|| span.start.index()..span.end.index());
        let sp = Span::new(file, range.start.min(text.len())..range.end.min(text.len()));
        if builder.event(event, sp)? {
            break;
        }
    }
    if let Some(e) = builder.errors.into_iter().next() {
        return Err(e);
    }
    Ok(builder.root)
}

fn next_char_end(text: &str, offset: usize) -> usize {
    text[offset..]
        .chars()
        .next()
        .map_or(offset, |c| offset + c.len_utf8())
}

enum Frame {
    Seq {
        items: Vec<Node>,
        start: Span,
        anchor: usize,
        tag: Option<Tag>,
    },
    Map {
        map: Map,
        /// Values of `<<` keys, applied when the mapping ends so that explicit
        /// keys win wherever they stand.
        merges: Vec<Node>,
        pending_key: Option<(String, Span)>,
        start: Span,
        anchor: usize,
        tag: Option<Tag>,
    },
}

struct Builder<'t> {
    text: &'t str,
    file: FileId,
    anchors: Vec<(usize, Node)>,
    stack: Vec<Frame>,
    root: Option<Node>,
    errors: Vec<Diagnostic>,
}

fn custom_tag(tag: Option<&granit_parser::Tag>) -> Option<Tag> {
    let tag = tag?;
    match (tag.original_handle(), tag.suffix()) {
        ("!", "reset") => Some(Tag::Reset),
        ("!", "override") => Some(Tag::Override),
        _ => None,
    }
}

impl Builder<'_> {
    /// Returns true when the first document is complete.
    fn event(&mut self, event: Event<'_>, span: Span) -> Result<bool, Diagnostic> {
        match event {
            Event::StreamStart | Event::Anchor(..) => {}
            Event::DocumentStart(..) => {}
            Event::DocumentEnd | Event::StreamEnd => return Ok(true),
            Event::UnresolvedAlias(name) => {
                return Err(Diagnostic::error(format!("unknown YAML anchor `{name}`"))
                    .label(span, "this alias refers to no anchor defined before it")
                    .help("define the anchor (`&name`) before using it (`*name`)"));
            }
            Event::Alias(id) => {
                let node = self
                    .anchors
                    .iter()
                    .rev()
                    .find(|(a, _)| *a == id)
                    .map(|(_, n)| n.clone());
                match node {
                    Some(node) => self.push(node, span)?,
                    None => {
                        return Err(Diagnostic::error("unknown YAML anchor")
                            .label(span, "this alias refers to no anchor defined before it"));
                    }
                }
            }
            Event::Scalar(text, style, anchor, tag) => {
                let plain = style == ScalarStyle::Plain;
                let value = if plain && is_null(&text) && tag.is_none() {
                    Value::Null
                } else {
                    Value::Scalar(Scalar {
                        text: text.into_owned(),
                        plain,
                    })
                };
                let mut node = Node::new(value, span);
                node.tag = custom_tag(tag.as_deref());
                if anchor != 0 {
                    self.anchors.push((anchor, node.clone()));
                }
                self.push(node, span)?;
            }
            Event::SequenceStart(_, anchor, tag) => self.stack.push(Frame::Seq {
                items: Vec::new(),
                start: span,
                anchor,
                tag: custom_tag(tag.as_deref()),
            }),
            Event::MappingStart(_, anchor, tag) => self.stack.push(Frame::Map {
                map: Map::new(),
                merges: Vec::new(),
                pending_key: None,
                start: span,
                anchor,
                tag: custom_tag(tag.as_deref()),
            }),
            Event::SequenceEnd => {
                if let Some(Frame::Seq {
                    items,
                    start,
                    anchor,
                    tag,
                }) = self.stack.pop()
                {
                    let sp = self.collection_span(start, span);
                    let mut node = Node::new(Value::Seq(items), sp);
                    node.tag = tag;
                    if anchor != 0 {
                        self.anchors.push((anchor, node.clone()));
                    }
                    self.push(node, sp)?;
                }
            }
            Event::MappingEnd => {
                if let Some(Frame::Map {
                    mut map,
                    merges,
                    start,
                    anchor,
                    tag,
                    ..
                }) = self.stack.pop()
                {
                    for merge in merges {
                        self.apply_merge(&mut map, merge)?;
                    }
                    let sp = self.collection_span(start, span);
                    let mut node = Node::new(Value::Map(map), sp);
                    node.tag = tag;
                    if anchor != 0 {
                        self.anchors.push((anchor, node.clone()));
                    }
                    self.push(node, sp)?;
                }
            }
            // Comments and future presentation events carry no data.
            _ => {}
        }
        Ok(false)
    }

    /// A block collection's end event sits at the next token; stop the span at
    /// the collection's last character instead, so labels cover only it.
    fn collection_span(&self, start: Span, end: Span) -> Span {
        let mut stop = end.end.max(start.end).min(self.text.len());
        let bytes = self.text.as_bytes();
        while stop > start.start && bytes[stop - 1].is_ascii_whitespace() {
            stop -= 1;
        }
        Span::new(self.file, start.start..stop)
    }

    fn apply_merge(&mut self, map: &mut Map, merge: Node) -> Result<(), Diagnostic> {
        let sources = match merge.value {
            Value::Map(_) => vec![merge],
            Value::Seq(items) => items,
            _ => {
                return Err(Diagnostic::error(
                    "a merge key `<<` needs a mapping or a list of mappings",
                )
                .label(merge.span, format!("found {}", merge.kind()))
                .help("write `<<: *anchor` where `&anchor` names a mapping"));
            }
        };
        // Earlier sources in a `<<: [*a, *b]` list win over later ones, and keys
        // written in the mapping itself win over all of them.
        for source in sources {
            let span = source.span;
            let Value::Map(m) = source.value else {
                return Err(Diagnostic::error("a merge key `<<` needs mappings")
                    .label(span, "this is not a mapping"));
            };
            for (k, v) in m {
                map.entry(k).or_insert(v);
            }
        }
        Ok(())
    }

    fn push(&mut self, node: Node, span: Span) -> Result<(), Diagnostic> {
        match self.stack.last_mut() {
            None => {
                if self.root.is_none() {
                    self.root = Some(node);
                }
            }
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map {
                map,
                merges,
                pending_key,
                ..
            }) => match pending_key.take() {
                None => {
                    let key = match &node.value {
                        Value::Scalar(s) => s.text.clone(),
                        Value::Null => String::new(),
                        _ => {
                            return Err(Diagnostic::error("a mapping key must be a plain value")
                                .label(span, format!("this key is {}", node.kind()))
                                .help("use a string as the key"));
                        }
                    };
                    *pending_key = Some((key, span));
                }
                Some((key, key_span)) => {
                    if key == "<<" {
                        merges.push(node);
                    } else if let Some(prev) = map.get(&key) {
                        self.errors.push(
                            Diagnostic::error(format!("duplicate key `{key}`"))
                                .label(key_span, "defined again here")
                                .label(prev.key_span, "first defined here")
                                .help("remove one of the two; YAML mappings cannot repeat a key"),
                        );
                    } else {
                        map.insert(
                            key,
                            Entry {
                                key_span,
                                value: node,
                            },
                        );
                    }
                }
            },
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Node {
        parse(FileId(0), text).unwrap().unwrap()
    }

    #[test]
    fn spans_point_at_keys_and_values() {
        let text = "services:\n  web:\n    image: nginx\n";
        let root = p(text);
        let web = root.at(&["services", "web"]).unwrap();
        let image = web.get("image").unwrap();
        assert_eq!(&text[image.span.range()], "nginx");
        assert_eq!(&text[web.key_span("image").range()], "image");
    }

    #[test]
    fn merge_keys_fill_in_missing_keys_only() {
        let root = p("base: &b {a: 1, b: 2}\nx:\n  b: 3\n  <<: *b\n");
        let x = root.get("x").unwrap();
        assert_eq!(x.get("a").unwrap().as_str(), Some("1"));
        assert_eq!(x.get("b").unwrap().as_str(), Some("3"));
    }

    #[test]
    fn reset_and_override_tags_are_kept() {
        let root = p("a: !reset []\nb: !override {x: 1}\nc: !!str 5\n");
        assert_eq!(root.get("a").unwrap().tag, Some(Tag::Reset));
        assert_eq!(root.get("b").unwrap().tag, Some(Tag::Override));
        assert_eq!(root.get("c").unwrap().tag, None);
    }

    #[test]
    fn duplicate_keys_are_errors() {
        let e = parse(FileId(0), "a: 1\na: 2\n").unwrap_err();
        assert_eq!(e.message, "duplicate key `a`");
    }

    #[test]
    fn syntax_errors_have_a_position() {
        let e = parse(FileId(0), "a: [1, 2\n").unwrap_err();
        assert!(e.message.starts_with("invalid YAML"));
        assert!(e.primary_span().is_some());
    }

    #[test]
    fn plain_scalars_resolve_like_yaml_core_schema() {
        assert_eq!(resolve_plain("12"), Plain::Int(12));
        assert_eq!(resolve_plain("1.5"), Plain::Float(1.5));
        assert_eq!(resolve_plain("true"), Plain::Bool(true));
        assert_eq!(resolve_plain("8080:80"), Plain::Str);
        assert_eq!(resolve_plain("1e3"), Plain::Float(1000.0));
        assert_eq!(resolve_plain("nan"), Plain::Str);
    }
}
