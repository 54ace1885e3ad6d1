//! Remediation (issue: `helm netaudit fix`): NetworkPolicy generation and
//! the evaluator that says which flows a set of policies allows. Library
//! code only so far; the `fix` command is not wired yet.

pub mod evaluate;
pub mod policy;
