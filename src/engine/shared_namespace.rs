//! Inputs audited together put every object that sets no namespace of its
//! own into the same one (`-n`, else `default`). When one input's policy or
//! Service then selects another input's pods, what is reported for the
//! second depends on the first: a catch-all policy of one chart hides M6 in
//! an unrelated chart. Said once per input that reaches into others, with
//! one example.

use super::waivers::Warning;
use crate::model::{Index, Object, Workload};
use std::collections::{BTreeMap, BTreeSet};

/// What one input's selectors reach of other inputs.
struct Reach<'i, 'a> {
    example: (String, &'i Workload<'a>),
    inputs: BTreeSet<usize>,
}

pub fn warnings(index: &Index<'_>) -> Vec<Warning> {
    if index.inputs.len() < 2 {
        return Vec::new();
    }
    // Installed releases really run in their namespace: nothing is assumed.
    let defaulted = |object: &Object| !object.sets_namespace() && !index.inputs[object.input].deployed;
    let foreign =
        |selector: &Object, workload: &Workload<'_>| workload.obj.input != selector.input && defaulted(workload.obj);
    let mut reach: BTreeMap<usize, Reach> = BTreeMap::new();
    let mut record = |selector: &Object, what: &dyn Fn() -> String, workload| {
        reach
            .entry(selector.input)
            .or_insert_with(|| Reach {
                example: (what(), workload),
                inputs: BTreeSet::new(),
            })
            .inputs
            .insert(workload.obj.input);
    };
    let selection = index.policy_selection();
    for (position, policy) in index.policies.iter().enumerate() {
        if policy.is_cluster_wide() || !defaulted(policy.obj) {
            continue;
        }
        let selected = selection.workloads_of[position].iter().map(|&i| &index.workloads[i]);
        for workload in selected.filter(|w| foreign(policy.obj, w)) {
            if policy.selects(workload) {
                record(policy.obj, &|| policy.describe(), workload);
            }
        }
    }
    for service in index.services.iter().filter(|s| defaulted(s.obj)) {
        for workload in index.selected_by(service).filter(|w| foreign(service.obj, w)) {
            record(service.obj, &|| format!("Service `{}`", service.obj.name), workload);
        }
    }
    // Two inputs that select each other's pods are one warning.
    let mut said: BTreeSet<(usize, usize)> = BTreeSet::new();
    let mut warnings = Vec::new();
    for (input, reach) in reach {
        if reach.inputs.iter().all(|other| said.contains(&(*other, input))) {
            continue;
        }
        said.extend(reach.inputs.iter().map(|other| (input, *other)));
        warnings.push(Warning::new(message(index, input, &reach)));
    }
    warnings
}

/// An input's name, with its release when another input has the same name
/// (one chart installed twice).
fn input_label(index: &Index<'_>, input: usize) -> String {
    let this = &index.inputs[input];
    if index.inputs.iter().filter(|other| other.name == this.name).count() > 1 {
        format!("{} (release `{}`)", this.name, this.release)
    } else {
        this.name.clone()
    }
}

fn message(index: &Index<'_>, input: usize, reach: &Reach<'_, '_>) -> String {
    let (what, workload) = &reach.example;
    let more = match reach.inputs.len() - 1 {
        0 => String::new(),
        1 => " and of 1 more input".to_string(),
        n => format!(" and of {n} more inputs"),
    };
    format!(
        "{from} reaches into other inputs in namespace `{namespace}`, which they share only because their \
         objects set none: its {what} selects the pods of {kind} `{name}` of {to}{more}, and so changes \
         their findings; if they do not run in one namespace, use --separately",
        from = input_label(index, input),
        namespace = workload.obj.namespace,
        kind = workload.obj.kind,
        name = workload.obj.name,
        to = input_label(index, workload.obj.input),
    )
}
