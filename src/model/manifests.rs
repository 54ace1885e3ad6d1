//! The parsed set: every input of one run and the objects read from them
//! (`Manifests`), the keys written twice, the inputs without an object,
//! and the indexes built from it (one for all inputs, or one per input and
//! joined again).

use super::index::Index;
use super::input::Input;
use super::load::{load_objects, Detail, LoadError};
use super::object::Object;
use super::parallel;
use crate::yaml;

/// Every input of one run and the objects parsed from them.
#[derive(Debug)]
pub struct Manifests {
    pub inputs: Vec<Input>,
    pub objects: Vec<Object>,
    /// Inputs without a single Kubernetes object (empty, or only comments
    /// and separators): not an error (a chart may render nothing with some
    /// values, a pipeline may pass an empty file), but worth a warning.
    pub empty_inputs: Vec<usize>,
    /// Keys written twice in one mapping, by input: the checks read the
    /// last, as Kubernetes does, and the report warns.
    pub duplicate_keys: Vec<(usize, yaml::DuplicateKey)>,
}

impl Manifests {
    /// Parse every input, several at once on a machine with several cores;
    /// an error is the first input's in order, as if parsed one by one.
    pub fn load(inputs: Vec<Input>, detail: Detail) -> Result<Manifests, LoadError> {
        let parsed = parallel::map_in_order(&inputs, |i, input| {
            let (mut objects, mut duplicates) = (Vec::new(), Vec::new());
            load_objects(i, input, detail, &mut objects, &mut duplicates)
                .map(|documents| (objects, duplicates, documents))
        });
        let mut objects = Vec::new();
        let mut empty_inputs = Vec::new();
        let mut duplicate_keys = Vec::new();
        for (i, result) in parsed.into_iter().enumerate() {
            let (mut of_input, twice, documents) = result?;
            if documents == 0 {
                empty_inputs.push(i);
            }
            objects.append(&mut of_input);
            duplicate_keys.extend(twice.into_iter().map(|key| (i, key)));
        }
        Ok(Manifests {
            inputs,
            objects,
            empty_inputs,
            duplicate_keys,
        })
    }

    /// `other`'s inputs and objects after this one's, as if all had been
    /// loaded together.
    pub fn append(&mut self, mut other: Manifests) {
        let offset = self.inputs.len();
        for object in &mut other.objects {
            object.input += offset;
        }
        self.empty_inputs.extend(other.empty_inputs.iter().map(|i| i + offset));
        self.duplicate_keys
            .extend(other.duplicate_keys.into_iter().map(|(i, key)| (i + offset, key)));
        self.inputs.append(&mut other.inputs);
        self.objects.append(&mut other.objects);
    }

    /// The typed views, without runtime evidence.
    pub fn index(&self) -> Index<'_> {
        Index::new(&self.inputs, &self.objects)
    }

    /// The objects of input `input` (inputs are loaded in order, so each
    /// input's objects are one run of `objects`).
    pub fn objects_of(&self, input: usize) -> &[Object] {
        objects_of(&self.objects, input)
    }

    /// One index per input, each seeing only its own objects (`lint
    /// --separately`).
    pub fn indexes_per_input(&self) -> Vec<Index<'_>> {
        (0..self.inputs.len())
            .map(|input| Index::new(&self.inputs, self.objects_of(input)))
            .collect()
    }
}

/// The objects of input `input` among `objects` (in input order, as
/// [`Manifests`] and its indexes hold them).
pub fn objects_of(objects: &[Object], input: usize) -> &[Object] {
    let start = objects.partition_point(|o| o.input < input);
    let end = objects.partition_point(|o| o.input <= input);
    &objects[start..end]
}

/// An index built from a [`Manifests`]: here rather than in `index.rs`,
/// which knows nothing of the parsed set.
impl<'a> Index<'a> {
    /// The indexes of [`Manifests::indexes_per_input`] as one, without
    /// parsing anything again.
    pub fn joined(manifests: &'a Manifests, parts: Vec<Index<'a>>) -> Index<'a> {
        let mut whole = Index::new(&manifests.inputs, &[]);
        whole.objects = &manifests.objects;
        for part in parts {
            whole.workloads.extend(part.workloads);
            whole.services.extend(part.services);
            whole.policies.extend(part.policies);
            whole.namespaces.extend(part.namespaces);
            whole.config_maps.extend(part.config_maps);
            whole.secrets.extend(part.secrets);
            whole.ingresses.extend(part.ingresses);
            whole.bindings.extend(part.bindings);
            whole.webhooks.extend(part.webhooks);
            whole.routing_classes.extend(part.routing_classes);
            whole.monitors.extend(part.monitors);
            whole.custom_resources.extend(part.custom_resources);
            whole.malformed.extend(part.malformed);
        }
        whole.with_lookups()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appended_manifests_are_as_if_loaded_together() {
        let input = |name: &str, text: &str| Input::new(name, name, "default", text.to_string());
        let pod = |name: &str| format!("apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\n");
        let texts = [
            ("a", pod("a1") + "---\n" + &pod("a2")),
            ("empty", String::new()),
            ("b", pod("b1")),
        ];
        let all: Vec<Input> = texts.iter().map(|(n, t)| input(n, t)).collect();
        let together = Manifests::load(all.clone(), Detail::Checks).unwrap();
        let mut appended = Manifests::load(all[..1].to_vec(), Detail::Checks).unwrap();
        appended.append(Manifests::load(all[1..].to_vec(), Detail::Checks).unwrap());
        let shape =
            |m: &Manifests| -> Vec<(usize, String)> { m.objects.iter().map(|o| (o.input, o.name.clone())).collect() };
        assert_eq!(shape(&appended), shape(&together));
        assert_eq!(shape(&appended)[2], (2, "b1".to_string()));
        assert_eq!(appended.empty_inputs, [1]);
        assert_eq!(appended.empty_inputs, together.empty_inputs);
        assert_eq!(appended.objects_of(2).len(), 1);
    }

    #[test]
    fn each_input_has_its_own_index_and_joined_they_are_the_whole() {
        let service = |name: &str| format!("apiVersion: v1\nkind: Service\nmetadata: {{name: {name}}}\n---\n");
        let inputs = vec![
            Input::new("a", "a", "default", service("a1") + &service("a2")),
            Input::new("empty", "empty", "default", String::new()),
            Input::new("b", "b", "default", service("b1")),
        ];
        let manifests = Manifests::load(inputs, Detail::Checks).unwrap();
        let names = |objects: &[Object]| objects.iter().map(|o| o.name.clone()).collect::<Vec<_>>();
        assert_eq!(names(manifests.objects_of(0)), ["a1", "a2"]);
        assert!(manifests.objects_of(1).is_empty());
        assert_eq!(names(manifests.objects_of(2)), ["b1"]);
        let parts = manifests.indexes_per_input();
        assert_eq!(parts.iter().map(|p| p.services.len()).collect::<Vec<_>>(), [2, 0, 1]);
        let whole = Index::joined(&manifests, parts);
        assert_eq!(whole.services.len(), 3);
        assert_eq!(whole.objects.len(), 3);
    }
}
