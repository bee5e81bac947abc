//! The stack printed for `berth config`: the canonical JSON that
//! `docker compose config` prints, and YAML of the same.

use std::io::Write;

use serde_json::Value;

use crate::model::stack::Stack;

/// The stack as compose prints it. Strings have `$` doubled, as compose does,
/// so that the output can be read back without interpolating anything twice.
#[cfg(test)]
pub fn canonical_json(stack: &Stack) -> Value {
    let mut v = serde_json::to_value(stack).unwrap_or(Value::Null);
    escape_dollars(&mut v);
    v
}

#[cfg(test)]
fn escape_dollars(v: &mut Value) {
    match v {
        Value::String(s) if s.contains('$') => *s = s.replace('$', "$$"),
        Value::Array(a) => a.iter_mut().for_each(escape_dollars),
        Value::Object(o) => o.values_mut().for_each(escape_dollars),
        _ => {}
    }
}

/// YAML of a JSON value; `null` commands and entrypoints are left out, as
/// compose's YAML output does. Takes the value: a copy of a large stack's
/// tree would be the largest thing `berth config` holds.
pub fn to_yaml(mut v: Value) -> String {
    if let Some(services) = v.get_mut("services").and_then(Value::as_object_mut) {
        for svc in services.values_mut() {
            if let Some(o) = svc.as_object_mut() {
                o.retain(|k, val| {
                    !(matches!(k.as_str(), "command" | "entrypoint") && val.is_null())
                });
            }
        }
    }
    serde_saphyr::to_string(&v).unwrap_or_default()
}

/// Writes the canonical JSON straight from the stack, without building a
/// JSON tree first: for a large stack that tree would be the largest thing
/// berth ever holds. `$` is doubled on the way out, as [`canonical_json`] does.
pub fn write_json(stack: &Stack, out: impl Write) -> std::io::Result<()> {
    let mut w = DollarEscaper(std::io::BufWriter::with_capacity(1 << 16, out));
    serde_json::to_writer_pretty(&mut w, stack)?;
    w.0.write_all(b"\n")?;
    w.0.flush()
}

/// Writes the stack as YAML straight from the model, as [`write_json`] does
/// JSON: building the JSON tree first and printing that took a third of
/// `berth config`'s time and memory on a 100,000-service file. `$` is
/// doubled on the way out, and a `null` command or entrypoint is left out,
/// as compose's YAML output does ([`crate::model::stack::omitting_null_commands`]).
pub fn write_yaml(stack: &Stack, out: impl Write) -> std::io::Result<()> {
    let mut w = DollarEscaper(std::io::BufWriter::with_capacity(1 << 16, out));
    crate::model::stack::omitting_null_commands(|| serde_saphyr::to_io_writer(&mut w, stack))
        .map_err(std::io::Error::other)?;
    w.0.flush()
}

/// In JSON text a `$` can only stand inside a string, so doubling it in the
/// byte stream is the same as doubling it in every string.
struct DollarEscaper<W: std::io::Write>(W);

impl<W: std::io::Write> std::io::Write for DollarEscaper<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut rest = buf;
        while let Some(i) = rest.iter().position(|&b| b == b'$') {
            self.0.write_all(&rest[..i])?;
            self.0.write_all(b"$$")?;
            rest = &rest[i + 1..];
        }
        self.0.write_all(rest)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streamed_json_equals_the_json_tree() {
        let stack = crate::testutil::stack(
            "services:\n  web:\n    image: a$$b\n    environment: {GREETING: hi}\n    \
             ports: ['8080:80']\n    volumes: [data:/data]\n    depends_on: [db]\n  \
             db:\n    image: db\nvolumes:\n  data: {}\n",
        );
        let mut out = Vec::new();
        write_json(&stack, &mut out).unwrap();
        let streamed: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(streamed, canonical_json(&stack));
        assert!(String::from_utf8(out).unwrap().contains("\"a$$b\""));
    }

    #[test]
    fn streamed_yaml_equals_the_yaml_of_the_json_tree() {
        let stack = crate::testutil::stack(
            "services:\n  web:\n    image: a$$b\n    environment: {GREETING: hi, N: 0012}\n    \
             ports: ['8080:80']\n    volumes: [data:/data]\n    depends_on: [db]\n    \
             restart: on-failure:3\n    healthcheck: {test: [CMD, 'true'], interval: 5s}\n  \
             db:\n    image: db\n    command: [run]\nvolumes:\n  data: {}\n",
        );
        let mut out = Vec::new();
        write_yaml(&stack, &mut out).unwrap();
        let streamed = String::from_utf8(out).unwrap();
        assert_eq!(streamed, to_yaml(canonical_json(&stack)));
        assert!(!streamed.contains("command: null"), "{streamed}");
        assert!(streamed.contains("a$$b"), "{streamed}");
    }
}
