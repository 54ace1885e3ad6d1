//! Policy semantics exactly as the API server and the CNIs enforce them:
//! the minimal inputs of issue 24, each through every command that
//! evaluates policies (`lint`, `reach -o json`, `fix --check`).

mod common;

use common::{repo, stderr, stdout};
use serde_json::Value;
use std::process::{Command, Output};

fn run(args: &[&str], fixture: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_netaudit"))
        .args(args)
        .arg("--manifests")
        .arg(repo().join("testdata/semantics").join(fixture))
        .env("NO_COLOR", "1")
        .env_remove("HELM_NAMESPACE")
        .output()
        .expect("run netaudit")
}

fn json(out: &Output) -> Value {
    serde_json::from_str(&stdout(out)).unwrap_or_else(|e| panic!("{e}: {}{}", stdout(out), stderr(out)))
}

/// `lint -o json`: (check, message) of every finding.
fn findings(fixture: &str) -> Vec<(String, String)> {
    let out = run(&["lint", "-o", "json"], fixture);
    assert!(matches!(out.status.code(), Some(0 | 1)), "{}", stderr(&out));
    json(&out)["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["check"].as_str().unwrap().to_string(),
                f["message"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// `reach -o json`: the row of `to` (on `port`).
fn reach_row(fixture: &str, to: &str, port: u16) -> Value {
    let out = run(&["reach", "-o", "json"], fixture);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let rows = common::reach_rows(&json(&out));
    let mut row = rows
        .iter()
        .find(|r| r["to"] == to && r["port"] == port)
        .unwrap_or_else(|| panic!("no row {to} {port}: {rows:#?}"))
        .clone();
    // Sources by name, for readable assertions.
    let from: serde_json::Map<String, Value> = row["from"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| (n.as_str().unwrap().to_string(), Value::Bool(true)))
        .collect();
    row["from"] = Value::Object(from);
    row
}

/// `fix --check`: its exit code and its first line per needed flow.
fn check(fixture: &str, extra: &[&str]) -> (Option<i32>, Vec<String>) {
    let mut args = vec!["fix", "--check"];
    args.extend(extra);
    let out = run(&args, fixture);
    let needs = stdout(&out)
        .lines()
        .take_while(|l| !l.starts_with("# Flows the NetworkPolicies allow"))
        .filter(|l| !l.starts_with(' ') && !l.is_empty())
        .map(str::to_string)
        .collect();
    (out.status.code(), needs)
}

/// A policy that selects one pod of a StatefulSet by its pod-name label
/// leaves the other pods open: M6 names them, `reach` is the union over
/// the pods and says which let it through, `fix --check` cannot say the
/// client's flow passes.
#[test]
fn a_policy_on_some_pods_of_a_statefulset_leaves_the_others_open() {
    let fixture = "statefulset-pod-name.yaml";
    let m6: Vec<String> = findings(fixture)
        .into_iter()
        .filter(|(check, _)| check == "M6")
        .map(|(_, message)| message)
        .collect();
    assert!(
        m6.contains(&"StatefulSet `db`: pods `db-0`, `db-2` are not selected by any policy restricting ingress in namespace `shop` (a policy selects only the others)".to_string()),
        "{m6:#?}"
    );
    let row = reach_row(fixture, "StatefulSet/shop/db", 5432);
    assert_eq!(row["from"]["Pod/shop/client"], true, "{row:#}");
    assert_eq!(row["from_any_pod"], true, "{row:#}");
    assert_eq!(row["unrestricted"], false, "db-1 is restricted: {row:#}");
    assert_eq!(
        row["notes"],
        serde_json::json!(["StatefulSet shop/db: only pods db-0, db-2 let it through"])
    );
    // The Service sends the client to db-1 too, which refuses it: a needs
    // check cannot say it passes.
    let (code, needs) = check(fixture, &[]);
    assert_eq!(code, Some(1), "{needs:#?}");
    assert!(
        needs.contains(&"UNKNOWN: Pod/shop/client -> StatefulSet/shop/db 5432/TCP (it may not pass: StatefulSet shop/db: only pods db-0, db-2 let it through)".to_string()),
        "{needs:#?}"
    );
}

/// A namespace the input creates carries its labels: a namespaceSelector on
/// them lets its pods in.
#[test]
fn labels_of_namespace_objects_are_read() {
    let fixture = "namespace-labels.yaml";
    let row = reach_row(fixture, "Deployment/backend/api", 8080);
    assert_eq!(row["from"]["Deployment/frontend/web"], true, "{row:#}");
    assert_eq!(row["from_any_pod"], false, "{row:#}");
    assert_eq!(
        row["from_pods"],
        serde_json::json!([{"pods": null, "namespaces": "team=shop"}]),
        "other namespaces may carry the label too"
    );
    let (code, needs) = check(fixture, &[]);
    assert_eq!(code, Some(0), "{needs:#?}");
    assert!(
        needs.contains(
            &"allowed: Deployment/frontend/web -> Deployment/backend/api 8080/TCP (in: api; out: no policy)"
                .to_string()
        ),
        "{needs:#?}"
    );
    // No NP2: the selector matches the namespace the input creates.
    assert!(!findings(fixture).iter().any(|(check, _)| check == "NP2"));
}

/// A needs check never says "allowed" on a guess: a Calico egress rule
/// for the API server's Service is evaluated (the database is BLOCKED, and
/// the cluster DNS, which the rule may or may not be, is UNKNOWN); one for
/// a Service not in the input is UNKNOWN, naming it. UNKNOWN exits 1
/// unless `--unknown-ok`.
#[test]
fn a_needed_flow_that_passes_only_through_an_unevaluated_construct_is_not_allowed() {
    let (code, needs) = check("calico-services-egress.yaml", &[]);
    assert_eq!(code, Some(1), "{needs:#?}");
    assert_eq!(
        needs[..3],
        [
            "# Flows the application needs: 0 of 2 pass (1 BLOCKED, 1 UNKNOWN)",
            "BLOCKED: Deployment/shop/api -> Deployment/shop/db 5432/TCP (denied by the egress policies Calico NetworkPolicy shop/api-egress of Deployment/shop/api)",
            "UNKNOWN: Deployment/shop/api -> (cluster DNS) 53/UDP (it may not pass: Calico NetworkPolicy shop/api-egress: `services` default/kubernetes (the API server: whether it is the other end is not known) not evaluated; the rule is taken as allowing)",
        ],
        "{needs:#?}"
    );
    let fixture = "calico-unknown-service-egress.yaml";
    let (code, needs) = check(fixture, &[]);
    assert_eq!(code, Some(1), "{needs:#?}");
    assert_eq!(needs[0], "# Flows the application needs: 0 of 2 pass (2 UNKNOWN)");
    assert_eq!(
        needs[1],
        "UNKNOWN: Deployment/shop/api -> Deployment/shop/db 5432/TCP (it may not pass: Calico NetworkPolicy shop/api-egress: `services` infra/cache (not in the input: its endpoints are not known) not evaluated; the rule is taken as allowing)"
    );
    let (accepted, _) = check(fixture, &["--unknown-ok"]);
    assert_eq!(accepted, Some(0));
    // The flows the policies allow say it too.
    let out = run(&["fix", "--check"], fixture);
    let allowed: Vec<String> = stdout(&out)
        .lines()
        .skip_while(|l| !l.starts_with("# Flows the NetworkPolicies allow"))
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    assert!(
        allowed.contains(&"Deployment/shop/api -> Deployment/shop/db 5432/TCP in: no policy; out: Calico NetworkPolicy shop/api-egress (it may not pass: Calico NetworkPolicy shop/api-egress: `services` infra/cache (not in the input: its endpoints are not known) not evaluated; the rule is taken as allowing)".to_string()),
        "{allowed:#?}"
    );
    assert!(
        allowed
            .contains(&"Deployment/shop/db -> Deployment/shop/api 8080/TCP in: no policy; out: no policy".to_string()),
        "{allowed:#?}"
    );
    // Exposure leans the other way: the flow is allowed there, with the note.
    let row = reach_row(fixture, "Deployment/shop/db", 5432);
    assert_eq!(row["from"]["Deployment/shop/api"], true, "{row:#}");
    assert!(
        row["notes"][0].as_str().unwrap().contains("`services` infra/cache"),
        "{row:#}"
    );
}

/// Policies the API server rejects protect nothing: NP3, and every command
/// evaluates as if they were absent.
#[test]
fn policies_the_api_server_rejects_are_np3_and_protect_nothing() {
    for (fixture, port, why) in [
        (
            "quoted-port.yaml",
            8080,
            "port `\"8080\"` is a quoted number: the API server reads a string as a port name, which needs a letter",
        ),
        (
            "except-outside-cidr.yaml",
            5432,
            "ipBlock `except` entry `192.168.0.0/16` is not a strict subset of its `cidr` `10.0.0.0/8`",
        ),
    ] {
        let found = findings(fixture);
        assert!(
            found.contains(&(
                "NP3".to_string(),
                format!("NetworkPolicy `db` is malformed and protects nothing: {why}")
            )),
            "{fixture}: {found:#?}"
        );
        assert!(found.iter().any(|(check, _)| check == "M6"), "{fixture}: {found:#?}");
        let row = reach_row(fixture, "Pod/shop/db", port);
        assert_eq!(
            (&row["unrestricted"], &row["from_any_pod"]),
            (&Value::Bool(true), &Value::Bool(true))
        );
        let (code, needs) = check(fixture, &[]);
        assert_eq!(code, Some(0), "{fixture}: {needs:#?}");
        assert!(
            needs.contains(&format!(
                "allowed: Pod/shop/client -> Pod/shop/db {port}/TCP (in: no policy; out: no policy)"
            )),
            "{fixture}: {needs:#?}"
        );
    }
}
