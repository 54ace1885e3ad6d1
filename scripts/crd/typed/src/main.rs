//! Validate Cilium and Calico policies against the schemas of their CRDs:
//! one JSON object a line on stdin; prints `N: <errors>` for each invalid
//! one (N counts from 1) and `validated M` at the end, like
//! scripts/crd/validate.mjs.
//!
//! An object is valid when its spec reads into the typed bindings generated
//! from the CRD (field names and types, enums, required fields) and writes
//! back unchanged. A field the schema does not have is dropped on reading,
//! so it shows as a difference: the API server would prune it just as
//! silently, leaving another policy than the one written. (The ajv
//! validators of validate.mjs check Cilium's patterns and enums, but let
//! unknown fields through.)

use std::io::BufRead;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kcr_cilium_io::v2::ciliumclusterwidenetworkpolicies::CiliumClusterwideNetworkPolicySpec;
use kcr_cilium_io::v2::ciliumnetworkpolicies::CiliumNetworkPolicySpec;
use kcr_crd_projectcalico_org::v1::globalnetworkpolicies::GlobalNetworkPolicySpec;
use kcr_crd_projectcalico_org::v1::networkpolicies::NetworkPolicySpec;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

fn main() {
    let mut count = 0;
    let mut invalid = 0;
    for line in std::io::stdin().lock().lines() {
        let line = line.expect("stdin is readable");
        if line.trim().is_empty() {
            continue;
        }
        count += 1;
        if let Err(why) = validate(&line) {
            println!("{count}: {why}");
            invalid += 1;
        }
    }
    println!("validated {count}");
    std::process::exit(i32::from(invalid > 0));
}

fn validate(line: &str) -> Result<(), String> {
    let object: Value = serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
    let field = |name: &str| object.get(name).cloned().unwrap_or(Value::Null);
    let metadata: ObjectMeta = read_back("metadata", &field("metadata"))?;
    if metadata.name.as_deref().unwrap_or("").is_empty() {
        return Err("metadata.name is missing".into());
    }
    let api_version = field("apiVersion");
    let kind = field("kind");
    match (api_version.as_str(), kind.as_str()) {
        (Some("projectcalico.org/v3"), Some("NetworkPolicy")) => {
            read_back::<NetworkPolicySpec>("spec", &field("spec")).map(drop)
        }
        (Some("cilium.io/v2"), Some("CiliumNetworkPolicy")) => {
            read_back::<CiliumNetworkPolicySpec>("spec", &field("spec")).map(drop)
        }
        (Some("cilium.io/v2"), Some("CiliumClusterwideNetworkPolicy")) => {
            if metadata.namespace.is_some() {
                return Err("a CiliumClusterwideNetworkPolicy has no namespace".into());
            }
            read_back::<CiliumClusterwideNetworkPolicySpec>("spec", &field("spec")).map(drop)
        }
        (Some("projectcalico.org/v3"), Some("GlobalNetworkPolicy")) => {
            if metadata.namespace.is_some() {
                return Err("a GlobalNetworkPolicy has no namespace".into());
            }
            read_back::<GlobalNetworkPolicySpec>("spec", &field("spec")).map(drop)
        }
        _ => Err(format!("no schema for {api_version} {kind}")),
    }
}

/// `value` read as `T` and written back unchanged.
fn read_back<T: DeserializeOwned + Serialize>(at: &str, value: &Value) -> Result<T, String> {
    let typed: T =
        serde_path_to_error::deserialize(value.clone()).map_err(|e| format!("{at}.{}: {}", e.path(), e.inner()))?;
    let back = serde_json::to_value(&typed).map_err(|e| format!("{at}: {e}"))?;
    match difference(at, value, &back) {
        Some(why) => Err(why),
        None => Ok(typed),
    }
}

/// The first place where `back` (the value read and written back) differs
/// from `given`.
fn difference(at: &str, given: &Value, back: &Value) -> Option<String> {
    match (given, back) {
        (Value::Object(given), Value::Object(back)) => given.iter().find_map(|(key, value)| {
            let here = format!("{at}.{key}");
            match back.get(key) {
                Some(read) => difference(&here, value, read),
                None => Some(format!("{here}: not a field of the schema")),
            }
        }),
        (Value::Array(given), Value::Array(back)) if given.len() == back.len() => given
            .iter()
            .zip(back)
            .enumerate()
            .find_map(|(i, (value, read))| difference(&format!("{at}[{i}]"), value, read)),
        // A `number` of the schema reads as a float: 1000 is 1000.0.
        (Value::Number(given), Value::Number(back)) if given.as_f64() == back.as_f64() => None,
        _ if given == back => None,
        _ => Some(format!("{at}: {given} reads as {back}")),
    }
}
