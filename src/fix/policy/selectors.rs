//! The pod selector of a generated policy: the smallest (preferred) set of a
//! workload's pod labels that selects no other workload.

use crate::model::{Labels, Selector, Workload};

/// Label keys whose values change with every chart upgrade: used in a
/// selector only when nothing else makes it unique.
const VOLATILE_KEYS: &[&str] = &[
    "helm.sh/chart",
    "chart",
    "app.kubernetes.io/version",
    "version",
    "heritage",
    "app.kubernetes.io/managed-by",
    "pod-template-hash",
    "controller-revision-hash",
];

/// Label keys that name the release (added to a minimal selector so that a
/// second install of the same chart in the namespace is not selected).
pub(super) const INSTANCE_KEYS: &[&str] = &["app.kubernetes.io/instance", "release"];

/// Preferred keys first, volatile ones last.
pub(super) fn key_rank(key: &str) -> (u8, &str) {
    let rank = match key {
        "app.kubernetes.io/name" => 0,
        "app.kubernetes.io/instance" => 1,
        "app.kubernetes.io/component" => 2,
        "app" => 3,
        "component" => 4,
        "release" => 5,
        k if VOLATILE_KEYS.contains(&k) => 9,
        _ => 6,
    };
    (rank, key)
}

/// Largest number of labels combined when looking for a minimal selector.
const MAX_SUBSET: usize = 4;
/// Keys considered for minimal subsets (the most preferred ones).
const MAX_CANDIDATE_KEYS: usize = 12;

pub(super) fn selector_of(labels: &Labels) -> Selector {
    Selector {
        match_labels: labels.clone(),
        expressions: Vec::new(),
    }
}

/// The smallest (preferred) subset of `workload`'s pod labels that selects
/// none of `others`' pods, nor pods labelled as one of `unrendered` (the
/// pods a Service finds that no workload renders: an operator's, a
/// switched-off component's), plus the release's instance label when the
/// workload has one. `Err` with the workloads the full label set also
/// selects when there is none (labels only narrow: if the full set selects
/// another workload, every subset does).
pub(super) fn unique_labels<'w, 'a>(
    workload: &Workload<'a>,
    others: &[&'w Workload<'a>],
    unrendered: &[&Labels],
) -> Result<Labels, Vec<&'w Workload<'a>>> {
    let full = selector_of(&workload.pod_labels);
    let colliding: Vec<&Workload<'a>> = others.iter().copied().filter(|o| o.pods_selected_by(&full)).collect();
    if !colliding.is_empty() {
        return Err(colliding);
    }
    let mut entries: Vec<(&String, &String)> = workload.pod_labels.iter().collect();
    entries.sort_by_key(|(k, _)| key_rank(k));
    entries.truncate(MAX_CANDIDATE_KEYS);
    let excludes_all = |subset: &[usize]| {
        let labels: Labels = subset
            .iter()
            .map(|&i| (entries[i].0.clone(), entries[i].1.clone()))
            .collect();
        let selector = selector_of(&labels);
        let selects_other = others.iter().any(|o| o.pods_selected_by(&selector))
            || unrendered.iter().any(|pods| selector.matches(pods));
        (!selects_other).then_some(labels)
    };
    for size in 1..=entries.len().min(MAX_SUBSET) {
        if let Some(mut labels) = combinations(entries.len(), size).find_map(|c| excludes_all(&c)) {
            for key in INSTANCE_KEYS {
                if let Some(value) = workload.pod_labels.get(key) {
                    labels.insert((*key).to_string(), value.clone());
                }
            }
            return Ok(labels);
        }
    }
    Ok(workload.pod_labels.clone())
}

/// Index combinations of `size` out of `n`, in lexicographic order.
fn combinations(n: usize, size: usize) -> impl Iterator<Item = Vec<usize>> {
    let mut current: Option<Vec<usize>> = (size <= n).then(|| (0..size).collect());
    std::iter::from_fn(move || {
        let out = current.clone()?;
        let mut next = out.clone();
        let mut i = size;
        loop {
            if i == 0 {
                current = None;
                break;
            }
            i -= 1;
            if next[i] < n - size + i {
                next[i] += 1;
                for j in i + 1..size {
                    next[j] = next[j - 1] + 1;
                }
                current = Some(next);
                break;
            }
        }
        Some(out)
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn combinations_in_order() {
        let all: Vec<Vec<usize>> = super::combinations(4, 2).collect();
        assert_eq!(all, [[0, 1], [0, 2], [0, 3], [1, 2], [1, 3], [2, 3]]);
        assert_eq!(super::combinations(2, 3).count(), 0);
    }
}
