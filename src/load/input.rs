//! Reading the files berth takes as input: stack files (`-f`, included and
//! extended ones) and env files (`--env-file`, `.env`, `env_file:`), all
//! through [`read_text`].
//!
//! These files come from repositories people just cloned, so reading one is
//! bounded before any byte is read. A file is read only when
//! - it is a regular file, both by its path and by the descriptor opened
//!   (opened non-blocking, so that a FIFO swapped in meanwhile cannot hang
//!   berth): never a directory, FIFO, socket or device such as `/dev/zero`;
//! - it is not a kernel pseudo-file (procfs, sysfs and the like): those look
//!   like regular files of size 0 yet hold process state such as
//!   `/proc/self/environ`, the whole environment with its secrets. They are
//!   known by their filesystem (on Linux), by their canonical path under
//!   `/proc` or `/sys`, and by reading data although their size is 0;
//! - it is no larger than the limit for its kind, counted on the bytes read
//!   too (`take(limit + 1)`), so that a file growing meanwhile stays bounded.
//!
//! The text is then decoded as compose decodes it: UTF-8 (a byte-order mark
//! dropped), or UTF-16 or UTF-32 when a byte-order mark says so. A file with
//! NUL characters is not text. The errors never quote the file's content:
//! callers show an excerpt only of a regular text file, at a located error.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::Read;
use std::path::Path;

/// What a file is read as: it sets the limit and the words of errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Stack,
    Env,
}

/// The most bytes read from a stack file. The largest compose files in the
/// wild are a few hundred KiB.
pub const STACK_FILE_LIMIT: u64 = 16 << 20;
/// The most bytes read from an env file.
pub const ENV_FILE_LIMIT: u64 = 1 << 20;

impl Kind {
    pub fn limit(self) -> u64 {
        match self {
            Kind::Stack => STACK_FILE_LIMIT,
            Kind::Env => ENV_FILE_LIMIT,
        }
    }

    pub fn noun(self) -> &'static str {
        match self {
            Kind::Stack => "stack file",
            Kind::Env => "env file",
        }
    }

    /// The noun with its article: "a stack file", "an env file".
    fn a_noun(self) -> &'static str {
        match self {
            Kind::Stack => "a stack file",
            Kind::Env => "an env file",
        }
    }
}

/// What a symbolic link that leads back to itself is called in errors.
const LOOP: &str = "a symbolic-link loop";
/// What a directory is called in errors.
const DIRECTORY: &str = "a directory";

/// Why a file was not read. Its text is a reason to follow "cannot read
/// stack file `x`: "; it never holds any of the file's content.
#[derive(Debug)]
pub enum ReadError {
    NotFound,
    Io(std::io::Error),
    /// Not a regular file; what it is instead.
    NotRegular(&'static str),
    /// A file of the kernel's (procfs, sysfs, ...), not one on disk.
    Pseudo,
    TooLarge {
        limit: u64,
        /// The size the file claims, when that is what exceeded the limit.
        size: Option<u64>,
    },
    /// NUL characters: a binary file.
    Binary,
    /// Not valid in its encoding at a position, 1-based. `text` is the file
    /// decoded with replacement characters, `offset` the place in it, for a
    /// caller that shows the line.
    Encoding {
        encoding: &'static str,
        line: usize,
        column: usize,
        offset: usize,
        text: String,
    },
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::NotFound => write!(f, "it does not exist"),
            ReadError::Io(e) => write!(f, "{e}"),
            ReadError::NotRegular(what) => write!(f, "it is not a regular file but {what}"),
            ReadError::Pseudo => write!(
                f,
                "it is a kernel pseudo-file (procfs or sysfs), not a file on disk"
            ),
            ReadError::TooLarge { limit, size } => {
                write!(f, "it is larger than the limit of {}", mib(*limit))?;
                if let Some(size) = size {
                    write!(f, " ({size} bytes)")?;
                }
                Ok(())
            }
            ReadError::Binary => write!(f, "it is not a text file (it contains NUL bytes)"),
            ReadError::Encoding {
                encoding,
                line,
                column,
                ..
            } => write!(
                f,
                "it is not valid {encoding} at line {line}, column {column}"
            ),
        }
    }
}

impl ReadError {
    /// The same reason as a predicate of the file's name, for messages that
    /// name it first: "`x` is a directory", "`x` does not exist".
    pub fn predicate(&self) -> String {
        match self {
            ReadError::NotFound => "does not exist".into(),
            ReadError::NotRegular(what) => format!("is {what}, not a regular file"),
            e => format!("cannot be read: {}", e),
        }
    }

    /// A few words for a label under the name.
    pub fn label(&self) -> &'static str {
        match self {
            ReadError::NotFound => "no such file",
            ReadError::NotRegular(what) => what,
            _ => "unreadable",
        }
    }

    /// What to do about it, for a file of `kind`.
    pub fn help(&self, kind: Kind) -> String {
        let noun = kind.noun();
        let a_noun = kind.a_noun();
        match self {
            ReadError::NotFound => format!("check the path of the {noun}"),
            ReadError::Io(_) => format!("check the {noun}'s permissions"),
            ReadError::NotRegular(DIRECTORY) => {
                format!("name {a_noun} inside the directory, not the directory itself")
            }
            ReadError::NotRegular(LOOP) => {
                format!("the link leads, through other links, back to itself; point it at {a_noun}")
            }
            ReadError::NotRegular(_) => format!(
                "berth reads {a_noun} only from a regular file, so that a pipe cannot block it and a device cannot feed it without end; copy the content into a file and name that"
            ),
            ReadError::Pseudo => format!(
                "berth never reads or shows such files: they hold the state of processes and of the system (the environment, secrets); name a regular {noun}"
            ),
            ReadError::TooLarge { limit, .. } => format!(
                "berth reads at most {} from a {noun}, so that a runaway file cannot exhaust memory; real ones are a few KiB: check that this is the file you meant",
                mib(*limit)
            ),
            ReadError::Binary => format!(
                "a {noun} is text: UTF-8, or UTF-16 or UTF-32 with a byte-order mark; check that this is the file you meant"
            ),
            ReadError::Encoding { .. } => {
                "save the file as UTF-8 (or as UTF-16 or UTF-32 with a byte-order mark)".into()
            }
        }
    }
}

fn mib(bytes: u64) -> String {
    format!("{} MiB", bytes >> 20)
}

/// Reads a file of `kind` as text, within the rules of this module.
pub fn read_text(path: &Path, kind: Kind) -> Result<String, ReadError> {
    decode(read_bytes(path, kind.limit())?)
}

/// Reads standard input (`-f -`) as text of `kind`, bounded as a file is:
/// at most the limit of its kind is read, whatever is piped in.
pub fn read_stdin(kind: Kind) -> Result<String, ReadError> {
    let limit = kind.limit();
    let mut bytes = Vec::new();
    std::io::stdin()
        .lock()
        .take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(ReadError::Io)?;
    if bytes.len() as u64 > limit {
        return Err(ReadError::TooLarge { limit, size: None });
    }
    decode(bytes)
}

/// What is at `path`, without opening it: `Ok` for a regular file (which
/// may still be refused when read), else why it is not one. For callers
/// that decide what to do before reading, such as an optional file that
/// may be missing but must not be a directory or a FIFO.
pub fn probe(path: &Path) -> Result<(), ReadError> {
    regular(&std::fs::metadata(path).map_err(io)?)
}

/// Whether a file looked for by its name (a default stack file, a `.env`)
/// is there: anything but nothing or a directory. A FIFO or a link loop is
/// found, so that reading it refuses it saying what it is.
pub fn found(path: &Path) -> bool {
    !matches!(
        probe(path),
        Err(ReadError::NotFound | ReadError::NotRegular(DIRECTORY))
    )
}

fn io(e: std::io::Error) -> ReadError {
    if e.kind() == std::io::ErrorKind::NotFound {
        ReadError::NotFound
    } else if e.raw_os_error() == Some(libc::ELOOP) {
        ReadError::NotRegular(LOOP)
    } else {
        ReadError::Io(e)
    }
}

/// Reads a regular file of at most `limit` bytes (a secret's content, which
/// need not be text), within the rules of this module.
pub fn read_bytes(path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    // Checked before opening: opening some devices has effects of its own.
    let meta = std::fs::metadata(path).map_err(io)?;
    regular(&meta)?;
    if let Ok(real) = std::fs::canonicalize(path)
        && (real.starts_with("/proc") || real.starts_with("/sys"))
    {
        return Err(ReadError::Pseudo);
    }
    let file = open(path).map_err(io)?;
    // Checked again on what was opened: the path may have changed meanwhile.
    let meta = file.metadata().map_err(io)?;
    regular(&meta)?;
    if on_pseudo_fs(&file) {
        return Err(ReadError::Pseudo);
    }
    if meta.len() > limit {
        return Err(ReadError::TooLarge {
            limit,
            size: Some(meta.len()),
        });
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(ReadError::Io)?;
    if bytes.len() as u64 > limit {
        return Err(ReadError::TooLarge { limit, size: None });
    }
    if meta.len() == 0 && !bytes.is_empty() {
        return Err(ReadError::Pseudo);
    }
    Ok(bytes)
}

fn open(path: &Path) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY);
    }
    options.open(path)
}

fn regular(meta: &std::fs::Metadata) -> Result<(), ReadError> {
    let t = meta.file_type();
    if t.is_file() {
        return Ok(());
    }
    let what = if t.is_dir() {
        DIRECTORY
    } else {
        kind_of_special(&t)
    };
    Err(ReadError::NotRegular(what))
}

#[cfg(unix)]
fn kind_of_special(t: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if t.is_fifo() {
        "a FIFO (named pipe)"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_socket() {
        "a socket"
    } else {
        "a special file"
    }
}

#[cfg(not(unix))]
fn kind_of_special(_: &std::fs::FileType) -> &'static str {
    "a special file"
}

/// Whether the file lives on one of the kernel's pseudo-filesystems, whose
/// files report sizes that do not match what they hold.
#[cfg(target_os = "linux")]
fn on_pseudo_fs(file: &File) -> bool {
    use std::os::fd::AsRawFd;
    const PSEUDO: [i64; 10] = [
        0x9fa0,      // procfs
        0x6265_6572, // sysfs
        0x6462_6720, // debugfs
        0x7472_6163, // tracefs
        0x7363_6673, // securityfs
        0x0027_e0eb, // cgroup
        0x6367_7270, // cgroup2
        0x6265_6570, // configfs
        0xde5e_81e4, // efivarfs
        0xcafe_4a11, // bpf
    ];
    let mut st = std::mem::MaybeUninit::<libc::statfs>::zeroed();
    // SAFETY: fstatfs fills the struct for an open descriptor, which `file` is.
    let rc = unsafe { libc::fstatfs(file.as_raw_fd(), st.as_mut_ptr()) };
    if rc != 0 {
        return false;
    }
    // SAFETY: fstatfs returned 0, so it filled the struct.
    let st = unsafe { st.assume_init() };
    #[allow(clippy::unnecessary_cast)] // the field's type differs by platform
    let magic = st.f_type as i64;
    PSEUDO.contains(&magic)
}

#[cfg(not(target_os = "linux"))]
fn on_pseudo_fs(_: &File) -> bool {
    false
}

/// Bytes to text: UTF-8, or UTF-16/UTF-32 when a byte-order mark says so, as
/// compose's YAML reader decodes them. NUL characters mean a binary file.
pub fn decode(bytes: Vec<u8>) -> Result<String, ReadError> {
    let text = match bytes.as_slice() {
        [0xFF, 0xFE, 0, 0, rest @ ..] => wide(rest, 4, "UTF-32", |c| {
            char::from_u32(u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        })?,
        [0, 0, 0xFE, 0xFF, rest @ ..] => wide(rest, 4, "UTF-32", |c| {
            char::from_u32(u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
        })?,
        [0xFF, 0xFE, rest @ ..] => utf16(rest, u16::from_le_bytes)?,
        [0xFE, 0xFF, rest @ ..] => utf16(rest, u16::from_be_bytes)?,
        _ => {
            let start = if bytes.starts_with(&[0xEF, 0xBB, 0xBF]) {
                3
            } else {
                0
            };
            if bytes.contains(&0) {
                return Err(ReadError::Binary);
            }
            match std::str::from_utf8(&bytes[start..]) {
                Ok(text) => text.to_string(),
                Err(e) => {
                    let valid = &bytes[start..start + e.valid_up_to()];
                    let valid = std::str::from_utf8(valid).unwrap_or_default();
                    let lossy = String::from_utf8_lossy(&bytes[start..]).into_owned();
                    return Err(bad("UTF-8", valid, lossy));
                }
            }
        }
    };
    if text.contains('\0') {
        return Err(ReadError::Binary);
    }
    Ok(text)
}

/// An encoding error after the valid text `valid`, in the file read as `text`
/// (which starts with `valid`).
fn bad(encoding: &'static str, valid: &str, text: String) -> ReadError {
    let line_start = valid.rfind('\n').map_or(0, |i| i + 1);
    ReadError::Encoding {
        encoding,
        line: valid.matches('\n').count() + 1,
        column: valid[line_start..].chars().count() + 1,
        offset: valid.len(),
        text,
    }
}

fn wide(
    bytes: &[u8],
    width: usize,
    encoding: &'static str,
    char_of: impl Fn(&[u8]) -> Option<char>,
) -> Result<String, ReadError> {
    let mut text = String::with_capacity(bytes.len() / width);
    for unit in bytes.chunks(width) {
        match (unit.len() == width).then(|| char_of(unit)).flatten() {
            Some(c) => text.push(c),
            None => return Err(bad_wide(encoding, text)),
        }
    }
    Ok(text)
}

fn utf16(bytes: &[u8], unit: fn([u8; 2]) -> u16) -> Result<String, ReadError> {
    let units = bytes.chunks(2).map(|c| match c {
        [a, b] => Ok(unit([*a, *b])),
        _ => Err(()),
    });
    let mut text = String::with_capacity(bytes.len() / 2);
    let mut odd = false;
    let decoded = char::decode_utf16(units.map_while(|u| {
        odd |= u.is_err();
        u.ok()
    }));
    for c in decoded {
        match c {
            Ok(c) => text.push(c),
            Err(_) => return Err(bad_wide("UTF-16", text)),
        }
    }
    if odd {
        return Err(bad_wide("UTF-16", text));
    }
    Ok(text)
}

/// An error in a UTF-16/32 file after the text decoded so far: the excerpt
/// shows that text with a replacement character where decoding stopped.
fn bad_wide(encoding: &'static str, valid: String) -> ReadError {
    let mut text = valid.clone();
    text.push(char::REPLACEMENT_CHARACTER);
    bad(encoding, &valid, text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn file(bytes: &[u8]) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(bytes).unwrap();
        f
    }

    #[test]
    fn a_regular_text_file_is_read() {
        let f = file(b"services:\n  web: {}\n");
        assert_eq!(
            read_text(f.path(), Kind::Stack).unwrap(),
            "services:\n  web: {}\n"
        );
    }

    #[test]
    fn files_that_are_not_regular_are_refused_before_reading() {
        let dir = tempfile::tempdir().unwrap();
        let e = read_text(dir.path(), Kind::Stack).unwrap_err();
        assert!(matches!(e, ReadError::NotRegular("a directory")), "{e}");
        let e = read_text(Path::new("/dev/zero"), Kind::Env).unwrap_err();
        assert!(
            matches!(e, ReadError::NotRegular("a character device")),
            "{e}"
        );
        let e = read_text(&dir.path().join("missing"), Kind::Stack).unwrap_err();
        assert!(matches!(e, ReadError::NotFound), "{e}");
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_is_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid C string and mode.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(read_text(&fifo, Kind::Stack).map_err(|e| e.to_string()));
        });
        // Reading a FIFO with no writer blocks forever; refusing it does not.
        let got = rx
            .recv_timeout(std::time::Duration::from_secs(10))
            .expect("reading a FIFO blocked");
        let e = got.unwrap_err();
        assert!(e.contains("FIFO"), "{e}");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn procfs_files_are_refused_and_not_shown() {
        for path in [
            "/proc/self/environ",
            "/proc/self/status",
            "/sys/kernel/uevent_seqnum",
        ] {
            if !Path::new(path).exists() {
                continue;
            }
            let e = read_text(Path::new(path), Kind::Stack).unwrap_err();
            assert!(matches!(e, ReadError::Pseudo), "{path}: {e}");
            assert!(!e.to_string().contains('='), "{e}");
        }
    }

    #[test]
    fn files_over_the_limit_are_refused() {
        // Sparse: claims a GiB without holding it.
        let f = tempfile::NamedTempFile::new().unwrap();
        f.as_file().set_len(1 << 30).unwrap();
        let e = read_text(f.path(), Kind::Env).unwrap_err();
        assert!(e.to_string().contains("limit of 1 MiB"), "{e}");
        assert!(e.help(Kind::Env).contains("1 MiB"));
        let f = file(&vec![b'#'; ENV_FILE_LIMIT as usize + 1]);
        assert!(matches!(
            read_text(f.path(), Kind::Env),
            Err(ReadError::TooLarge { .. })
        ));
        // The same bytes are a small stack file.
        assert!(read_text(f.path(), Kind::Stack).is_ok());
    }

    #[test]
    fn byte_order_marks_choose_the_encoding() {
        let text = "a: é€😀\n";
        let mut le16 = vec![0xFF, 0xFE];
        let mut be16 = vec![0xFE, 0xFF];
        for u in text.encode_utf16() {
            le16.extend(u.to_le_bytes());
            be16.extend(u.to_be_bytes());
        }
        let mut le32 = vec![0xFF, 0xFE, 0, 0];
        let mut be32 = vec![0, 0, 0xFE, 0xFF];
        for c in text.chars() {
            le32.extend((c as u32).to_le_bytes());
            be32.extend((c as u32).to_be_bytes());
        }
        let mut utf8 = vec![0xEF, 0xBB, 0xBF];
        utf8.extend(text.as_bytes());
        for bytes in [le16, be16, le32, be32, utf8] {
            assert_eq!(decode(bytes).unwrap(), text);
        }
    }

    #[test]
    fn invalid_encodings_are_located() {
        let e = decode(b"a: 1\nbb: x\xFFy\n".to_vec()).unwrap_err();
        let ReadError::Encoding {
            line,
            column,
            offset,
            text,
            ..
        } = &e
        else {
            panic!("{e}");
        };
        assert_eq!((*line, *column), (2, 6));
        assert!(text[*offset..].starts_with('\u{FFFD}'));
        assert!(e.to_string().contains("UTF-8 at line 2, column 6"), "{e}");
        // A lone surrogate in UTF-16, and an odd byte at the end.
        let mut bytes = vec![0xFF, 0xFE];
        for u in [b'a' as u16, b'\n' as u16, b'b' as u16, 0xD800, b'c' as u16] {
            bytes.extend(u.to_le_bytes());
        }
        let e = decode(bytes).unwrap_err();
        assert!(e.to_string().contains("UTF-16 at line 2, column 2"), "{e}");
        let e = decode(vec![0xFF, 0xFE, b'a', 0, b'b']).unwrap_err();
        assert!(e.to_string().contains("UTF-16 at line 1, column 2"), "{e}");
        let e = decode(vec![0, 0, 0xFE, 0xFF, 0, 0x11, 0, 0]).unwrap_err();
        assert!(e.to_string().contains("UTF-32 at line 1, column 1"), "{e}");
    }

    #[test]
    fn nul_bytes_mean_a_binary_file() {
        let e = decode(b"services:\0\x01\x02secret".to_vec()).unwrap_err();
        assert!(matches!(e, ReadError::Binary));
        assert!(!e.to_string().contains("secret"));
        // UTF-16 without a byte-order mark is not guessed at.
        assert!(matches!(
            decode(b"a\0:\0 \0b\0".to_vec()),
            Err(ReadError::Binary)
        ));
        // `FF FE 00 00` would be UTF-32's mark: the NUL comes second.
        let le16 = vec![0xFF, 0xFE, b'a', 0, 0, 0];
        assert!(matches!(decode(le16), Err(ReadError::Binary)));
    }

    proptest::proptest! {
        /// Whatever the bytes, decoding answers (text or a reason) without
        /// panicking, and located errors point inside the text they carry.
        #[test]
        fn decoding_any_bytes_never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64)) {
            if let Err(ReadError::Encoding { offset, text, .. }) = decode(bytes) {
                proptest::prop_assert!(text.is_char_boundary(offset) && offset < text.len());
            }
        }
    }
}
