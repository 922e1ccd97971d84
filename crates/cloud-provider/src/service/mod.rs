//! Service decisions.

pub mod predicates;
