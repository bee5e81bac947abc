//! Source files and byte spans.
//!
//! Every value berth reads from a stack file remembers where it came from, so that
//! any later stage (interpolation, merging, validation, the dependency graph) can
//! point the user at the exact text. This module only stores files and positions; it
//! knows nothing about YAML or diagnostics.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Index of a file in a [`Sources`] table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct FileId(pub u32);

/// A byte range in one source file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Span {
    pub file: FileId,
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(file: FileId, range: Range<usize>) -> Span {
        Span {
            file,
            start: range.start,
            end: range.end.max(range.start),
        }
    }

    pub fn range(&self) -> Range<usize> {
        self.start..self.end
    }

    /// A sub-range of this span, given relative to its start (used to point inside
    /// a scalar, e.g. at one `${VAR}` of a longer string). Falls back to the whole
    /// span when the offsets do not fit, which happens for quoted or folded scalars
    /// whose text differs from the bytes in the file.
    pub fn sub(&self, rel: Range<usize>) -> Span {
        let start = self.start + rel.start;
        let end = self.start + rel.end;
        if end <= self.end && start <= end {
            Span {
                file: self.file,
                start,
                end,
            }
        } else {
            *self
        }
    }
}

/// One loaded file: its name as shown to the user, its path, and its text.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub name: String,
    pub path: PathBuf,
    pub text: Arc<str>,
    /// Byte offset of the start of every line, computed once so that locating an
    /// offset is a binary search, not a scan of the file per diagnostic.
    line_starts: Arc<[usize]>,
    /// Why the text must never be shown back to the user, if so.
    opaque: Option<Opaque>,
}

/// Why a file's contents are kept out of error snippets: its bytes are not a text
/// file the user wrote, and may be secrets (`/proc/self/environ`) or garbage, or
/// it is not known to be a stack file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opaque {
    /// A FIFO, device, directory or socket.
    NotRegular,
    /// A kernel-generated file (procfs, sysfs): it looks regular but is not on disk.
    Virtual,
    /// NUL bytes or other control characters: binary, not YAML.
    Binary,
    /// Not (yet) seen to be a stack file: every file starts so, until the
    /// loader finds it parses as YAML with a stack's mapping at the top
    /// ([`Sources::recognise_stack`]). A stack file may name any file as an
    /// `include` or `extends` (`~/.aws/credentials`, `~/.ssh/id_rsa`), and
    /// what such a file holds is the user's, not the stack author's.
    NotAStack,
}

impl Opaque {
    pub fn reason(self) -> &'static str {
        match self {
            Opaque::NotRegular => "not a regular file",
            Opaque::Virtual => "a kernel-generated file (procfs or sysfs)",
            Opaque::Binary => "binary content, not text",
            Opaque::NotAStack => "it does not read as a stack file",
        }
    }
}

impl SourceFile {
    /// `Some` when the file's contents must not appear in any output.
    pub fn opaque(&self) -> Option<Opaque> {
        self.opaque
    }

    /// 0-based index of the line that holds a byte offset.
    pub fn line_index(&self, offset: usize) -> usize {
        self.line_starts
            .partition_point(|&s| s <= offset)
            .saturating_sub(1)
    }

    /// Byte range of a 0-based line, without its line break; empty past the end.
    pub fn line_range(&self, line: usize) -> Range<usize> {
        let Some(&start) = self.line_starts.get(line) else {
            return self.text.len()..self.text.len();
        };
        let end = self
            .line_starts
            .get(line + 1)
            .map_or(self.text.len(), |&next| next - 1);
        let end = if end > start && self.text.as_bytes()[end - 1] == b'\r' {
            end - 1
        } else {
            end
        };
        start..end.max(start)
    }

    pub fn line_count(&self) -> usize {
        self.line_starts.len()
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = floor_char_boundary(&self.text, offset.min(self.text.len()));
        let line = self.line_index(offset);
        let start = self.line_starts[line];
        (line + 1, char_count(&self.text[start..offset]) + 1)
    }
}

/// All files read while loading a stack; spans index into it.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    files: Vec<SourceFile>,
}

impl Sources {
    /// Registers a file's text. It may not be quoted in diagnostics until the
    /// loader has seen it is a stack file ([`Sources::recognise_stack`]), and
    /// never when the file itself says so (not a regular text file): decided
    /// here, so that no caller can forget to ask.
    pub fn add(&mut self, name: String, path: PathBuf, text: String) -> FileId {
        let opaque = opaque_content(&text)
            .or_else(|| opaque_file(&path, &text))
            .or(Some(Opaque::NotAStack));
        let line_starts = std::iter::once(0)
            .chain(memchr_newlines(&text))
            .collect::<Vec<_>>()
            .into();
        self.files.push(SourceFile {
            name,
            path,
            text: text.into(),
            line_starts,
            opaque,
        });
        FileId((self.files.len() - 1) as u32)
    }

    /// The file parsed as YAML and looks like a stack file (see
    /// `load::yaml::looks_like_stack`): its lines may be shown from now on,
    /// unless it is opaque for a reason of its own.
    pub fn recognise_stack(&mut self, id: FileId) {
        let file = &mut self.files[id.0 as usize];
        if file.opaque == Some(Opaque::NotAStack) {
            file.opaque = None;
        }
    }

    pub fn get(&self, id: FileId) -> &SourceFile {
        &self.files[id.0 as usize]
    }

    pub fn find(&self, path: &Path) -> Option<FileId> {
        self.files
            .iter()
            .position(|f| f.path == path)
            .map(|i| FileId(i as u32))
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, file: FileId, offset: usize) -> (usize, usize) {
        self.get(file).line_col(offset)
    }
}

/// Offsets just past every `\n`.
fn memchr_newlines(text: &str) -> impl Iterator<Item = usize> + '_ {
    text.bytes()
        .enumerate()
        .filter(|&(_, b)| b == b'\n')
        .map(|(i, _)| i + 1)
}

/// Text YAML never holds C0 control characters other than tab, line breaks and
/// form feed (YAML 1.2 §5.1 excludes them from the printable set), nor DEL.
fn opaque_content(text: &str) -> Option<Opaque> {
    text.bytes()
        .any(|b| (b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0c)) || b == 0x7f)
        .then_some(Opaque::Binary)
}

/// A path that names something other than a file on disk. A file that cannot be
/// inspected any more (deleted since, or a test's made-up path) is judged by its
/// contents alone.
fn opaque_file(path: &Path, text: &str) -> Option<Opaque> {
    let meta = std::fs::metadata(path).ok()?;
    if !meta.is_file() {
        return Some(Opaque::NotRegular);
    }
    // procfs and sysfs files report a size of 0 (procfs) or one page (sysfs) that
    // has nothing to do with what reading them returns.
    if meta.len() == 0 && !text.is_empty() {
        return Some(Opaque::Virtual);
    }
    let real = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    (real.starts_with("/proc") || real.starts_with("/sys")).then_some(Opaque::Virtual)
}

/// Characters in `s`: its length when ASCII, checked a word at a time, which is
/// most of a long line's cost when a column far along it is asked for.
pub fn char_count(s: &str) -> usize {
    if s.is_ascii() {
        s.len()
    } else {
        s.chars().count()
    }
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The definition the line index replaces: count what comes before.
    fn scanned(text: &str, offset: usize) -> (usize, usize) {
        let before = &text[..floor_char_boundary(text, offset.min(text.len()))];
        let line = before.matches('\n').count() + 1;
        let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        (line, col)
    }

    #[test]
    fn line_col_by_index_agrees_with_a_scan_at_every_offset() {
        let text = "a: é\r\n\n  b: ✓x\nlast";
        let mut sources = Sources::default();
        let id = sources.add("s".into(), "/nonexistent".into(), text.into());
        for offset in 0..=text.len() + 2 {
            assert_eq!(
                sources.line_col(id, offset),
                scanned(text, offset),
                "at {offset}"
            );
        }
        let f = sources.get(id);
        assert_eq!(&text[f.line_range(0)], "a: é");
        assert_eq!(&text[f.line_range(2)], "  b: ✓x");
        assert_eq!(&text[f.line_range(3)], "last");
        assert_eq!(f.line_range(9), text.len()..text.len());
    }

    #[test]
    fn control_characters_other_than_line_breaks_and_tabs_make_a_file_binary() {
        assert_eq!(opaque_content("a:\tb\r\n"), None);
        assert_eq!(opaque_content("a\0b"), Some(Opaque::Binary));
        assert_eq!(opaque_content("a\x1bb"), Some(Opaque::Binary));
    }
}
