//! The list and mapping forms many keys share: `KEY=VALUE` lists or
//! mappings (labels, environment, sysctls, args), one string or many, and
//! plain lists; with the error for an entry whose name is empty. They only
//! reshape what was written: what an entry means is for the key's resolver.

use indexmap::IndexMap;

use crate::load::resolve::context::Context;
use crate::model::raw::{self, Text};
use crate::source::Span;

pub(super) fn texts(v: &Option<Vec<Text>>) -> Vec<String> {
    v.iter().flatten().map(|t| t.0.clone()).collect()
}

pub(super) fn strings(v: &Option<Vec<String>>) -> Vec<String> {
    v.clone().unwrap_or_default()
}

pub(super) fn one_or_many(v: Option<&raw::OneOrMany>) -> Vec<String> {
    spanned_list(v, Span::default())
        .into_iter()
        .map(|(s, _)| s)
        .collect()
}

/// The strings of a one-or-many value, each with where it was written (the
/// whole value's span for a single string).
pub(super) fn spanned_list(v: Option<&raw::OneOrMany>, whole: Span) -> Vec<(String, Span)> {
    match v {
        None => Vec::new(),
        Some(raw::OneOrMany::One(s)) => vec![(s.clone(), whole)],
        Some(raw::OneOrMany::Many(v)) => v.iter().map(|t| (t.value.0.clone(), t.span)).collect(),
    }
}

/// `KEY=VALUE` lists and mappings to one mapping. `KEY` alone has no value.
pub(super) fn list_or_dict(
    v: &Option<raw::ListOrDict>,
    sep: char,
) -> IndexMap<String, Option<String>> {
    let mut out = IndexMap::new();
    match v {
        None => {}
        Some(raw::ListOrDict::Dict(d)) => {
            for (k, v) in d {
                out.insert(k.value.clone(), v.as_ref().map(|t| t.0.clone()));
            }
        }
        Some(raw::ListOrDict::List(l)) => {
            for item in l {
                match item.value.0.split_once(sep) {
                    Some((k, v)) => out.insert(k.to_string(), Some(v.to_string())),
                    None => out.insert(item.value.0.clone(), None),
                };
            }
        }
    }
    out
}

/// Like [`list_or_dict`], for keys where a missing value means the empty string.
pub(super) fn labels(v: &Option<raw::ListOrDict>) -> IndexMap<String, String> {
    list_or_dict(v, '=')
        .into_iter()
        .map(|(k, v)| (k, v.unwrap_or_default()))
        .collect()
}

/// Reports every entry of a `KEY=VALUE` list or mapping whose name is empty
/// (`"": x`, `=x`): the engine has no use for a nameless label or sysctl,
/// and compose's schema refuses the mapping form.
pub(super) fn empty_names(cx: &mut Context, v: &Option<raw::ListOrDict>, key: &str) {
    let spans: Vec<Span> = match v {
        None => Vec::new(),
        Some(raw::ListOrDict::Dict(d)) => d
            .keys()
            .filter(|k| k.value.trim().is_empty())
            .map(|k| k.span)
            .collect(),
        Some(raw::ListOrDict::List(l)) => l
            .iter()
            .filter(|i| i.value.0.split('=').next().unwrap_or("").trim().is_empty())
            .map(|i| i.span)
            .collect(),
    };
    for span in spans {
        cx.error(
            span,
            format!("an entry of `{key}` has an empty name"),
            "no name",
            format!("give each entry of `{key}` a name: `name: value` or `name=value`"),
        );
    }
}

pub(super) fn text_map(v: &Option<IndexMap<String, Text>>) -> IndexMap<String, String> {
    v.iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.0.clone()))
        .collect()
}
