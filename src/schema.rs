//! The JSON Schema of the stack file, generated from [`crate::model::raw`].
//!
//! `schema/stack.schema.json` is this output, checked in so that editors can
//! validate and complete stack files (`# yaml-language-server: $schema=...`);
//! a test fails when it is stale. Regenerate with `berth schema >
//! schema/stack.schema.json`.

use crate::model::raw::File;

pub fn generate() -> String {
    let schema = schemars::schema_for!(File);
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    #[test]
    fn checked_in_schema_is_current() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/schema/stack.schema.json");
        let checked_in = std::fs::read_to_string(path).unwrap_or_default();
        let generated = super::generate();
        if std::env::var_os("BERTH_BLESS").is_some() {
            std::fs::write(path, &generated).unwrap();
            return;
        }
        assert!(
            checked_in == generated,
            "schema/stack.schema.json is stale: run `cargo run -q -- schema > schema/stack.schema.json`"
        );
    }
}
