//! One budget for everything a load produces, in nodes and bytes.
//!
//! Each file berth reads is bounded on its own ([`super::input`], and
//! [`super::yaml::MAX_NODES`] once its aliases are expanded), but what the
//! files expand into is not: a variable referenced many times, an env file
//! whose lines each double the one before, a port range, a base that many
//! services extend, an env file that many services name, a file included
//! under many project directories. A [`Budget`] is made once per load and
//! carried through the loader with the diagnostics; every stage charges it
//! for what it produces *before* producing it, so that loading stops growing
//! the moment the budget is spent instead of allocating until the process
//! aborts.
//!
//! What is counted is the size of the model being built, in the units of
//! [`super::yaml`]'s trees: a node for each mapping, sequence, scalar and
//! key, and the bytes of their text. Each stage charges what it adds: the
//! nodes of every file parsed (or copied from the parse cache), the text an
//! interpolation adds, env-file variables, one long-form port per port of a
//! range, the copy of a base that `extends` makes, the copy of an included
//! stack. Memory freed later is not given back: the budget bounds the work of
//! a load, not only what it holds at the end.
//!
//! The first charge that goes past the budget is reported once, at the place
//! that asked for it, naming the budget and what used it up; every charge
//! after it fails too, so each stage skips its work and the load ends with
//! that error. Where it stops: it decides nothing about which files to read
//! or how; the stages that charge it do.

use std::cell::{Cell, RefCell};

use crate::diag::Diagnostic;
use crate::load::yaml::{self, Node};
use crate::source::Span;

/// The most nodes a whole load may produce: as many as one file may hold
/// once its aliases are expanded ([`super::yaml::MAX_NODES`]). The largest
/// real stacks hold a few tens of thousands; the 100,000-service dependency
/// chain of `bench/hostile.sh` holds about 700,000. Measured on a release
/// build, `berth config` takes about 300 bytes and 1.5 µs per node, all
/// stages and the printed output included (a file of 1,000,000 nodes:
/// 290 MiB, 1.6 s), so a stack at the budget stays below 512 MiB and 2 s.
pub const NODES: u64 = 1_000_000;

/// The most bytes of text a whole load may produce: four times the largest
/// stack file berth reads (16 MiB), where real stacks hold a few hundred
/// KiB at most. Measured, a stack just below it (62 values of 1 MB each)
/// takes 190 MiB and 0.4 s to print, 310 MiB with `config --swarm`.
pub const BYTES: u64 = 64 << 20;

/// How many nodes one port of a range adds to the model: its long form, a
/// mapping of mode, host_ip, target, published and protocol.
pub const PORT_NODES: u64 = 11;

/// What a load may still produce, and the error of the charge that went past
/// it. Shared by reference: every stage holds `&Budget`.
#[derive(Debug)]
pub struct Budget {
    nodes: Cell<u64>,
    bytes: Cell<u64>,
    limits: (u64, u64),
    spent: Cell<bool>,
    error: RefCell<Option<Diagnostic>>,
}

impl Default for Budget {
    fn default() -> Budget {
        Budget::new(NODES, BYTES)
    }
}

/// What a stage is about to produce.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Size {
    pub nodes: u64,
    pub bytes: u64,
}

impl Size {
    pub fn new(nodes: u64, bytes: u64) -> Size {
        Size { nodes, bytes }
    }
}

/// The size of a tree, in the budget's units.
pub(super) fn tree_size(node: &Node) -> Size {
    let s = yaml::measure(node);
    Size::new(s.nodes as u64, s.bytes as u64)
}

impl Budget {
    pub fn new(nodes: u64, bytes: u64) -> Budget {
        Budget {
            nodes: Cell::new(0),
            bytes: Cell::new(0),
            limits: (nodes, bytes),
            spent: Cell::new(false),
            error: RefCell::new(None),
        }
    }

    /// Whether a charge has gone past the budget: stages then skip their work.
    pub fn is_spent(&self) -> bool {
        self.spent.get()
    }

    /// The bytes still to spend: the most one value being built may hold.
    pub fn bytes_left(&self) -> usize {
        let left = self.limits.1.saturating_sub(self.bytes.get());
        usize::try_from(left).unwrap_or(usize::MAX)
    }

    /// Charges `size` for what is about to be produced. [`Charge::Over`]
    /// for the charge that goes past the budget (the caller reports it, see
    /// [`Exceeded::message`]), [`Charge::Spent`] for every charge after it
    /// (already reported: the caller only skips its work).
    pub fn try_charge(&self, size: Size) -> Charge {
        if self.spent.get() {
            return Charge::Spent;
        }
        let nodes = self.nodes.get().saturating_add(size.nodes);
        let bytes = self.bytes.get().saturating_add(size.bytes);
        if nodes <= self.limits.0 && bytes <= self.limits.1 {
            self.nodes.set(nodes);
            self.bytes.set(bytes);
            return Charge::Ok;
        }
        self.spent.set(true);
        Charge::Over(if nodes > self.limits.0 {
            Exceeded {
                limit: format!("{} nodes", thousands(self.limits.0)),
                before: format!("{} nodes", thousands(self.nodes.get())),
            }
        } else {
            Exceeded {
                limit: mib(self.limits.1),
                before: mib(self.bytes.get()),
            }
        })
    }

    /// Charges `size` for what is about to be produced at `at`. Returns
    /// false, and the caller produces nothing, when that goes past the
    /// budget (or it was spent before). `what` says what the thing at `at`
    /// expands to, e.g. "this port range expands to 65,535 ports"; it is
    /// called only for the charge that spends the budget, whose error the
    /// budget keeps for [`Budget::take_error`].
    pub fn charge(&self, size: Size, at: Span, what: impl FnOnce() -> String) -> bool {
        match self.try_charge(size) {
            Charge::Ok => true,
            Charge::Spent => false,
            Charge::Over(e) => {
                let d = Diagnostic::error(e.message(&what()))
                    .label(at, format!("the budget runs out here, after {}", e.before))
                    .help(HELP);
                *self.error.borrow_mut() = Some(d);
                false
            }
        }
    }

    /// The error of the charge that spent the budget, once.
    pub fn take_error(&self) -> Option<Diagnostic> {
        self.error.borrow_mut().take()
    }
}

/// What to do about a stack past the budget.
pub const HELP: &str = "berth bounds what a stack may expand into (variables, env files, port ranges, `extends`, `include`); \
     make this expand to less: a shorter value, a smaller port range, fewer copies";

/// The outcome of [`Budget::try_charge`].
#[derive(Debug)]
pub enum Charge {
    Ok,
    /// This charge spent the budget: the caller reports it.
    Over(Exceeded),
    /// An earlier charge spent the budget, and was reported.
    Spent,
}

/// The budget a charge went past, and how much of it was used before.
#[derive(Debug)]
pub struct Exceeded {
    /// `4,000,000 nodes` or `64 MiB`.
    pub limit: String,
    /// What was used before this charge, in the same unit.
    pub before: String,
}

impl Exceeded {
    /// The error's sentence, given what the charge was for.
    pub fn message(&self, what: &str) -> String {
        format!(
            "the stack expands past berth's budget of {}: {what}",
            self.limit
        )
    }
}

/// `1234567` as `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A byte count for people: `12 MiB`, `3 KiB`, `17 bytes`.
pub fn mib(bytes: u64) -> String {
    if bytes >= 1 << 20 {
        format!("{} MiB", thousands(bytes >> 20))
    } else if bytes >= 1 << 10 {
        format!("{} KiB", bytes >> 10)
    } else if bytes == 1 {
        "1 byte".to_string()
    } else {
        format!("{bytes} bytes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::FileId;

    fn at() -> Span {
        Span::new(FileId(0), 0..1)
    }

    #[test]
    fn a_charge_within_the_budget_passes_and_the_one_past_it_fails_with_the_error() {
        let b = Budget::new(10, 100);
        assert!(b.charge(Size::new(10, 100), at(), || unreachable!()));
        assert!(!b.is_spent());
        assert!(!b.charge(Size::new(1, 0), at(), || "one more".into()));
        assert!(b.is_spent());
        let e = b.take_error().unwrap();
        assert_eq!(
            e.message,
            "the stack expands past berth's budget of 10 nodes: one more"
        );
        assert!(b.take_error().is_none(), "reported once");
    }

    #[test]
    fn once_spent_every_charge_fails_even_an_empty_one() {
        let b = Budget::new(10, 1 << 20);
        assert!(!b.charge(Size::new(0, (1 << 20) + 1), at(), || "text".into()));
        assert_eq!(
            b.take_error().unwrap().message,
            "the stack expands past berth's budget of 1 MiB: text"
        );
        assert!(!b.charge(Size::default(), at(), || unreachable!()));
        assert_eq!(b.bytes_left(), 1 << 20, "a failed charge spends nothing");
    }

    #[test]
    fn numbers_are_grouped_by_thousands() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(4_294_836_225), "4,294,836,225");
    }
}
