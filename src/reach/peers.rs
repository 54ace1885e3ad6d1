//! Does a policy's peer match the other end of a connection (a `Party`)?
//! Some of it (`peer_matches`: what an allow asks), or all of it
//! (`covers_all`: what a deny asks, and a negation). What cannot be known
//! is taken as matching: the rule carries a note and the evaluator's lean
//! decides.

use super::evaluate::{Evaluator, Party, Ports, Traffic};
use crate::model::policy::calico_selector::Expr;
use crate::model::policy::API_SERVER_SERVICE;
use crate::model::selector::CALICO_NAME;
use crate::model::{Entity, Matcher, Namespaces, PodPick, Policy, PolicyPeer, PolicyRule, Service, Workload};

impl<'e, 'a> Evaluator<'e, 'a> {
    /// The Service of the input a Calico `services` peer names.
    fn service(&self, namespace: &str, name: &str) -> Option<&'e Service<'a>> {
        self.services
            .iter()
            .find(|s| s.obj.namespace == namespace && s.obj.name == name)
    }

    /// The `services` peers of a rule whose endpoints are not known: a
    /// Service not in the input (other than the API server's), one that
    /// selects nothing, and the API server's when the other end is
    /// anything outside the audited pods (of which it is only a part).
    pub(super) fn unknown_services(&self, rule: &PolicyRule, party: Party<'_, '_>) -> Vec<String> {
        let mut unknown = Vec::new();
        let mut visit = |peer: &PolicyPeer| {
            peer.each(&mut |p| {
                if let PolicyPeer::Service { namespace, name } = p {
                    if (namespace.as_str(), name.as_str()) == API_SERVER_SERVICE {
                        if matches!(party, Party::Outside | Party::Node) {
                            unknown.push(format!(
                                "`services` {namespace}/{name} (the API server: whether it is the other end is not known)"
                            ));
                        }
                        return;
                    }
                    match self.service(namespace, name) {
                        None => unknown.push(format!(
                            "`services` {namespace}/{name} (not in the input: its endpoints are not known)"
                        )),
                        Some(service) if service.selector.is_none() => unknown.push(format!(
                            "`services` {namespace}/{name} (no selector: its endpoints are not known)"
                        )),
                        Some(_) => {}
                    }
                }
            })
        };
        rule.peers.iter().flatten().for_each(&mut visit);
        rule.local.iter().for_each(&mut visit);
        unknown
    }

    /// May `spec` match some of `party` (a pod of a workload: some of its
    /// pods)? What cannot be known is taken as matching: the rule then
    /// carries a note, and the lean decides (`rule_matches`).
    pub(super) fn peer_matches(
        &self,
        policy: &Policy<'_>,
        spec: &PolicyPeer,
        peer: Party<'_, '_>,
        traffic: &Traffic<'_, '_>,
    ) -> bool {
        match (spec, peer) {
            (spec, party) if names_exactly(policy, spec, party) => true,
            (PolicyPeer::AllOf(all), peer) => all.iter().all(|s| self.peer_matches(policy, s, peer, traffic)),
            (PolicyPeer::AnyOf(any), peer) => any.iter().any(|s| self.peer_matches(policy, s, peer, traffic)),
            // Some of it escapes `inner` unless `inner` matches all of it.
            (PolicyPeer::Not(inner), peer) => !self.covers_all(policy, inner, peer, traffic),
            // Some outside address may be one the names resolve to.
            (PolicyPeer::Hosts(names), peer) => match peer {
                Party::Host(host) => names.iter().any(|n| n.matches(host)),
                Party::External | Party::Outside => true,
                _ => false,
            },
            // Any other peer takes a host for an outside address.
            (spec, Party::Host(_)) => self.peer_matches(policy, spec, Party::External, traffic),
            (PolicyPeer::Service { namespace, name }, peer) => {
                self.service_matches(namespace, name, peer, traffic, false)
            }
            (
                PolicyPeer::ServiceAccounts {
                    namespaces,
                    names,
                    selector,
                },
                Party::Pod(workload),
            ) => {
                let account = workload.service_account();
                namespace_matches(namespaces, policy, workload)
                    && names.as_ref().is_none_or(|n| n.iter().any(|n| n == account))
                    && selector.as_ref().is_none_or(|m| account_selector_may_match(m, account))
            }
            (PolicyPeer::ServiceAccounts { namespaces, .. }, Party::Outside) => match namespaces {
                Namespaces::Own => false,
                Namespaces::Selected(matcher) => matcher.may_match_other_namespace(&self.audited),
            },
            // An arbitrary pod runs under an account no policy names.
            (PolicyPeer::ServiceAccounts { .. }, _) => false,
            (PolicyPeer::Pods { namespaces, pods }, Party::Pod(workload)) => {
                namespace_matches(namespaces, policy, workload) && pods.as_ref().is_none_or(|m| workload.pods_match(m))
            }
            // Calico's `global()`: network sets and host endpoints, which
            // are not read (the rule carries a note).
            (
                PolicyPeer::Pods {
                    namespaces: Namespaces::Selected(Matcher::Calico(Expr::Global, _)),
                    ..
                },
                Party::Node | Party::External | Party::Outside | Party::ApiServer,
            ) => true,
            (PolicyPeer::Pods { .. }, Party::Node | Party::External | Party::ApiServer) => false,
            (PolicyPeer::Pods { namespaces, .. }, Party::Outside) => match namespaces {
                Namespaces::Own => false,
                Namespaces::Selected(matcher) => matcher.may_match_other_namespace(&self.audited),
            },
            (PolicyPeer::Pods { namespaces, pods }, Party::AnyPod) => {
                matches!(namespaces, Namespaces::Selected(m) if m.matches_all())
                    && pods.as_ref().is_none_or(|m| m.matches_all())
            }
            (spec, Party::PodsOf(..)) => self.peer_matches(policy, spec, Party::AnyPod, traffic),
            (PolicyPeer::Addresses { includes_pods, .. }, Party::AnyPod) => *includes_pods,
            (PolicyPeer::Addresses { .. }, Party::Pod(_)) => false,
            (PolicyPeer::Addresses { .. }, Party::Node | Party::Outside | Party::External | Party::ApiServer) => true,
            (PolicyPeer::Entity(entity), peer) => entity_matches(*entity, peer),
        }
    }

    /// Does `spec` match every member of `party` (every pod of a workload)?
    /// What cannot be known is taken as matching, as in `peer_matches`.
    pub(super) fn covers_all(
        &self,
        policy: &Policy<'_>,
        spec: &PolicyPeer,
        party: Party<'_, '_>,
        traffic: &Traffic<'_, '_>,
    ) -> bool {
        match (spec, party) {
            (spec, party) if names_exactly(policy, spec, party) => true,
            (PolicyPeer::AllOf(all), _) => all.iter().all(|s| self.covers_all(policy, s, party, traffic)),
            (PolicyPeer::AnyOf(any), _) => self.any_covers_all(policy, any, party, traffic),
            (PolicyPeer::Not(inner), _) => !self.peer_matches(policy, inner, party, traffic),
            (PolicyPeer::Hosts(names), Party::Host(host)) => names.iter().any(|n| n.matches(host)),
            (PolicyPeer::Hosts(_), _) => false,
            (spec, Party::Host(_)) => self.covers_all(policy, spec, Party::External, traffic),
            (PolicyPeer::Service { namespace, name }, _) => self.service_matches(namespace, name, party, traffic, true),
            (PolicyPeer::Pods { namespaces, pods }, Party::Pod(workload)) => {
                namespace_matches(namespaces, policy, workload)
                    && pods.as_ref().is_none_or(|m| workload.pods_picked_by(m) == PodPick::All)
            }
            (PolicyPeer::ServiceAccounts { .. }, Party::Pod(_)) => self.peer_matches(policy, spec, party, traffic),
            (_, Party::Pod(_)) => self.peer_matches(policy, spec, party, traffic),
            (
                PolicyPeer::Addresses {
                    cidr,
                    except,
                    includes_pods,
                },
                _,
            ) => match party {
                // Every address (Cilium's CIDR rules included: they match
                // everything but its pods).
                Party::Node | Party::External | Party::ApiServer => cidr.ends_with("/0") && except.is_empty(),
                _ => *includes_pods,
            },
            (PolicyPeer::Pods { .. }, Party::AnyPod | Party::PodsOf(..)) => {
                self.peer_matches(policy, spec, Party::AnyPod, traffic)
            }
            (PolicyPeer::Pods { .. }, _) => false,
            (PolicyPeer::Entity(entity), _) => match entity {
                Entity::All => true,
                Entity::Cluster => matches!(party, Party::AnyPod | Party::PodsOf(..) | Party::Node),
                Entity::World => matches!(party, Party::External),
                Entity::KubeApiserver => matches!(party, Party::ApiServer),
                Entity::Host | Entity::RemoteNode => false,
                Entity::Ingress | Entity::Health | Entity::Init | Entity::Unmanaged => false,
            },
            (PolicyPeer::ServiceAccounts { .. }, _) => false,
        }
    }

    /// Do `peers` together match every member of `party`? One of them
    /// does, or, for a node, the local and the remote nodes are both named.
    pub(super) fn any_covers_all(
        &self,
        policy: &Policy<'_>,
        peers: &[PolicyPeer],
        party: Party<'_, '_>,
        traffic: &Traffic<'_, '_>,
    ) -> bool {
        let names = |entity: Entity| peers.iter().any(|p| matches!(p, PolicyPeer::Entity(e) if *e == entity));
        peers.iter().any(|p| self.covers_all(policy, p, party, traffic))
            || (matches!(party, Party::Node) && names(Entity::Host) && names(Entity::RemoteNode))
    }

    /// Is `party` among the endpoints of Service `namespace/name` (every pod
    /// of a workload with `every_pod`, else some), and, when it is the
    /// destination, on one of the Service's target ports?
    fn service_matches(
        &self,
        namespace: &str,
        name: &str,
        party: Party<'_, '_>,
        traffic: &Traffic<'_, '_>,
        every_pod: bool,
    ) -> bool {
        let Some(service) = self.service(namespace, name) else {
            // The API server's endpoints are on the nodes or outside; any
            // other unknown Service: its endpoints may be anything (the rule
            // carries a note, see `unknown_services`).
            return match (namespace, name) == API_SERVER_SERVICE {
                true => matches!(party, Party::Node | Party::Outside | Party::ApiServer),
                false => true,
            };
        };
        let Some(selector) = service.selector.as_ref() else {
            // Endpoints set by hand: not known (a note, see `unknown_services`).
            return true;
        };
        let Party::Pod(workload) = party else {
            // The audited namespaces hold only the audited pods.
            return false;
        };
        let picked = workload.obj.namespace == service.obj.namespace
            && match every_pod {
                true => workload.pods_picked_by_selector(selector) == PodPick::All,
                false => workload.pods_selected_by(selector),
            };
        if !picked {
            return false;
        }
        let is_destination = traffic.dest.is_some_and(|d| std::ptr::eq(d, workload));
        if !is_destination {
            return true;
        }
        match traffic.ports {
            Ports::One(port, protocol) => service
                .ports
                .iter()
                .any(|p| p.protocol == protocol && service.target_numbers(p, workload).contains(&port)),
            Ports::Every(_) => false,
            Ports::Some => !service.ports.is_empty(),
        }
    }
}

/// Is `party` the pods this very peer of a policy of this namespace names?
fn names_exactly(policy: &Policy<'_>, spec: &PolicyPeer, party: Party<'_, '_>) -> bool {
    matches!(party, Party::PodsOf(named, named_policy)
        if spec == named && policy.obj.namespace == named_policy.obj.namespace)
}

/// Is `workload`'s namespace among `namespaces` (of `policy`)?
fn namespace_matches(namespaces: &Namespaces, policy: &Policy<'_>, workload: &Workload<'_>) -> bool {
    match namespaces {
        Namespaces::Own => workload.obj.namespace == policy.obj.namespace,
        Namespaces::Selected(matcher) => matcher.matches(&workload.namespace_labels),
    }
}

/// Can a selector on a ServiceAccount's labels match `account`? Only its
/// name is known (Calico's `projectcalico.org/name`): a selector on other
/// labels may match (the rule carries a note and the lean decides).
fn account_selector_may_match(selector: &Matcher, account: &str) -> bool {
    match selector {
        Matcher::Calico(expr, _) if expr.reads_other_than(&[CALICO_NAME]) => true,
        _ => selector.matches(&crate::model::Labels::from([(
            CALICO_NAME.to_string(),
            account.to_string(),
        )])),
    }
}

/// May `entity` be (some of) `peer`? The API server is on the nodes, in a
/// pod or outside the cluster, as the cluster is built: every entity that
/// may be it matches it.
fn entity_matches(entity: Entity, peer: Party<'_, '_>) -> bool {
    match entity {
        Entity::All => true,
        Entity::Cluster => !matches!(peer, Party::External),
        Entity::KubeApiserver | Entity::World => matches!(peer, Party::External | Party::Outside | Party::ApiServer),
        Entity::Ingress => matches!(peer, Party::External | Party::Outside),
        Entity::Host | Entity::RemoteNode => matches!(peer, Party::Node | Party::Outside | Party::ApiServer),
        Entity::Health | Entity::Init | Entity::Unmanaged => false,
    }
}
