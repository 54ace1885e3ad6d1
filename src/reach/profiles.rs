//! Egress sides that say the same thing.
//!
//! Whether a source's egress side lets it out to a destination depends on
//! the policies that select it only through what they say: their kind,
//! order, namespace and rules, in the order the evaluator reads them (by
//! order, then name). Their names only name the answer. Clusters write
//! the same egress rules for many workloads ("DNS, and the database of the
//! team"), one policy each, so the sources whose egress policies say the
//! same thing share one profile, and "may it go out to this destination
//! class on this port?" is answered once per profile, not once per class
//! of source.
//!
//! A side whose answer could carry a note (something not evaluated, a
//! Calico `services` peer, a rule on the policy's own endpoint, pods of
//! one workload that different policies select) names its policies in the
//! note, or depends on the source itself: it has no profile, and is
//! decided per class as before.

use super::classes::ClassId;
use super::evaluate::{calico_order, Direction, Evaluator, Notes, Ports};
use crate::model::hasher::FastMap;
use crate::model::{Flavor, Policy, PolicyRule, Side};
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, OnceLock};

/// A profile id; [`OPEN`] is the side no policy restricts.
type ProfileId = u32;
const OPEN: ProfileId = 0;

/// The egress profiles of the egress classes.
pub(super) struct Profiles {
    /// Each source class's profile (its egress class's), when it has one.
    of_source: Vec<Option<ProfileId>>,
    /// A workload of each profile (positions in the index).
    representative: Vec<usize>,
}

/// What an egress side says, its policies' names left out.
#[derive(PartialEq, Eq, Hash)]
struct Said<'e> {
    policies: Vec<(Flavor, Option<u64>, &'e str, Content<'e>)>,
}

/// A side's rules as they decide (where they start in the input left out).
struct Content<'e>(&'e Side);

impl PartialEq for Content<'_> {
    fn eq(&self, other: &Self) -> bool {
        let same = |a: &PolicyRule, b: &PolicyRule| {
            (a.action, &a.peers, &a.ports, &a.unevaluated, &a.local, &a.not_ports)
                == (b.action, &b.peers, &b.ports, &b.unevaluated, &b.local, &b.not_ports)
        };
        self.0.isolates == other.0.isolates
            && self.0.rules.len() == other.0.rules.len()
            && self.0.rules.iter().zip(&other.0.rules).all(|(a, b)| same(a, b))
    }
}

impl Eq for Content<'_> {}

impl Hash for Content<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.isolates.hash(state);
        for rule in &self.0.rules {
            (
                rule.action,
                &rule.peers,
                &rule.ports,
                &rule.unevaluated,
                &rule.local,
                &rule.not_ports,
            )
                .hash(state);
        }
    }
}

/// Can a rule's answer carry a note, or depend on the source itself?
fn may_note(rule: &PolicyRule) -> bool {
    rule.names_service() || rule.unevaluated.is_some() || rule.local.is_some()
}

/// Which source classes may go out to one destination port: each
/// profile asked once.
pub struct LetsOutTo<'v, 'e, 'a> {
    eval: &'v Evaluator<'e, 'a>,
    profiles: &'v Profiles,
    dest: usize,
    ports: Ports,
    /// Per profile: not asked yet, or whether it may.
    known: Vec<Option<bool>>,
}

impl LetsOutTo<'_, '_, '_> {
    /// May the source class `class` go out there? `Some` with what the
    /// answer rests on that is not evaluated; `None`: its egress policies
    /// deny it. (Which policies let it out: [`Evaluator::egress_decision`].)
    pub fn from(&mut self, class: ClassId) -> Option<Arc<Notes>> {
        static NONE: OnceLock<Arc<Notes>> = OnceLock::new();
        let none = || NONE.get_or_init(Arc::default).clone();
        let eval = self.eval;
        let Some(profile) = self.profiles.of_source[class as usize] else {
            let source = eval.classes().source.representative(class);
            let decision = eval.egress_decision(source, self.dest, self.ports);
            decision.allowed.as_ref()?;
            return Some(match decision.notes.0.is_empty() {
                true => none(),
                false => Arc::new(decision.notes.clone()),
            });
        };
        if profile == OPEN {
            return Some(none());
        }
        let known = &mut self.known[profile as usize];
        let allowed = *known.get_or_insert_with(|| eval.profile_lets_out(profile, self.dest, self.ports));
        allowed.then(none)
    }
}

impl<'e, 'a> Evaluator<'e, 'a> {
    /// Ask which source classes may go out to the workload at `dest` on `ports`.
    pub fn lets_out_to(&self, dest: usize, ports: Ports) -> LetsOutTo<'_, 'e, 'a> {
        LetsOutTo {
            eval: self,
            profiles: self.profiles(),
            dest,
            ports,
            known: vec![None; self.profiles().representative.len()],
        }
    }

    /// May sources of `profile` go out to the workload at `dest` on
    /// `ports`? Decided once per destination class.
    fn profile_lets_out(&self, profile: ProfileId, dest: usize, ports: Ports) -> bool {
        let key = (profile, self.classes().target.of[dest], ports);
        if let Some(&allowed) = self.cache_of_profiles().get(&key) {
            return allowed;
        }
        let representative = self.profiles().representative[profile as usize];
        let allowed = self.egress_decision(representative, dest, ports).allowed.is_some();
        self.cache_of_profiles().insert(key, allowed);
        allowed
    }

    fn cache_of_profiles(&self) -> std::sync::MutexGuard<'_, ProfileAnswers> {
        self.profile_answers.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The egress profiles, computed once.
    fn profiles(&self) -> &Profiles {
        self.profiles.get_or_init(|| {
            let egress = &self.classes().egress;
            let mut ids: HashMap<Said<'e>, ProfileId> = HashMap::new();
            let mut representative = vec![usize::MAX];
            let mut of_class = Vec::with_capacity(egress.len());
            for class in 0..egress.len() as ClassId {
                let workload = egress.representative(class);
                let said = match self.singletons {
                    true => None,
                    false => self.said(workload),
                };
                let profile = said.map(|said| match said.policies.is_empty() {
                    true => OPEN,
                    false => *ids.entry(said).or_insert_with(|| {
                        representative.push(workload);
                        (representative.len() - 1) as ProfileId
                    }),
                });
                of_class.push(profile);
            }
            let classes = self.classes();
            let of_source = (0..classes.source.len() as ClassId)
                .map(|c| of_class[classes.egress.of[classes.source.representative(c)] as usize])
                .collect();
            Profiles {
                of_source,
                representative,
            }
        })
    }

    /// What the egress side of the workload at `position` says; `None`
    /// when its answers could carry a note.
    fn said(&self, position: usize) -> Option<Said<'e>> {
        let groups = self.groups_of(&self.workloads[position], Direction::Egress);
        let [group] = &groups[..] else {
            return None;
        };
        if group.pods.is_some() {
            return None;
        }
        let mut selecting: Vec<(&'e Policy<'a>, &'e Side)> = group.selecting.clone();
        if selecting
            .iter()
            .any(|(p, side)| !p.unevaluated.is_empty() || side.rules.iter().any(may_note))
        {
            return None;
        }
        selecting.sort_by(|(a, _), (b, _)| {
            calico_order(a)
                .total_cmp(&calico_order(b))
                .then_with(|| a.obj.name.cmp(&b.obj.name))
        });
        Some(Said {
            policies: selecting
                .into_iter()
                .map(|(p, side)| {
                    (
                        p.flavor,
                        p.order.map(f64::to_bits),
                        p.obj.namespace.as_str(),
                        Content(side),
                    )
                })
                .collect(),
        })
    }
}

/// Answers per (profile, target class, ports).
pub(super) type ProfileAnswers = FastMap<(ProfileId, ClassId, Ports), bool>;
