//! Carrying out a plan: an event-driven walk of its steps.
