//! The lines `berth logs` prints: the engine's log stream cut into whole
//! lines, a line's timestamp (and, in a service's log, its task) split off,
//! and the `service-n | ` prefix put before it, padded to one width and
//! coloured per service as compose colours them.

use bollard::container::LogOutput;

/// How each line is prefixed: `service-n` padded to `width`, coloured when
/// `color`.
#[derive(Debug, Clone)]
pub struct Prefixer {
    pub width: usize,
    pub color: bool,
    /// The services in the order they take the palette's colours; one not
    /// among them gets a colour by its name.
    pub services: Vec<String>,
}

/// Colours for the prefixes, as compose picks them: one per service, in
/// turn.
const PALETTE: [&str; 6] = ["36", "33", "32", "35", "34", "31"];

impl Prefixer {
    /// `service-number`, as a container's lines are prefixed.
    pub fn prefix(&self, service: &str, number: u32) -> String {
        self.labelled(service, &format!("{service}-{number}"))
    }

    /// `label` padded, in `service`'s colour.
    pub fn labelled(&self, service: &str, label: &str) -> String {
        let padded = format!("{label:<w$} | ", w = self.width);
        if !self.color {
            return padded;
        }
        let index = self
            .services
            .iter()
            .position(|s| s == service)
            .unwrap_or_else(|| service.bytes().map(usize::from).sum());
        format!("\x1b[{}m{padded}\x1b[0m", PALETTE[index % PALETTE.len()])
    }
}

/// One line as `berth logs` prints it: the prefix, the engine's timestamp
/// when it is shown, the message and a line end.
pub fn framed(prefix: &str, stamp: Option<&str>, message: &str) -> String {
    match stamp {
        Some(stamp) => format!("{prefix}{stamp} {message}\n"),
        None => format!("{prefix}{message}\n"),
    }
}

/// A log stream's chunks cut into whole lines, stdout and stderr apart.
#[derive(Debug, Default)]
pub struct Lines {
    out: Vec<u8>,
    err: Vec<u8>,
}

impl Lines {
    /// The lines `chunk` completes, without their line ends.
    pub fn push(&mut self, chunk: LogOutput) -> Vec<Vec<u8>> {
        let (buf, bytes) = match chunk {
            LogOutput::StdErr { message } => (&mut self.err, message),
            LogOutput::StdOut { message }
            | LogOutput::Console { message }
            | LogOutput::StdIn { message } => (&mut self.out, message),
        };
        buf.extend_from_slice(&bytes);
        let mut lines = Vec::new();
        while let Some(at) = buf.iter().position(|&b| b == b'\n') {
            let mut line: Vec<u8> = buf.drain(..=at).collect();
            line.pop();
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            lines.push(line);
        }
        lines
    }

    /// What is left when the stream ends: a last line without a line end.
    pub fn rest(self) -> Vec<Vec<u8>> {
        [self.out, self.err]
            .into_iter()
            .filter(|b| !b.is_empty())
            .collect()
    }
}

/// The engine's `2024-05-01T10:11:12.123456789Z ` at the start of a line,
/// and the rest.
pub fn split_timestamp(line: &str) -> (Option<&str>, &str) {
    match line.split_once(' ') {
        Some((stamp, rest)) if stamp.len() >= 20 && stamp.ends_with('Z') && stamp.contains('T') => {
            (Some(stamp), rest)
        }
        _ => (None, line),
    }
}

/// A timestamp that sorts as text: the fraction padded to nine digits (the
/// engine drops trailing zeros).
pub fn timestamp_key(stamp: &str) -> String {
    let stamp = stamp.trim_end_matches('Z');
    let (whole, frac) = stamp.split_once('.').unwrap_or((stamp, ""));
    format!("{whole}.{frac:0<9}Z")
}

/// A service log line's details (`com.docker.swarm.node.id=..,
/// com.docker.swarm.service.id=..,com.docker.swarm.task.id=..`) split off:
/// the task id, and the line proper.
pub fn split_details(line: &str) -> (Option<&str>, &str) {
    let (details, rest) = line.split_once(' ').unwrap_or((line, ""));
    let task = details
        .split(',')
        .find_map(|kv| kv.strip_prefix("com.docker.swarm.task.id="));
    match task {
        Some(task) => (Some(task), rest),
        None => (None, line),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::clock::timestamp_secs;

    #[test]
    fn prefixes_are_padded_to_a_common_width_and_plain_without_colour() {
        let p = Prefixer {
            width: 6,
            color: false,
            services: vec!["db".into(), "web".into()],
        };
        assert_eq!(p.prefix("db", 1), "db-1   | ");
        assert_eq!(p.prefix("web", 12), "web-12 | ");
    }

    #[test]
    fn coloured_prefixes_differ_per_service() {
        let p = Prefixer {
            width: 5,
            color: true,
            services: vec!["db".into(), "web".into()],
        };
        assert_eq!(p.prefix("db", 1), "\x1b[36mdb-1  | \x1b[0m");
        assert_eq!(p.prefix("web", 1), "\x1b[33mweb-1 | \x1b[0m");
    }

    #[test]
    fn timestamps_are_split_off_and_compare_as_text() {
        let line = "2024-05-01T10:11:12.5Z hello world";
        assert_eq!(
            split_timestamp(line),
            (Some("2024-05-01T10:11:12.5Z"), "hello world")
        );
        assert_eq!(split_timestamp("no stamp here"), (None, "no stamp here"));
        assert!(
            timestamp_key("2024-05-01T10:11:12.5Z") > timestamp_key("2024-05-01T10:11:12.123Z")
        );
        assert_eq!(timestamp_secs("1970-01-02T00:00:01.9Z"), Some(86401));
    }

    #[test]
    fn service_log_details_name_the_task() {
        let line = "com.docker.swarm.node.id=n1,com.docker.swarm.service.id=s1,\
                    com.docker.swarm.task.id=t1 hello world";
        assert_eq!(split_details(line), (Some("t1"), "hello world"));
        assert_eq!(
            split_details("com.docker.swarm.task.id=t1"),
            (Some("t1"), "")
        );
        assert_eq!(split_details("plain line"), (None, "plain line"));
    }

    #[test]
    fn chunks_are_cut_into_lines_per_stream() {
        let mut lines = Lines::default();
        let out = |s: &str| LogOutput::StdOut {
            message: s.as_bytes().to_vec().into(),
        };
        assert!(lines.push(out("par")).is_empty());
        assert_eq!(
            lines.push(LogOutput::StdErr {
                message: b"err\r\n".to_vec().into()
            }),
            [b"err".to_vec()]
        );
        assert_eq!(
            lines.push(out("tial\nnext\nla")),
            [b"partial".to_vec(), b"next".to_vec()]
        );
        assert_eq!(lines.rest(), [b"la".to_vec()]);
    }
    #[test]
    fn a_line_is_framed_with_its_prefix_and_the_timestamp_if_shown() {
        assert_eq!(framed("db-1 | ", None, "ready"), "db-1 | ready\n");
        assert_eq!(
            framed("db-1 | ", Some("2024-05-01T10:11:12.5Z"), "ready"),
            "db-1 | 2024-05-01T10:11:12.5Z ready\n"
        );
    }
}
