//! Plans that follow what the engine says it can do.

use super::*;
use crate::engine::facts::EngineFacts;

const WEIGHTED: &str =
    "name: io\nservices:\n  disk:\n    image: disk\n    blkio_config:\n      weight: 300\n";

/// `WEIGHTED` up, on an engine that kept `kept` as the weight, which says
/// `supported` about weights.
fn plan_with(kept: u16, supported: Option<bool>) -> Plan {
    let s = stack(WEIGHTED);
    let mut o = converged(&s);
    o.containers[0].limits.blkio_weight = kept;
    o.engine = EngineFacts {
        blkio_weight: supported,
        ..EngineFacts::default()
    };
    up(&s, &o)
}

#[test]
fn a_blkio_weight_the_engine_cannot_keep_is_not_asked_for_again() {
    assert_eq!(plan_with(0, Some(false)).to_string(), "no changes\n");
}

#[test]
fn a_blkio_weight_the_engine_keeps_is_updated_in_place_when_missing() {
    assert_eq!(
        plan_with(0, Some(true)).to_string(),
        "update io-disk-1 in place: blkio_weight unset -> 300\n"
    );
    assert_eq!(plan_with(300, Some(true)).to_string(), "no changes\n");
    assert_eq!(
        plan_with(200, Some(true)).to_string(),
        "update io-disk-1 in place: blkio_weight 200 -> 300\n"
    );
}

#[test]
fn without_the_engine_s_answer_a_weight_not_kept_is_taken_as_discarded() {
    assert_eq!(plan_with(0, None).to_string(), "no changes\n");
    assert_eq!(
        plan_with(200, None).to_string(),
        "update io-disk-1 in place: blkio_weight 200 -> 300\n"
    );
}
