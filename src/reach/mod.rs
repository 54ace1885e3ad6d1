//! Reachability under network policies: which connections the
//! Kubernetes, Cilium and Calico policies of the audited input (and the
//! admin and baseline tiers around them) let through
//! ([`evaluate`]), who can reach a finding's ports ([`exposure`]), and the
//! per-port source matrix of `netaudit reach` ([`matrix`]).

mod admitted;
pub mod classes;
pub mod evaluate;
pub mod exposure;
pub mod grouped;
pub mod matrix;
mod peers;
mod profiles;
mod tiers;

pub use classes::Classes;
pub use evaluate::{Decision, Direction, Evaluator, Lean, Notes, Party, Ports, Traffic};
pub use exposure::exposure;

#[cfg(test)]
mod tests;
