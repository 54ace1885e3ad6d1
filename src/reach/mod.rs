//! Reachability under network policies, the one engine every question
//! asks: which connections the Kubernetes, Cilium and Calico policies of
//! the audited input (and the admin and baseline tiers around them) let
//! through ([`evaluate`]), who can reach a finding's ports ([`exposure`]),
//! the per-port source matrix of `netaudit reach` ([`matrix`]), and for
//! `fix` the flows a policy set allows and whether it lets the flows an
//! application needs ([`need`]) through ([`flows`]).

mod admitted;
pub mod classes;
pub mod evaluate;
pub mod exposure;
pub mod flows;
pub mod grouped;
pub mod matrix;
pub mod need;
mod peers;
mod profiles;
mod tiers;

pub use classes::Classes;
pub use evaluate::{Decision, Direction, Evaluator, Lean, Notes, Party, Ports, Traffic};
pub use exposure::exposure;

#[cfg(test)]
mod tests;
