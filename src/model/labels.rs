//! [`Labels`]: a label map as a vector sorted by key.
//!
//! A workload carries a few labels (three to six in real charts), and a
//! cluster dump a few hundred thousand such maps (pod labels, annotations,
//! selectors). A `BTreeMap` allocates a node of eleven slots for each of
//! them; a sorted vector holds just its entries, is compared and hashed as
//! one slice, and is looked up by binary search. It reads like the map it
//! replaces: the same methods, the same iteration order, the same `Debug`
//! and serialized form.

use serde::ser::{Serialize, SerializeMap, Serializer};
use std::fmt;

/// Label keys and values, sorted by key, each key once.
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Labels(Vec<(String, String)>);

impl Labels {
    pub const fn new() -> Labels {
        Labels(Vec::new())
    }

    fn position(&self, key: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|(k, _)| k.as_str().cmp(key))
    }

    pub fn get(&self, key: &str) -> Option<&String> {
        self.position(key).ok().map(|i| &self.0[i].1)
    }

    pub fn get_key_value(&self, key: &str) -> Option<(&String, &String)> {
        self.position(key).ok().map(|i| (&self.0[i].0, &self.0[i].1))
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.position(key).is_ok()
    }

    /// Set `key` to `value`; the value it had, if any.
    pub fn insert(&mut self, key: String, value: String) -> Option<String> {
        match self.position(&key) {
            Ok(i) => Some(std::mem::replace(&mut self.0[i].1, value)),
            Err(i) => {
                self.0.insert(i, (key, value));
                None
            }
        }
    }

    pub fn remove(&mut self, key: &str) -> Option<String> {
        self.position(key).ok().map(|i| self.0.remove(i).1)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> Iter<'_> {
        Iter(self.0.iter())
    }

    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &String> + ExactSizeIterator + Clone {
        self.0.iter().map(|(k, _)| k)
    }

    pub fn values(&self) -> impl DoubleEndedIterator<Item = &String> + ExactSizeIterator + Clone {
        self.0.iter().map(|(_, v)| v)
    }

    /// Keep the entries `keep` says yes to.
    pub fn retain(&mut self, mut keep: impl FnMut(&String, &mut String) -> bool) {
        self.0.retain_mut(|(k, v)| keep(k, v));
    }
}

/// The entries of [`Labels`], by key.
#[derive(Clone, Debug)]
pub struct Iter<'a>(std::slice::Iter<'a, (String, String)>);

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a String, &'a String);

    fn next(&mut self) -> Option<Self::Item> {
        self.0.next().map(|(k, v)| (k, v))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

impl DoubleEndedIterator for Iter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.0.next_back().map(|(k, v)| (k, v))
    }
}

impl ExactSizeIterator for Iter<'_> {}

impl<'a> IntoIterator for &'a Labels {
    type Item = (&'a String, &'a String);
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

impl IntoIterator for Labels {
    type Item = (String, String);
    type IntoIter = std::vec::IntoIter<(String, String)>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

/// As a map collects: of a key given twice, the last value counts.
impl FromIterator<(String, String)> for Labels {
    fn from_iter<I: IntoIterator<Item = (String, String)>>(entries: I) -> Labels {
        let mut labels = Labels(entries.into_iter().collect());
        labels.normalize();
        labels
    }
}

impl Labels {
    /// Sort by key, keeping the last of equal keys (the stable sort keeps
    /// them in the order given).
    fn normalize(&mut self) {
        if self.0.windows(2).all(|pair| pair[0].0 < pair[1].0) {
            return;
        }
        self.0.sort_by(|a, b| a.0.cmp(&b.0));
        let mut deduplicated: Vec<(String, String)> = Vec::with_capacity(self.0.len());
        for entry in self.0.drain(..) {
            match deduplicated.last_mut() {
                Some(last) if last.0 == entry.0 => *last = entry,
                _ => deduplicated.push(entry),
            }
        }
        self.0 = deduplicated;
    }
}

impl<const N: usize> From<[(String, String); N]> for Labels {
    fn from(entries: [(String, String); N]) -> Labels {
        entries.into_iter().collect()
    }
}

impl Extend<(String, String)> for Labels {
    fn extend<I: IntoIterator<Item = (String, String)>>(&mut self, entries: I) {
        self.0.extend(entries);
        // A stable sort keeps the new value of a key after the old one,
        // and the last one counts.
        self.normalize();
    }
}

impl fmt::Debug for Labels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl Serialize for Labels {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.len()))?;
        for (k, v) in self {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::Labels;

    fn pairs(entries: &[(&str, &str)]) -> Vec<(String, String)> {
        entries.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn reads_like_the_map_it_replaces() {
        let labels: Labels = pairs(&[("tier", "a"), ("app", "web"), ("tier", "b")])
            .into_iter()
            .collect();
        let map: std::collections::BTreeMap<String, String> = pairs(&[("tier", "a"), ("app", "web"), ("tier", "b")])
            .into_iter()
            .collect();
        assert_eq!(labels.iter().collect::<Vec<_>>(), map.iter().collect::<Vec<_>>());
        assert_eq!(format!("{labels:?}"), format!("{map:?}"));
        assert_eq!(serde_json::to_string(&labels).ok(), serde_json::to_string(&map).ok());
        assert_eq!(labels.get("tier").map(String::as_str), Some("b"));
        assert!(labels.get("team").is_none());
    }

    #[test]
    fn insert_extend_and_remove_keep_one_sorted_entry_per_key() {
        let mut labels = Labels::new();
        assert_eq!(labels.insert("b".into(), "1".into()), None);
        assert_eq!(labels.insert("a".into(), "2".into()), None);
        assert_eq!(labels.insert("b".into(), "3".into()), Some("1".into()));
        labels.extend(pairs(&[("c", "4"), ("a", "5")]));
        assert_eq!(
            labels.iter().collect::<Vec<_>>(),
            pairs(&[("a", "5"), ("b", "3"), ("c", "4")])
                .iter()
                .map(|(k, v)| (k, v))
                .collect::<Vec<_>>()
        );
        assert_eq!(labels.remove("b"), Some("3".into()));
        assert_eq!(labels.keys().cloned().collect::<Vec<_>>(), ["a", "c"]);
        assert!(labels < Labels::from([("b".to_string(), String::new())]));
    }
}
