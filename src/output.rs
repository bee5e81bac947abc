//! Printing the stack for people and programs: the canonical JSON that
//! `docker compose config` prints, and YAML of the same.

use serde_json::Value;

use crate::model::stack::Stack;

/// The stack as compose prints it. Strings have `$` doubled, as compose does,
/// so that the output can be read back without interpolating anything twice.
pub fn canonical_json(stack: &Stack) -> Value {
    let mut v = serde_json::to_value(stack).unwrap_or(Value::Null);
    escape_dollars(&mut v);
    v
}

fn escape_dollars(v: &mut Value) {
    match v {
        Value::String(s) if s.contains('$') => *s = s.replace('$', "$$"),
        Value::Array(a) => a.iter_mut().for_each(escape_dollars),
        Value::Object(o) => o.values_mut().for_each(escape_dollars),
        _ => {}
    }
}

/// YAML of a JSON value; `null` commands and entrypoints are left out, as
/// compose's YAML output does.
pub fn to_yaml(v: &Value) -> String {
    let mut v = v.clone();
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
