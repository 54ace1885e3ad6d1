//! An exposure names the audited workloads that may connect while that
//! takes at most `LISTED_SOURCES` entries, and counts them per namespace
//! beyond (`model/exposure.rs`, docs/json-schema.md).

use crate::model::{Detail, ExposureSource, Input, Manifests};
use crate::reach::exposure::LISTED_SOURCES;
use crate::reach::{exposure, Evaluator};

/// `namespaces` namespaces of two Deployments each (roles `client` and
/// `other`), and `db` in `data`, which lets in the clients of every
/// namespace (and, with `whole`, every pod of the first two).
fn exposure_of_db(namespaces: usize, whole: bool) -> Vec<ExposureSource> {
    let mut text = String::new();
    let deployment = |ns: &str, name: &str, role: &str| {
        format!(
            "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: {name}, namespace: {ns}}}\nspec:\n  selector: {{matchLabels: {{app: {name}}}}}\n  template:\n    metadata: {{labels: {{app: {name}, role: {role}}}}}\n    spec: {{containers: [{{name: c, image: i, ports: [{{containerPort: 5432}}]}}]}}\n"
        )
    };
    for n in 0..namespaces {
        let ns = format!("ns-{n:02}");
        text.push_str(&format!(
            "---\napiVersion: v1\nkind: Namespace\nmetadata: {{name: {ns}, labels: {{first: '{}'}}}}\n",
            n < 2
        ));
        text.push_str(&deployment(&ns, "client", "client"));
        text.push_str(&deployment(&ns, "other", "other"));
    }
    text.push_str(&deployment("data", "db", "db"));
    let whole_namespaces = match whole {
        true => "\n        - namespaceSelector: {matchLabels: {first: 'true'}}",
        false => "",
    };
    text.push_str(&format!(
        "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: db, namespace: data}}\nspec:\n  podSelector: {{matchLabels: {{app: db}}}}\n  ingress:\n    - from:\n        - namespaceSelector: {{}}\n          podSelector: {{matchLabels: {{role: client}}}}{whole_namespaces}\n"
    ));
    let manifests = Manifests::load(vec![Input::new("c.yaml", "c", "default", text)], Detail::Checks).unwrap();
    let index = manifests.index();
    let db = index.workloads.iter().position(|w| w.obj.name == "db").unwrap();
    exposure(&Evaluator::new(&index), &index, &[db], &[]).sources
}

fn workload(name: &str) -> ExposureSource {
    ExposureSource::Workload { workload: name.into() }
}

#[test]
fn up_to_the_limit_every_workload_is_named() {
    // Ten namespaces: ten clients, named.
    let sources = exposure_of_db(10, false);
    let names: Vec<ExposureSource> = (0..10)
        .map(|n| workload(&format!("Deployment/ns-{n:02}/client")))
        .collect();
    assert_eq!(sources[1..], names[..], "{sources:?}");
    assert!(matches!(sources[0], ExposureSource::Pods { .. }), "{sources:?}");
}

#[test]
fn beyond_the_limit_namespaces_are_counted() {
    // 25 namespaces: one entry per release of each, the two whole ones as
    // their release, then the first 19 and a count of the other six.
    let sources = exposure_of_db(25, true);
    let audited: Vec<&ExposureSource> = sources
        .iter()
        .filter(|s| !matches!(s, ExposureSource::Pods { .. }))
        .collect();
    assert_eq!(audited.len(), LISTED_SOURCES, "{sources:?}");
    assert_eq!(
        audited[0],
        &ExposureSource::Release {
            release: "c".into(),
            namespace: "ns-00".into()
        }
    );
    assert_eq!(
        audited[2],
        &ExposureSource::Workloads {
            release: "c".into(),
            namespace: "ns-02".into(),
            count: 1,
            of: 2
        }
    );
    assert_eq!(
        audited[LISTED_SOURCES - 1],
        &ExposureSource::More {
            releases: 6,
            workloads: 6
        }
    );
}
