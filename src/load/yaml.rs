//! YAML text to a spanned tree.
//!
//! The stack model is never deserialized straight from text: compose interpolates,
//! merges files and resolves `extends` on the untyped tree first, and so does berth.
//! This module turns a file into that tree ([`Node`]) with a byte span on every
//! node and key, resolves anchors, aliases and merge keys (`<<`), and keeps the two
//! custom tags compose gives meaning to (`!reset`, `!override`), which a serde
//! deserializer would drop. It stops there: no types, no interpolation.

use std::collections::HashMap;

use indexmap::IndexMap;
use serde_saphyr::granit_parser::{self, Event, Parser, ScalarStyle};

use crate::diag::Diagnostic;
use crate::model::units::go_float;
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
    #[cfg(test)]
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
    #[cfg(test)]
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

/// How a plain scalar is typed. This follows gopkg.in/yaml.v3, the parser
/// compose uses, rather than the letter of the YAML 1.2 core schema: a leading
/// `0` means octal (`0440` is 288), `_` is dropped from numbers (`1_000`), and
/// only `true`/`false` (in three casings) are booleans.
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
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Plain::Float(f64::INFINITY);
        }
        "-.inf" | "-.Inf" | "-.INF" => return Plain::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Plain::Float(f64::NAN),
        _ => {}
    }
    match text.as_bytes().first() {
        Some(b'0'..=b'9' | b'+' | b'-') => {
            let plain = text.replace('_', "");
            if let Some(i) = parse_int(&plain) {
                return Plain::Int(i);
            }
            // Integers beyond i64 stay text: yaml.v3 would read them as
            // unsigned, and their text is what compose prints.
            if parse_uint(&plain).is_some() {
                return Plain::Str;
            }
            if is_yaml_float(&plain)
                && let Ok(f) = plain.parse::<f64>()
            {
                return Plain::Float(f);
            }
            Plain::Str
        }
        Some(b'.') => match text.parse::<f64>() {
            Ok(f) if is_yaml_float(text) => Plain::Float(f),
            _ => Plain::Str,
        },
        _ => Plain::Str,
    }
}

/// `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`, yaml.v3's float shape.
fn is_yaml_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'+' | b'-')));
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - start
    };
    if b.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
            digits(&mut i);
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

/// Go's `strconv.ParseUint(s, 0, 64)` without underscores: `0x`, `0o`, `0b`
/// prefixes, and a bare leading `0` for octal.
fn parse_uint(digits: &str) -> Option<u64> {
    let lower = digits.get(..2).map(str::to_ascii_lowercase);
    let (radix, body) = match lower.as_deref() {
        Some("0x") => (16, &digits[2..]),
        Some("0o") => (8, &digits[2..]),
        Some("0b") => (2, &digits[2..]),
        _ if digits.len() > 1 && digits.starts_with('0') => (8, &digits[1..]),
        _ => (10, digits),
    };
    if body.is_empty() || !body.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return None;
    }
    u64::from_str_radix(body, radix).ok()
}

fn parse_int(text: &str) -> Option<i64> {
    let (neg, digits) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let magnitude = parse_uint(digits)?;
    if neg {
        0i64.checked_sub_unsigned(magnitude)
    } else {
        i64::try_from(magnitude).ok()
    }
}

/// A scalar as Go's `fmt` prints the value yaml.v3 decodes it to (`%v`), which
/// is how compose turns numbers and booleans into text when it rewrites a
/// mapping as `KEY=VALUE` lines: `1.0` is `1`, `0x1F` is `31`, `1e21` is `1e+21`.
pub fn go_text(s: &Scalar) -> String {
    if !s.plain {
        return s.text.clone();
    }
    match resolve_plain(&s.text) {
        Plain::Bool(b) => b.to_string(),
        Plain::Int(i) => i.to_string(),
        Plain::Float(f) => go_float(f),
        Plain::Str => s.text.clone(),
    }
}

/// The value as JSON, typed as yaml.v3 types it, for printing a part of the
/// file that has no model (top-level `x-` keys).
pub fn to_json(node: &Node) -> serde_json::Value {
    use serde_json::Value as J;
    match &node.value {
        Value::Null => J::Null,
        Value::Scalar(s) if s.plain => match resolve_plain(&s.text) {
            Plain::Bool(b) => J::Bool(b),
            Plain::Int(i) => J::from(i),
            Plain::Float(f) => serde_json::Number::from_f64(f).map_or(J::Null, J::Number),
            Plain::Str => J::String(s.text.clone()),
        },
        Value::Scalar(s) => J::String(s.text.clone()),
        Value::Seq(items) => J::Array(items.iter().map(to_json).collect()),
        Value::Map(m) => J::Object(
            m.iter()
                .map(|(k, e)| (k.clone(), to_json(&e.value)))
                .collect(),
        ),
    }
}

fn is_null(text: &str) -> bool {
    matches!(text, "" | "~" | "null" | "Null" | "NULL")
}

/// Parses the first document of a YAML file. An empty file gives `Ok(None)`.
#[cfg(test)]
pub fn parse(file: FileId, text: &str) -> Result<Option<Node>, Diagnostic> {
    let docs = parse_documents(file, text, true, &[]).map_err(|(d, _)| d)?;
    Ok(docs.into_iter().next())
}

/// Parses every document of a YAML file (`---` separated): compose merges them
/// in order, as if each were a file of its own. Anchors do not cross documents.
#[cfg(test)]
pub fn parse_all(file: FileId, text: &str) -> Result<Vec<Node>, Diagnostic> {
    parse_documents(file, text, false, &[]).map_err(|(d, _)| d)
}

/// [`parse_all`]; on an error, also whether the first document had opened
/// as a mapping with one of `keys` among the top-level keys read before it
/// (a key whose value was being read counts): what the file was written to be.
pub fn parse_all_noting(
    file: FileId,
    text: &str,
    keys: &[&str],
) -> Result<Vec<Node>, (Diagnostic, bool)> {
    parse_documents(file, text, false, keys)
}

fn parse_documents(
    file: FileId,
    text: &str,
    first_only: bool,
    keys: &[&str],
) -> Result<Vec<Node>, (Diagnostic, bool)> {
    let mut docs = Vec::new();
    let mut builder = Builder {
        text,
        file,
        anchors: HashMap::new(),
        size: Size::default(),
        held: Size::default(),
        stack: Vec::new(),
        root: None,
        errors: Vec::new(),
    };
    // Comments carry no data; emitting them costs a third of the parse.
    let mut options = granit_parser::Options::default();
    options.emit_comments = false;
    let parser = Parser::new_from_str_with_options(text, options);
    for item in parser {
        let (event, span) = match item {
            Ok(ev) => ev,
            Err(e) => {
                let m = e.marker();
                let mut offset = m.byte_offset().unwrap_or(m.index()).min(text.len());
                while !text.is_char_boundary(offset) {
                    offset -= 1;
                }
                let open = builder.open_flow();
                let error = syntax_error(text, file, offset, &e.info(), open);
                return Err((error, builder.opened_with(&docs, keys)));
            }
        };
        let range = span
            .byte_range()
            .unwrap_or_else(|| span.start.index()..span.end.index());
        let sp = Span::new(file, range.start.min(text.len())..range.end.min(text.len()));
        let end_of_stream = matches!(event, Event::StreamEnd);
        let done = match builder.event(event, sp) {
            Ok(done) => done,
            Err(error) => return Err((error, builder.opened_with(&docs, keys))),
        };
        if done {
            docs.extend(builder.root.take());
            builder.anchors.clear();
            // The anchors' copies go; the documents stay, so their nodes
            // keep counting: the budget is the file's, not each document's.
            builder.held = Size::default();
            if first_only || end_of_stream {
                break;
            }
        }
    }
    if !builder.errors.is_empty() {
        let opened = builder.opened_with(&docs, keys);
        return Err((builder.errors.swap_remove(0), opened));
    }
    Ok(docs)
}

/// A parser error in words that say what to fix. The parser reports where it
/// gave up, which for the two most common mistakes (a tab in the indentation,
/// a bracket never closed) is not where the mistake is: point at that too.
fn syntax_error(
    text: &str,
    file: FileId,
    offset: usize,
    info: &str,
    open_flow: Option<usize>,
) -> Diagnostic {
    let at = |start: usize| Span::new(file, start..next_char_end(text, start));
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let indent_end = text[line_start..]
        .find(|c| c != ' ' && c != '\t')
        .map_or(text.len(), |i| line_start + i);
    let tab = text[line_start..indent_end]
        .find('\t')
        .map(|i| line_start + i);
    if let (true, Some(tab)) = (info.contains("tab"), tab) {
        return Diagnostic::error("invalid YAML: a tab in the indentation")
            .label(at(tab), "tab")
            .help("indent with spaces: YAML does not allow tabs for indentation");
    }
    let line_of = |o: usize| text[..o].matches('\n').count() + 1;
    if let Some(open) = open_flow.filter(|&o| line_of(o) < line_of(offset)) {
        let (bracket, close, what) = if text[open..].starts_with('[') {
            ('[', ']', "list")
        } else {
            ('{', '}', "mapping")
        };
        return Diagnostic::error(format!("invalid YAML: `{bracket}` is never closed"))
            .label(at(open), format!("this {what} is not closed"))
            .label(at(offset), format!("the parser gave up here: {info}"))
            .help(format!(
                "add the missing `{close}`; a {what} in brackets may span lines, so the rest of the file was read as part of it"
            ));
    }
    if info.contains("unclosed quote") && text[offset..].starts_with(['"', '\'']) {
        return Diagnostic::error("invalid YAML: a quoted value is never closed")
            .label(at(offset), "this quote has no closing partner")
            .help("close the quote at the end of the value; a quoted value may span lines, so the parser read to the end of the file");
    }
    let list_item = text[indent_end..].starts_with("- ") || text[indent_end..].starts_with("-\n");
    if info.contains("block mapping, did not find expected key") && list_item {
        return Diagnostic::error("invalid YAML: a list item among the keys of a mapping")
            .label(at(indent_end), "a list item here")
            .help("write it as `key: value`, or put the list under a key of its own, indented below it");
    }
    if info.contains("block mapping, did not find expected key") {
        return Diagnostic::error("invalid YAML: this line is not indented like the lines around it")
            .label(at(offset), "the parser expected a key of the mapping above here")
            .help("check the indentation: the keys of one mapping start in the same column, and a value on its own lines is indented further than its key");
    }
    let help = if info.contains("did not find expected key") || info.contains("'-' indicator") {
        "check the indentation: the keys of one mapping start in the same column, and a value on its own lines is indented further than its key"
    } else if info.contains("mapping values are not allowed") || info.contains("':'") {
        "put quotes around a value that contains `: `, or check the indentation of this line"
    } else if info.contains("anchor") {
        "define the anchor (`&name`) before the alias that uses it (`*name`)"
    } else if info.contains("quote") {
        "close the quote, or escape the quote character inside the value"
    } else {
        "fix the YAML syntax at this position"
    };
    Diagnostic::error(format!("invalid YAML: {info}"))
        .label(at(offset), "the YAML parser stopped here")
        .help(help)
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
        /// [`Builder::size`] when the collection started.
        size: Size,
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
        size: Size,
        anchor: usize,
        tag: Option<Tag>,
    },
}

/// The most nodes one file may hold once its aliases and merge keys are
/// expanded, counting the copies kept for anchors. The largest compose files in
/// the wild expand to a few thousand nodes; a "billion laughs" file of a few
/// hundred bytes expands to billions. A node costs about a hundred bytes
/// here and is copied again by later stages, so this keeps a file within a
/// few hundred MiB.
pub const MAX_NODES: usize = 1_000_000;
const _: () = assert!(MAX_NODES == 1_000_000, "the error message spells it out");

/// The most bytes of scalar text one file may hold once expanded: an alias of
/// a long string copies the string, which the node count does not see.
pub const MAX_TEXT_BYTES: usize = 64 << 20;

/// Nodes and text held so far, counted as they are built.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Size {
    pub nodes: usize,
    pub bytes: usize,
}

impl Size {
    fn add(&mut self, other: Size) {
        self.nodes = self.nodes.saturating_add(other.nodes);
        self.bytes = self.bytes.saturating_add(other.bytes);
    }

    fn since(self, start: Size) -> Size {
        Size {
            nodes: self.nodes - start.nodes,
            bytes: self.bytes - start.bytes,
        }
    }

    fn minus(self, other: Size) -> Size {
        Size {
            nodes: self.nodes.saturating_sub(other.nodes),
            bytes: self.bytes.saturating_sub(other.bytes),
        }
    }

    fn over_budget(self) -> bool {
        self.nodes > MAX_NODES || self.bytes > MAX_TEXT_BYTES
    }
}

/// The size of a built subtree, counted as [`Builder`] counts it. A loop
/// over a stack of its own: nesting depth is the file's to choose.
pub(crate) fn measure(node: &Node) -> Size {
    let mut size = Size::default();
    let mut todo = vec![node];
    while let Some(node) = todo.pop() {
        size.nodes += 1;
        match &node.value {
            Value::Null => {}
            Value::Scalar(s) => size.bytes += s.text.len(),
            Value::Seq(items) => todo.extend(items),
            Value::Map(m) => {
                for (k, e) in m {
                    size.add(Size {
                        nodes: 1,
                        bytes: k.len(),
                    });
                    todo.push(&e.value);
                }
            }
        }
    }
    size
}

struct Builder<'t> {
    text: &'t str,
    file: FileId,
    /// Each anchor's node and its expanded size, by the parser's anchor id (a
    /// name defined twice gets a new id, so the latest definition wins).
    anchors: HashMap<usize, (Node, Size)>,
    /// Everything built so far in this file, aliases expanded.
    size: Size,
    /// The copies kept in `anchors`.
    held: Size,
    stack: Vec<Frame>,
    root: Option<Node>,
    errors: Vec<Diagnostic>,
}

/// A `!!binary` scalar's text, as compose's YAML decoder (yaml.v3) gives it:
/// the base64 decoded (line breaks inside it skipped, as Go's decoder skips
/// them), read as a string. Bytes that are not UTF-8 become U+FFFD, which is
/// what compose prints for them too.
fn decode_binary(text: &str, span: Span) -> Result<String, Diagnostic> {
    use base64::Engine as _;
    let joined: String = text.chars().filter(|c| !matches!(c, '\n' | '\r')).collect();
    match base64::engine::general_purpose::STANDARD.decode(joined.as_bytes()) {
        Ok(bytes) => Ok(String::from_utf8_lossy(&bytes).into_owned()),
        Err(_) => Err(Diagnostic::error("a `!!binary` value is not valid base64")
            .label(span, "not base64")
            .help("write the value's bytes in standard base64 (`A-Z a-z 0-9 + /`, padded with `=`), or remove the `!!binary` tag")),
    }
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
    /// Whether the first document is, or has opened as, a mapping with one
    /// of `keys` among its top-level keys so far (`docs`: the documents
    /// complete).
    fn opened_with(&self, docs: &[Node], keys: &[&str]) -> bool {
        let has = |map: &Map| keys.iter().any(|k| map.contains_key(*k));
        match (docs.first(), self.stack.first()) {
            (Some(doc), _) => doc.as_map().is_some_and(has),
            (
                None,
                Some(Frame::Map {
                    map, pending_key, ..
                }),
            ) => {
                has(map)
                    || pending_key
                        .as_ref()
                        .is_some_and(|(k, _)| keys.contains(&k.as_str()))
            }
            _ => false,
        }
    }

    /// Where the innermost flow collection (`[` or `{`) still open starts.
    fn open_flow(&self) -> Option<usize> {
        self.stack.iter().rev().find_map(|f| {
            let start = match f {
                Frame::Seq { start, .. } | Frame::Map { start, .. } => start.start,
            };
            matches!(self.text.as_bytes().get(start), Some(b'[' | b'{')).then_some(start)
        })
    }

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
                let Some(&(_, size)) = self.anchors.get(&id) else {
                    return Err(Diagnostic::error("unknown YAML anchor")
                        .label(span, "this alias refers to no anchor defined before it")
                        .help("an alias cannot refer to the node it is inside of; define the anchor (`&name`) earlier"));
                };
                // Counted before it is copied, so that the copy that would
                // exceed the budget is never made.
                self.grow(size, span, true)?;
                let node = self.anchors[&id].0.clone();
                self.push(node, span)?;
            }
            Event::Scalar(text, style, anchor, tag) => {
                let size = Size {
                    nodes: 1,
                    bytes: text.len(),
                };
                self.grow(size, span, false)?;
                let plain = style == ScalarStyle::Plain;
                let binary = tag.as_deref().is_some_and(|t| {
                    t.suffix_in_namespace("tag:yaml.org,2002:").as_deref() == Some("binary")
                });
                let value = if binary {
                    Value::Scalar(Scalar {
                        text: decode_binary(&text, span)?,
                        plain: false,
                    })
                } else if plain && is_null(&text) && tag.is_none() {
                    Value::Null
                } else {
                    Value::Scalar(Scalar {
                        text: text.into_owned(),
                        plain,
                    })
                };
                let mut node = Node::new(value, span);
                node.tag = custom_tag(tag.as_deref());
                self.anchor(anchor, &node, size, span)?;
                self.push(node, span)?;
            }
            Event::SequenceStart(_, anchor, tag) => {
                let size = self.size;
                self.grow(Size { nodes: 1, bytes: 0 }, span, false)?;
                self.stack.push(Frame::Seq {
                    items: Vec::new(),
                    start: span,
                    size,
                    anchor,
                    tag: custom_tag(tag.as_deref()),
                })
            }
            Event::MappingStart(_, anchor, tag) => {
                let size = self.size;
                self.grow(Size { nodes: 1, bytes: 0 }, span, false)?;
                self.stack.push(Frame::Map {
                    map: Map::new(),
                    merges: Vec::new(),
                    pending_key: None,
                    start: span,
                    size,
                    anchor,
                    tag: custom_tag(tag.as_deref()),
                })
            }
            Event::SequenceEnd => {
                if let Some(Frame::Seq {
                    items,
                    start,
                    size,
                    anchor,
                    tag,
                }) = self.stack.pop()
                {
                    let sp = self.collection_span(start, span);
                    let mut node = Node::new(Value::Seq(items), sp);
                    node.tag = tag;
                    self.anchor(anchor, &node, self.size.since(size), sp)?;
                    self.push(node, sp)?;
                }
            }
            Event::MappingEnd => {
                if let Some(Frame::Map {
                    mut map,
                    merges,
                    start,
                    size,
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
                    self.anchor(anchor, &node, self.size.since(size), sp)?;
                    self.push(node, sp)?;
                }
            }
            // Comments and future presentation events carry no data.
            _ => {}
        }
        Ok(false)
    }

    /// Keeps a copy of an anchored node for its aliases; the copy counts
    /// against the budget too.
    fn anchor(
        &mut self,
        anchor: usize,
        node: &Node,
        size: Size,
        span: Span,
    ) -> Result<(), Diagnostic> {
        if anchor == 0 {
            return Ok(());
        }
        self.held.add(size);
        self.check(span, false)?;
        self.anchors.insert(anchor, (node.clone(), size));
        Ok(())
    }

    /// Counts `size` more nodes into the document, or fails at `span` when
    /// that goes past the budget.
    fn grow(&mut self, size: Size, span: Span, alias: bool) -> Result<(), Diagnostic> {
        self.size.add(size);
        self.check(span, alias)
    }

    fn check(&self, span: Span, alias: bool) -> Result<(), Diagnostic> {
        let mut total = self.size;
        total.add(self.held);
        if !total.over_budget() {
            return Ok(());
        }
        let what = if total.nodes > MAX_NODES {
            "1,000,000 YAML nodes".to_string()
        } else {
            format!("{} MiB of text", MAX_TEXT_BYTES >> 20)
        };
        let (message, label) = if alias {
            (
                format!("YAML aliases expand this file past the limit of {what}"),
                "this alias goes past the limit",
            )
        } else if self.held.nodes > 0 {
            (
                format!(
                    "YAML anchors, aliases and merge keys expand this file past the limit of {what}"
                ),
                "the limit is reached here",
            )
        } else {
            (
                format!("this file holds more than the limit of {what}"),
                "the limit is reached here",
            )
        };
        Err(Diagnostic::error(message).label(span, label).help(format!(
            "berth reads at most {what} per file once anchors, aliases (`*name`) and merge keys (`<<: *name`) are expanded, so that a small file cannot exhaust memory; real stack files stay far below it: use fewer aliases of large anchors, or split the file"
        )))
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
        let is_map = matches!(merge.value, Value::Map(_));
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
        // written in the mapping itself win over all of them. What is not
        // kept (the sources' own nodes, entries a key already has) no longer
        // counts, so that merges overriding one another do not add up.
        let mut dropped = Size {
            nodes: usize::from(!is_map),
            bytes: 0,
        };
        for source in sources {
            let span = source.span;
            let Value::Map(m) = source.value else {
                return Err(Diagnostic::error("a merge key `<<` needs mappings")
                    .label(span, "this is not a mapping"));
            };
            dropped.nodes += 1;
            for (k, v) in m {
                match map.entry(k) {
                    indexmap::map::Entry::Vacant(slot) => {
                        slot.insert(v);
                    }
                    indexmap::map::Entry::Occupied(slot) => {
                        let mut gone = measure(&v.value);
                        gone.add(Size {
                            nodes: 1,
                            bytes: slot.key().len(),
                        });
                        dropped.add(gone);
                    }
                }
            }
        }
        self.size = self.size.minus(dropped);
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
                        // The key itself is not kept.
                        merges.push(node);
                        self.size = self.size.minus(Size { nodes: 1, bytes: 2 });
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
    fn a_broken_file_opened_with_a_key_only_when_its_top_level_mapping_had_it_before_the_error() {
        let keys = &["services", "volumes"];
        let opened = |text: &str| parse_all_noting(FileId(0), text, keys).unwrap_err().1;
        assert!(opened("services:\n  web: {}\n bad: [\n"));
        // Read while its value was: the key counts.
        assert!(opened("services:\n  web:\n    image: x\n   bad: 1\n"));
        assert!(opened(
            "x-a: &a {k: [1, {services: c}]}\nb: *a\nvolumes:\n  v:\n   bad: [\n"
        ));
        // A complete first document, and a later one broken.
        assert!(opened("volumes: {}\n---\na: [\n"));
        // Nested, a value, or in a later document: not the first's top level.
        assert!(!opened("other:\n  services: {}\n bad: [\n"));
        assert!(!opened("a: services\nb: [volumes]\n bad: [\n"));
        assert!(!opened("a: 1\n---\nservices: {}\n bad: [\n"));
        // Not a mapping at the top.
        assert!(!opened("- services: {}\n bad: [\n"));
        assert!(!opened("[default]\nservices = x\n"));
        // The parser stopped before the key; a duplicate key stops nothing.
        assert!(!opened("token: x\n  bad: [\nservices: {}\n"));
        assert!(opened("services: {}\nservices: {}\n"));
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
    fn every_document_is_read_with_its_own_anchors() {
        let docs = parse_all(FileId(0), "a: &x 1\nb: *x\n---\nc: 2\n---\n").unwrap();
        assert_eq!(docs.len(), 3);
        assert_eq!(docs[0].get("b").unwrap().as_str(), Some("1"));
        assert_eq!(docs[1].get("c").unwrap().as_str(), Some("2"));
        // compose refuses an empty document: its reader says so.
        assert!(docs[2].is_null());
        let e = parse_all(FileId(0), "a: &x 1\n---\nb: *x\n").unwrap_err();
        assert!(e.message.contains("anchor"), "{}", e.message);
        assert!(parse_all(FileId(0), "").unwrap().is_empty());
    }

    /// `levels` anchors, each a list of `width` aliases of the one before.
    fn laughs(levels: usize, width: usize) -> String {
        let mut text = String::from("x-0: &a0 \"lol\"\n");
        for i in 1..=levels {
            let items = vec![format!("*a{}", i - 1); width].join(",");
            text.push_str(&format!("x-{i}: &a{i} [{items}]\n"));
        }
        text
    }

    fn assert_over_budget(text: &str, alias: bool) {
        let e = parse(FileId(0), text).unwrap_err();
        assert!(e.message.contains("past the limit of"), "{}", e.message);
        let span = e.primary_span().unwrap();
        if alias {
            assert!(
                text[span.range()].starts_with('*'),
                "{:?}",
                &text[span.range()]
            );
        }
    }

    #[test]
    fn billion_laughs_stop_at_the_alias_that_exceeds_the_budget() {
        let e = parse(FileId(0), &laughs(10, 10)).unwrap_err();
        assert!(e.message.contains("1,000,000 YAML nodes"), "{}", e.message);
        assert_over_budget(&laughs(10, 10), true);
        assert_over_budget(&laughs(7, 10), true);
        // Five levels (111,111 nodes) are within it.
        let root = p(&laughs(5, 10));
        assert_eq!(
            root.at(&["x-5", "9", "9", "9", "9", "9"]).unwrap().as_str(),
            Some("lol")
        );
    }

    #[test]
    fn the_budget_is_the_files_not_each_documents() {
        // Each document alone is within it; 20 of them are not.
        let doc = laughs(5, 10);
        let text = vec![doc.as_str(); 20].join("---\n");
        assert!(parse_all(FileId(0), &doc).is_ok());
        let e = parse_all(FileId(0), &text).unwrap_err();
        assert!(e.message.contains("past the limit of"), "{}", e.message);
    }

    #[test]
    fn aliases_of_long_text_count_their_bytes() {
        let mut text = format!("s: &s {}\nx: [", "a".repeat(100 << 10));
        text.push_str(&vec!["*s"; 700].join(","));
        text.push_str("]\n");
        let e = parse(FileId(0), &text).unwrap_err();
        assert!(e.message.contains("MiB of text"), "{}", e.message);
        assert!(text[e.primary_span().unwrap().range()].starts_with('*'));
    }

    #[test]
    fn merge_key_chains_are_counted() {
        // Each mapping merges the one before and adds a key: quadratic.
        let mut text = String::from("m0: &m0 {k0: v}\n");
        for i in 1..10_000 {
            text.push_str(&format!("m{i}: &m{i} {{<<: *m{}, k{i}: v}}\n", i - 1));
        }
        assert_over_budget(&text, false);
        // The same chain overriding one key each time stays small, so it loads.
        let mut text = String::from("m0: &m0 {k: v}\n");
        for i in 1..10_000 {
            text.push_str(&format!("m{i}: &m{i} {{<<: *m{}, k: v{i}}}\n", i - 1));
        }
        let root = p(&text);
        assert_eq!(root.at(&["m9999", "k"]).unwrap().as_str(), Some("v9999"));
    }

    #[test]
    fn nested_anchors_are_not_counted_twice() {
        // Every level keeps a copy of what is inside it: 40 levels hold
        // 40 * 41 / 2 nodes, not 2^40.
        let mut text = String::new();
        for i in 0..40 {
            text.push_str(&format!("{}- &a{i}\n", "  ".repeat(i)));
        }
        text.push_str(&format!("{}- x\n", "  ".repeat(40)));
        text.push_str("- *a0\n");
        let root = p(&text);
        assert_eq!(root.as_seq().unwrap().len(), 2);
    }

    #[test]
    fn many_anchors_are_looked_up_by_id() {
        let mut text = String::new();
        for i in 0..100_000 {
            text.push_str(&format!("a{i}: &a{i} v{i}\n"));
        }
        for i in 0..100_000 {
            text.push_str(&format!("b{i}: *a{i}\n"));
        }
        let start = std::time::Instant::now();
        let root = p(&text);
        assert_eq!(root.get("b99999").unwrap().as_str(), Some("v99999"));
        // About 2 s in a debug build; a linear scan (5e9 steps) takes far longer.
        assert!(start.elapsed() < std::time::Duration::from_secs(15));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]
        /// Any nesting of aliases either loads within the budget or fails at
        /// an alias, whatever its shape.
        #[test]
        fn alias_expansion_is_bounded(levels in 1usize..14, width in 1usize..14) {
            let text = laughs(levels, width);
            match parse(FileId(0), &text) {
                Ok(root) => {
                    let root = root.unwrap();
                    proptest::prop_assert!(measure(&root).nodes <= MAX_NODES);
                }
                Err(e) => {
                    proptest::prop_assert!(e.message.contains("past the limit"), "{}", e.message);
                    let span = e.primary_span().unwrap();
                    // At the alias, or at the anchored list whose copy
                    // for later aliases would exceed it.
                    proptest::prop_assert!(text[span.range()].starts_with(['*', '[']));
                }
            }
        }
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
    fn plain_scalars_resolve_like_yaml_v3() {
        assert_eq!(resolve_plain("12"), Plain::Int(12));
        assert_eq!(resolve_plain("1.5"), Plain::Float(1.5));
        assert_eq!(resolve_plain("true"), Plain::Bool(true));
        assert_eq!(resolve_plain("yes"), Plain::Str);
        assert_eq!(resolve_plain("8080:80"), Plain::Str);
        assert_eq!(resolve_plain("1e3"), Plain::Float(1000.0));
        assert_eq!(resolve_plain("nan"), Plain::Str);
        assert_eq!(resolve_plain("0440"), Plain::Int(0o440));
        assert_eq!(resolve_plain("08"), Plain::Float(8.0));
        assert_eq!(resolve_plain("0x1F"), Plain::Int(31));
        assert_eq!(resolve_plain("-0b101"), Plain::Int(-5));
        assert_eq!(resolve_plain("1_000"), Plain::Int(1000));
        assert_eq!(resolve_plain("+1"), Plain::Int(1));
        assert_eq!(resolve_plain(".5"), Plain::Float(0.5));
        assert_eq!(resolve_plain("1."), Plain::Float(1.0));
        assert_eq!(resolve_plain("12345678901234567890"), Plain::Str);
        assert_eq!(resolve_plain("0-1"), Plain::Str);
        assert_eq!(resolve_plain("1e"), Plain::Str);
    }

    #[test]
    fn numbers_print_as_go_prints_them() {
        let text = |t: &str| {
            go_text(&Scalar {
                text: t.into(),
                plain: true,
            })
        };
        assert_eq!(text("1.0"), "1");
        assert_eq!(text("010"), "8");
        assert_eq!(text("1e3"), "1000");
        assert_eq!(text("1e6"), "1e+06");
        assert_eq!(text("1234567.0"), "1.234567e+06");
        assert_eq!(text("123456.5"), "123456.5");
        assert_eq!(text("0.0001"), "0.0001");
        assert_eq!(text("0.00001"), "1e-05");
        assert_eq!(text("1.5e-7"), "1.5e-07");
        assert_eq!(text("-2.5"), "-2.5");
        assert_eq!(text(".inf"), "+Inf");
        assert_eq!(
            go_text(&Scalar {
                text: "1.0".into(),
                plain: false
            }),
            "1.0"
        );
    }
}
