//! Remediation (issue: `helm netaudit fix`): NetworkPolicy generation and
//! the evaluator that says which flows a set of policies allows. `run` wires
//! them into `netaudit fix` and `netaudit post-render`.

pub mod evaluate;
pub mod policy;
pub mod ports;
pub mod run;
