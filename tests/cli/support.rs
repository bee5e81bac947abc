//! Running berth as a user would, through one builder:
//!
//! ```text
//! Berth::new().file("compose.yaml", yaml).args(["validate"]).run().code_is(1)
//! ```
//!
//! Every run gets a fixed environment (nothing from the developer's shell: no
//! COMPOSE_*, no colour; a fixed HOME and terminal width), no stdin unless
//! one is given, and a time limit. Output goes to files rather than pipes, so
//! that a started berth ([`Berth::spawn`]) can be read while it runs and
//! killed at any moment.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// How long one berth command may take before the test fails.
pub const BERTH_TIMEOUT: Duration = Duration::from_secs(120);

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixtures() -> PathBuf {
    repo().join("tests/fixtures")
}

/// One berth command to run: where, with which arguments, environment and
/// stdin.
#[must_use = "a Berth does nothing until `run` or `spawn`"]
pub struct Berth {
    cwd: Option<PathBuf>,
    /// A directory for the files given with [`Berth::file`], and the working
    /// directory when none is given.
    files: Option<tempfile::TempDir>,
    args: Vec<OsString>,
    env: Vec<(OsString, OsString)>,
    stdin: Option<String>,
    /// RLIMIT_AS for the berth process, in bytes.
    address_space: Option<u64>,
}

impl Default for Berth {
    fn default() -> Berth {
        Berth::new()
    }
}

impl Berth {
    pub fn new() -> Berth {
        Berth {
            cwd: None,
            files: None,
            args: Vec::new(),
            env: Vec::new(),
            stdin: None,
            address_space: None,
        }
    }

    /// Caps berth's address space (RLIMIT_AS): a test of a bound on memory
    /// then fails with an allocation failure instead of exhausting the
    /// machine when the bound regresses.
    pub fn address_space_limit(mut self, bytes: u64) -> Berth {
        self.address_space = Some(bytes);
        self
    }

    pub fn current_dir(mut self, dir: impl AsRef<Path>) -> Berth {
        self.cwd = Some(dir.as_ref().to_path_buf());
        self
    }

    /// Writes `text` to `name` in a fresh directory that the command runs in
    /// (unless [`Berth::current_dir`] says otherwise) and that lasts as long
    /// as the command.
    pub fn file(mut self, name: &str, text: &str) -> Berth {
        let dir = self
            .files
            .get_or_insert_with(|| tempfile::tempdir().expect("temp dir"));
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).expect("create directory");
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        self
    }

    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Berth {
        self.args.push(arg.as_ref().to_os_string());
        self
    }

    pub fn args(mut self, args: impl IntoIterator<Item = impl AsRef<OsStr>>) -> Berth {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_os_string()));
        self
    }

    /// Sets one variable on top of the fixed environment.
    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Berth {
        self.env
            .push((key.as_ref().to_os_string(), value.as_ref().to_os_string()));
        self
    }

    pub fn stdin(mut self, text: &str) -> Berth {
        self.stdin = Some(text.to_string());
        self
    }

    /// Runs berth to the end; fails the test if it takes longer than
    /// [`BERTH_TIMEOUT`].
    pub fn run(self) -> Run {
        self.spawn().wait()
    }

    /// Starts berth without waiting for it.
    pub fn spawn(self) -> Spawned {
        let io = tempfile::tempdir().expect("temp dir");
        let out_path = io.path().join("stdout");
        let err_path = io.path().join("stderr");
        let stdin = match &self.stdin {
            Some(text) => {
                let path = io.path().join("stdin");
                std::fs::write(&path, text).expect("write stdin");
                Stdio::from(File::open(&path).expect("open stdin"))
            }
            None => Stdio::null(),
        };
        let cwd = match (&self.cwd, &self.files) {
            (Some(dir), _) => dir.clone(),
            (None, Some(files)) => files.path().to_path_buf(),
            (None, None) => std::env::current_dir().expect("current dir"),
        };
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_berth"));
        cmd.current_dir(&cwd)
            .args(&self.args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", "/home/tester")
            .env("NO_COLOR", "1")
            .env("COLUMNS", "100")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(stdin)
            .stdout(File::create(&out_path).expect("stdout file"))
            .stderr(File::create(&err_path).expect("stderr file"));
        if let Some(bytes) = self.address_space {
            use std::os::unix::process::CommandExt;
            let limit = libc::rlimit {
                rlim_cur: bytes as libc::rlim_t,
                rlim_max: bytes as libc::rlim_t,
            };
            // SAFETY: only setrlimit, which is async-signal-safe, runs
            // between fork and exec.
            unsafe {
                cmd.pre_exec(move || {
                    if libc::setrlimit(libc::RLIMIT_AS, &limit) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
        }
        let child = cmd.spawn().expect("berth starts");
        Spawned {
            child,
            argv: self
                .args
                .iter()
                .map(|a| a.to_string_lossy().into_owned())
                .collect(),
            out_path,
            err_path,
            _io: io,
            _files: self.files,
        }
    }
}

/// A berth process started with [`Berth::spawn`].
pub struct Spawned {
    child: Child,
    argv: Vec<String>,
    out_path: PathBuf,
    err_path: PathBuf,
    _io: tempfile::TempDir,
    _files: Option<tempfile::TempDir>,
}

impl Spawned {
    /// Whether berth has exited already.
    pub fn has_exited(&mut self) -> bool {
        self.child.try_wait().ok().flatten().is_some()
    }

    /// What berth has printed on stdout so far.
    pub fn stdout_so_far(&self) -> String {
        std::fs::read_to_string(&self.out_path).unwrap_or_default()
    }

    /// What berth has printed on stderr (its progress) so far.
    pub fn stderr_so_far(&self) -> String {
        std::fs::read_to_string(&self.err_path).unwrap_or_default()
    }

    /// SIGINT, as Ctrl-C in a terminal sends it.
    pub fn interrupt(&mut self) {
        // SAFETY: kill has no memory-safety preconditions; the pid is our
        // own child's, not yet reaped.
        unsafe {
            libc::kill(self.child.id() as libc::pid_t, libc::SIGINT);
        }
    }

    pub fn kill9(&mut self) {
        // SIGKILL: no chance to clean up, as after a crash or `kill -9`.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Waits for berth to exit; fails the test, with what berth printed, if
    /// that takes longer than [`BERTH_TIMEOUT`].
    pub fn wait(mut self) -> Run {
        let deadline = Instant::now() + BERTH_TIMEOUT;
        let status = loop {
            if let Some(st) = self.child.try_wait().expect("wait for berth") {
                break st;
            }
            if Instant::now() > deadline {
                self.kill9();
                panic!(
                    "berth {} did not finish within {BERTH_TIMEOUT:?}\n--- stdout\n{}\n--- stderr\n{}",
                    self.argv.join(" "),
                    self.stdout_so_far(),
                    std::fs::read_to_string(&self.err_path).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(25));
        };
        Run {
            status,
            stdout: self.stdout_so_far(),
            stderr: std::fs::read_to_string(&self.err_path).unwrap_or_default(),
            argv: std::mem::take(&mut self.argv),
        }
    }
}

/// A finished berth run. The assertions return the run, for chaining, and
/// print the whole run when they fail.
pub struct Run {
    status: ExitStatus,
    stdout: String,
    stderr: String,
    argv: Vec<String>,
}

impl Run {
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }

    pub fn succeeded(&self) -> bool {
        self.status.success()
    }

    /// The signal that ended berth, if one did.
    pub fn signal(&self) -> Option<i32> {
        std::os::unix::process::ExitStatusExt::signal(&self.status)
    }

    /// Asserts that berth died of SIGKILL (as the crash hook makes it).
    #[track_caller]
    pub fn killed(self) -> Run {
        assert_eq!(
            self.signal(),
            Some(9),
            "expected SIGKILL\n{}",
            self.describe()
        );
        self
    }

    pub fn stdout(&self) -> &str {
        &self.stdout
    }

    pub fn stderr(&self) -> &str {
        &self.stderr
    }

    /// Stdout, then stderr.
    pub fn output(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }

    fn describe(&self) -> String {
        format!(
            "berth {} exited {:?}\n--- stdout\n{}\n--- stderr\n{}",
            self.argv.join(" "),
            self.status.code(),
            self.stdout,
            self.stderr
        )
    }

    /// Asserts exit 0.
    #[track_caller]
    pub fn ok(self) -> Run {
        assert!(self.status.success(), "{}", self.describe());
        self
    }

    #[track_caller]
    pub fn code_is(self, code: i32) -> Run {
        assert_eq!(self.status.code(), Some(code), "{}", self.describe());
        self
    }

    /// Asserts a non-zero exit code (not death by a signal).
    #[track_caller]
    pub fn failed(self) -> Run {
        assert!(
            !self.status.success() && self.status.code().is_some(),
            "expected berth to fail with an exit code\n{}",
            self.describe()
        );
        self
    }

    /// Asserts the combined output contains `needle` (case-insensitive).
    #[track_caller]
    pub fn says(&self, needle: &str) -> &Run {
        assert!(
            self.output()
                .to_lowercase()
                .contains(&needle.to_lowercase()),
            "expected the output to mention {needle:?}\n{}",
            self.describe()
        );
        self
    }

    /// Asserts the combined output contains `needle` once the error
    /// renderer's wrapping is undone: its `│` gutters and line breaks are
    /// taken as spaces, and runs of spaces as one.
    #[track_caller]
    pub fn says_wrapped(&self, needle: &str) -> &Run {
        let flat = |t: &str| {
            t.replace('│', " ")
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        };
        assert!(
            flat(&self.output()).contains(&flat(needle)),
            "expected the output to mention {needle:?}\n{}",
            self.describe()
        );
        self
    }

    /// Says, in some words, that nothing changed / there is nothing to do.
    #[track_caller]
    pub fn says_nothing_changed(&self) -> &Run {
        let out = self.output().to_lowercase();
        assert!(
            [
                "no changes",
                "nothing changed",
                "nothing to do",
                "up to date",
                "up-to-date"
            ]
            .iter()
            .any(|p| out.contains(p)),
            "expected the output to say that nothing changed\n{}",
            self.describe()
        );
        self
    }
}

/// Lists the sub-directories (or files with `ext`) of a fixture folder, sorted.
pub fn cases(dir: &Path, ext: Option<&str>) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| match ext {
            None => p.is_dir(),
            Some(ext) => p.extension().is_some_and(|e| e == ext),
        })
        .collect();
    out.sort();
    out
}

/// Set BERTH_BLESS=1 to write expected outputs instead of comparing them.
pub fn bless() -> bool {
    std::env::var_os("BERTH_BLESS").is_some()
}
