//! Where the Kubernetes API server is, as the cluster says: the addresses
//! and ports of the Endpoints of the Service `default/kubernetes` (`fix
//! --cluster`, `post-render --cluster`). One GET in the current kube context.

use super::kube_client::{api_failed, block, client_and_target, new_runtime, within};
use anyhow::{bail, Result};
use k8s_openapi::api::core::v1::Endpoints;
use kube::{Api, Client};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// How long the one request may take.
const LIMIT: Duration = Duration::from_secs(30);

/// The API server's addresses and ports, from the current kube context.
pub fn read() -> Result<Vec<SocketAddr>> {
    let runtime = new_runtime()?;
    block(&runtime, async {
        let (client, target) = client_and_target().await?;
        let found = endpoints(&client).await?;
        if found.is_empty() {
            bail!(
                "the Endpoints default/kubernetes of {target} list no address: where the API server is cannot be read"
            );
        }
        Ok(found)
    })
}

/// The ready addresses of `default/kubernetes`, with each port of their subset.
pub(crate) async fn endpoints(client: &Client) -> Result<Vec<SocketAddr>> {
    let api: Api<Endpoints> = Api::namespaced(client.clone(), "default");
    let what = "cannot read the Endpoints default/kubernetes (where the API server is)";
    let endpoints = within(LIMIT, what, async {
        api.get("kubernetes").await.map_err(|e| api_failed(what, &e))
    })
    .await?;
    let mut found = Vec::new();
    for subset in endpoints.subsets.unwrap_or_default() {
        let ports: Vec<u16> = subset
            .ports
            .unwrap_or_default()
            .iter()
            .filter(|p| p.protocol.as_deref().is_none_or(|p| p == "TCP"))
            .filter_map(|p| u16::try_from(p.port).ok())
            .collect();
        for address in subset.addresses.unwrap_or_default() {
            let Ok(ip) = address.ip.parse::<IpAddr>() else {
                bail!("{what}: `{}` is not an IP address", address.ip);
            };
            found.extend(ports.iter().map(|port| SocketAddr::new(ip, *port)));
        }
    }
    found.sort();
    found.dedup();
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::kube_client::fake;
    use serde_json::json;

    /// The Endpoints as a fake API server answering `code` with `body` gives them.
    fn endpoints_of(code: u16, body: serde_json::Value) -> Result<Vec<SocketAddr>> {
        let runtime = fake::runtime();
        let (client, seen) = fake::answering(&runtime, code, body);
        let found = runtime.block_on(endpoints(&client));
        let paths: Vec<String> = seen.lock().unwrap().iter().map(|s| s.path.clone()).collect();
        assert_eq!(paths, ["/api/v1/namespaces/default/endpoints/kubernetes"]);
        found
    }

    #[test]
    fn every_address_with_every_tcp_port() {
        let found = endpoints_of(
            200,
            json!({"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "kubernetes", "namespace": "default"},
                   "subsets": [{"addresses": [{"ip": "192.0.2.10"}, {"ip": "192.0.2.11"}],
                                "ports": [{"name": "https", "port": 6443, "protocol": "TCP"}]},
                               {"addresses": [{"ip": "fd00::1"}], "ports": [{"port": 443}]}]}),
        )
        .unwrap();
        let shown: Vec<String> = found.iter().map(ToString::to_string).collect();
        assert_eq!(shown, ["192.0.2.10:6443", "192.0.2.11:6443", "[fd00::1]:443"]);
    }

    #[test]
    fn a_refusal_is_one_line_naming_what_was_read() {
        let error = endpoints_of(
            403,
            json!({"kind": "Status", "code": 403, "reason": "Forbidden", "message": "endpoints \"kubernetes\" is forbidden"}),
        )
        .unwrap_err()
        .to_string();
        assert!(
            error.starts_with("cannot read the Endpoints default/kubernetes"),
            "{error}"
        );
        assert!(error.contains("forbidden") && !error.contains('\n'), "{error}");
    }
}
