//! The tiers of the cluster-wide policy API (`policy.networking.k8s.io`)
//! around the NetworkPolicy tier, as its API reference orders them:
//!
//! 1. The admin tier (AdminNetworkPolicy, ClusterNetworkPolicy
//!    `tier: Admin`), by priority (lower first; equal priorities by name,
//!    where the API leaves the order to the implementation), then rule by
//!    rule: the first rule that matches decides. Allow lets the connection
//!    through, whatever the NetworkPolicies say; Deny drops it; Pass skips
//!    the rest of the tier. No matching rule: on to the next tier (these
//!    policies do not isolate).
//! 2. The NetworkPolicy tier (Kubernetes, Cilium, Calico: what
//!    [`Evaluator::decide_network_policies`] answers). When a policy of it
//!    isolates the pod in that direction, its answer is final.
//! 3. Otherwise the baseline tier (the BaselineAdminNetworkPolicy
//!    `default`, ClusterNetworkPolicy `tier: Baseline`) the same way: Allow,
//!    Deny, and Pass or no match on to the default, which allows.

use super::evaluate::{Evaluator, Notes, Party, Traffic};
use crate::model::{Action, Flavor, Policy, Side, Workload};

/// What a tier's first matching rule says.
enum Verdict {
    /// Let through, by this policy.
    Allow(String),
    Deny,
    /// On to the next tier: a Pass, or no rule matched.
    Next,
}

impl Evaluator<'_, '_> {
    /// One side's answer for pods of `local`, given the policies that
    /// select them on that side (as [`Evaluator::pod_groups`] lists them:
    /// callers that ask about many peers for one destination compute that
    /// list once), through the three tiers.
    #[inline]
    pub fn decide(
        &self,
        local: &Workload<'_>,
        selecting: &[(&Policy<'_>, &Side)],
        peer: Party<'_, '_>,
        traffic: &Traffic<'_, '_>,
        notes: &mut Notes,
    ) -> Option<Vec<String>> {
        if !selecting.iter().any(|(p, _)| p.flavor.is_admin_or_baseline()) {
            return self.decide_network_policies(local, selecting, peer, traffic, notes);
        }
        match self.first_match(local, &tier(selecting, Flavor::Admin), peer, traffic, notes) {
            Verdict::Allow(policy) => return Some(vec![policy]),
            Verdict::Deny => return None,
            Verdict::Next => {}
        }
        let network_policies: Vec<(&Policy<'_>, &Side)> = selecting
            .iter()
            .filter(|(p, _)| !p.flavor.is_admin_or_baseline())
            .copied()
            .collect();
        let answer = self.decide_network_policies(local, &network_policies, peer, traffic, notes);
        if network_policies.iter().any(|(_, side)| side.isolates) {
            return answer;
        }
        // Not isolated, yet denied: a Cilium deny rule.
        let permitting = answer?;
        match self.first_match(local, &tier(selecting, Flavor::Baseline), peer, traffic, notes) {
            Verdict::Allow(policy) => Some(vec![policy]),
            Verdict::Deny => None,
            Verdict::Next => Some(permitting),
        }
    }

    /// The first rule of `tier` (in order) that matches decides.
    fn first_match(
        &self,
        local: &Workload<'_>,
        tier: &[(&Policy<'_>, &Side)],
        peer: Party<'_, '_>,
        traffic: &Traffic<'_, '_>,
        notes: &mut Notes,
    ) -> Verdict {
        // A Pass that matches only some of a party that stands for many
        // hands those on; the rest go on through the tier, and a later
        // Deny no longer stops all of it.
        let mut passed_some = false;
        for (policy, side) in tier {
            for rule in &side.rules {
                if !self.rule_matches(policy, rule, local, peer, traffic, notes) {
                    continue;
                }
                match rule.action {
                    Action::Allow => return Verdict::Allow(policy.label()),
                    Action::Deny if passed_some => return Verdict::Next,
                    Action::Deny => return Verdict::Deny,
                    Action::Pass if self.rule_matches_as(policy, rule, true, local, peer, traffic, notes) => {
                        return Verdict::Next
                    }
                    Action::Pass => passed_some = true,
                    Action::Log => {}
                }
            }
        }
        Verdict::Next
    }
}

/// The policies of one tier, in the order they apply: priority (a
/// BaselineAdminNetworkPolicy, which has none, last), then name.
fn tier<'s, 'p>(selecting: &[(&'s Policy<'p>, &'s Side)], flavor: Flavor) -> Vec<(&'s Policy<'p>, &'s Side)> {
    let mut tier: Vec<_> = selecting.iter().filter(|(p, _)| p.flavor == flavor).copied().collect();
    tier.sort_by(|(a, _), (b, _)| {
        let priority = |p: &Policy<'_>| p.order.unwrap_or(f64::INFINITY);
        priority(a)
            .total_cmp(&priority(b))
            .then_with(|| a.obj.name.cmp(&b.obj.name))
    });
    tier
}
