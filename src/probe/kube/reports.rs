//! `--apply` of `-o policyreport`: each report server-side applied under
//! netaudit's own field manager, replacing the previous one of the same
//! name (netaudit's). The only objects netaudit writes outside a sandbox,
//! and only when asked.

use super::{api_failed, block, client_and_target, is_status, new_runtime, within, DEFAULT_API_TIMEOUT};
use anyhow::{bail, Context, Result};
use kube::api::{Api, ApiResource, DynamicObject, Patch, PatchParams};
use kube::Client;
use serde_json::Value;

/// The field manager of what netaudit applies.
const FIELD_MANAGER: &str = "netaudit";

/// Apply `reports` in the current kube context: what was applied, in
/// words ("PolicyReport shop/netaudit"), and where ("context `dev`").
pub fn apply(reports: &[Value]) -> Result<(Vec<String>, String)> {
    let runtime = new_runtime()?;
    block(&runtime, async {
        let (client, target) = client_and_target().await?;
        let mut applied = Vec::new();
        for report in reports {
            applied.push(apply_one(&client, report).await?);
        }
        Ok((applied, target.cluster()))
    })
}

/// Server-side apply of one report; what it was, in words.
pub(crate) async fn apply_one(client: &Client, report: &Value) -> Result<String> {
    let kind = report["kind"].as_str().context("a report without a kind")?;
    let api_version = report["apiVersion"]
        .as_str()
        .context("a report without an apiVersion")?;
    let name = report["metadata"]["name"].as_str().context("a report without a name")?;
    let namespace = report["metadata"]["namespace"].as_str();
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    let resource = ApiResource {
        group: group.to_string(),
        version: version.to_string(),
        api_version: api_version.to_string(),
        kind: kind.to_string(),
        plural: format!("{}s", kind.to_lowercase()),
    };
    let api: Api<DynamicObject> = match namespace {
        Some(namespace) => Api::namespaced_with(client.clone(), namespace, &resource),
        None => Api::all_with(client.clone(), &resource),
    };
    let what = match namespace {
        Some(namespace) => format!("{kind} {namespace}/{name}"),
        None => format!("{kind} {name}"),
    };
    let params = PatchParams::apply(FIELD_MANAGER).force();
    let failed = format!("cannot apply the {what}");
    within(DEFAULT_API_TIMEOUT, &failed, async {
        match api.patch(name, &params, &Patch::Apply(report)).await {
            Ok(_) => Ok(()),
            Err(e) if is_status(&e, 404) => bail!(
                "{failed}: the cluster does not serve {api_version} {kind} (install the Policy WG's PolicyReport CRDs, or drop --apply)"
            ),
            Err(e) => Err(api_failed(&failed, &e)),
        }
    })
    .await?;
    Ok(what)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::kube_client::fake::{self, Seen};
    use serde_json::json;

    /// `apply_one` against a fake API server answering `code` with `body`:
    /// the result, and the request it was sent.
    fn apply_with(code: u16, body: Value, report: &Value) -> (Result<String>, Seen) {
        let runtime = fake::runtime();
        let (client, seen) = fake::answering(&runtime, code, body);
        let result = runtime.block_on(apply_one(&client, report));
        let seen = seen.lock().unwrap().first().cloned().unwrap_or_default();
        (result, seen)
    }

    fn report(kind: &str, namespace: Option<&str>) -> Value {
        let mut report = json!({"apiVersion": "wgpolicyk8s.io/v1alpha2", "kind": kind, "metadata": {"name": "netaudit"}, "results": []});
        if let Some(namespace) = namespace {
            report["metadata"]["namespace"] = json!(namespace);
        }
        report
    }

    #[test]
    fn a_report_is_server_side_applied_under_netaudits_field_manager() {
        let applied = report("PolicyReport", Some("shop"));
        let (result, seen) = apply_with(200, applied.clone(), &applied);
        assert_eq!(result.unwrap(), "PolicyReport shop/netaudit");
        assert_eq!(seen.method, "PATCH");
        assert_eq!(
            seen.path,
            "/apis/wgpolicyk8s.io/v1alpha2/namespaces/shop/policyreports/netaudit"
        );
        assert!(
            seen.query.contains("fieldManager=netaudit") && seen.query.contains("force=true"),
            "{seen:?}"
        );
        assert_eq!(seen.content_type, "application/apply-patch+yaml");
        let cluster = report("ClusterPolicyReport", None);
        let (result, seen) = apply_with(200, cluster.clone(), &cluster);
        assert_eq!(result.unwrap(), "ClusterPolicyReport netaudit");
        assert_eq!(seen.path, "/apis/wgpolicyk8s.io/v1alpha2/clusterpolicyreports/netaudit");
    }

    #[test]
    fn a_cluster_without_the_crd_is_one_line() {
        let (result, _) = apply_with(
            404,
            json!({"kind": "Status", "code": 404, "reason": "NotFound", "message": "the server could not find the requested resource"}),
            &report("PolicyReport", Some("shop")),
        );
        let error = result.unwrap_err().to_string();
        assert!(
            error.starts_with("cannot apply the PolicyReport shop/netaudit: the cluster does not serve wgpolicyk8s.io/v1alpha2 PolicyReport"),
            "{error}"
        );
        assert!(!error.contains('\n'));
    }
}
