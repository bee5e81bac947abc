//! The stack model: what the user wrote ([`raw`]) and what berth acts on ([`stack`]).
//!
//! `raw` mirrors the YAML, short and long syntax alike, and is what the JSON Schema
//! is generated from. `stack` is the validated, normalised form: long syntax only,
//! sizes in bytes, durations parsed, paths absolute. `load` turns one into the other.
//! [`units`] reads and prints Docker's sizes and Go's durations and numbers.

pub mod develop;
pub mod raw;
pub mod stack;
pub mod units;

use indexmap::IndexMap;

use crate::source::Span;

/// A map keyed by name, in the order the names were written.
pub type Map<V> = IndexMap<String, V>;

/// For `skip_serializing_if`: compose leaves a `false` out.
fn is_false(b: &bool) -> bool {
    !*b
}

/// A value and where in the stack files it was written.
#[derive(Debug, Clone)]
pub struct Spanned<T> {
    pub span: Span,
    pub value: T,
}

impl<T> Spanned<T> {
    #[cfg(test)]
    pub fn new(value: T, span: Span) -> Spanned<T> {
        Spanned { span, value }
    }
}

// Equality and hashing look at the value only, so that spanned names can key maps.
impl<T: Eq> Eq for Spanned<T> {}

impl<T: std::hash::Hash> std::hash::Hash for Spanned<T> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.value.hash(state);
    }
}

impl<T> std::borrow::Borrow<T> for Spanned<T> {
    fn borrow(&self) -> &T {
        &self.value
    }
}

impl<T> std::ops::Deref for Spanned<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T: PartialEq> PartialEq for Spanned<T> {
    fn eq(&self, other: &Self) -> bool {
        self.value == other.value
    }
}

impl<T: schemars::JsonSchema> schemars::JsonSchema for Spanned<T> {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> std::borrow::Cow<'static, str> {
        T::schema_name()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        generator.subschema_for::<T>()
    }
}
