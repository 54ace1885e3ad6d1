//! The connection to the current kube context, shared by what reads the
//! cluster: `lint --cluster` (`source::cluster`), the kube sandbox and
//! `audit` (`probe::kube`): the client from `KUBECONFIG`/`HELM_KUBECONTEXT`
//! with errors on one line, and blocking calls that an interrupt ends.

use crate::source::interrupt::{self, Interrupted};
use anyhow::{Context, Result};
use kube::Client;
use std::future::Future;
use std::time::Duration;

pub(crate) fn env_nonempty(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

pub(crate) fn new_runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// A client for the current context: `KUBECONFIG` (or ~/.kube/config),
/// `HELM_KUBECONTEXT` when set, else the in-cluster config.
pub(crate) async fn client_from_environment() -> Result<Client> {
    client_of(config_from_environment().await?)
}

/// Where the client goes, as a person reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target {
    /// The kubeconfig context (`HELM_KUBECONTEXT`, else the current one).
    pub(crate) context: Option<String>,
    pub(crate) server: String,
}

impl Target {
    /// "context `kind-dev`", or "server https://…" without a context.
    pub(crate) fn cluster(&self) -> String {
        match &self.context {
            Some(context) => format!("context `{context}`"),
            None => format!("server {}", self.server),
        }
    }
}

/// "context `kind-dev` (server https://127.0.0.1:6443)".
impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.context {
            Some(context) => write!(f, "context `{context}` (server {})", self.server),
            None => write!(f, "server {}", self.server),
        }
    }
}

/// The client, and where it goes.
pub(crate) async fn client_and_target() -> Result<(Client, Target)> {
    let config = config_from_environment().await?;
    let context = match env_nonempty("HELM_KUBECONTEXT") {
        Some(context) => Some(context),
        None => kube::config::Kubeconfig::read().ok().and_then(|k| k.current_context),
    };
    let target = Target {
        context,
        server: config.cluster_url.to_string(),
    };
    Ok((client_of(config)?, target))
}

fn client_of(config: kube::Config) -> Result<Client> {
    Client::try_from(config).map_err(|e| anyhow::anyhow!("cannot create the Kubernetes client: {}", innermost(&e)))
}

async fn config_from_environment() -> Result<kube::Config> {
    if let Some(missing) = missing_kubeconfig() {
        anyhow::bail!("no Kubernetes cluster configured: {missing}");
    }
    // kube-rs chains every attempt and repeats the OS error at each level:
    // one line, with the innermost cause, is what a user can act on.
    let config = match env_nonempty("HELM_KUBECONTEXT") {
        Some(context) => {
            let options = kube::config::KubeConfigOptions {
                context: Some(context.clone()),
                ..Default::default()
            };
            kube::Config::from_kubeconfig(&options)
                .await
                .map_err(|e| anyhow::anyhow!("cannot load the kubeconfig context {context}: {}", innermost(&e)))?
        }
        None => kube::Config::infer().await.map_err(|e| {
            let from = match std::env::var_os("KUBECONFIG").filter(|v| !v.is_empty()) {
                Some(list) => format!("KUBECONFIG={}", list.to_string_lossy()),
                None => "~/.kube/config".to_string(),
            };
            anyhow::anyhow!("cannot load the Kubernetes configuration ({from}): {}", innermost(&e))
        })?,
    };
    Ok(config)
}

/// Why there is no kubeconfig to read, when there is none: KUBECONFIG names
/// only files that do not exist, or it is unset, `~/.kube/config` does not
/// exist and this is not a pod of a cluster.
fn missing_kubeconfig() -> Option<String> {
    if std::env::var_os("KUBERNETES_SERVICE_HOST").is_some() {
        return None;
    }
    match std::env::var_os("KUBECONFIG").filter(|v| !v.is_empty()) {
        Some(list) => {
            let paths: Vec<std::path::PathBuf> = std::env::split_paths(&list).collect();
            paths.iter().all(|p| !p.exists()).then(|| {
                let shown: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
                format!("KUBECONFIG names {}, which does not exist", shown.join(", "))
            })
        }
        None => {
            let default = std::env::var_os("HOME").map(|home| std::path::Path::new(&home).join(".kube/config"))?;
            (!default.exists()).then(|| format!("{} does not exist and KUBECONFIG is not set", default.display()))
        }
    }
}

/// The deepest cause of an error: the one that says what is wrong.
pub(crate) fn innermost(error: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = error;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

/// A kube error in one line a user can act on: the API server's own answer
/// (`403 Forbidden: pods "web" is forbidden: …`), else the innermost cause.
pub(crate) fn kube_message(error: &kube::Error) -> String {
    match error {
        kube::Error::Api(response) => format!(
            "the API server answered {} {}: {}",
            response.code, response.reason, response.message
        ),
        other => innermost(other),
    }
}

/// `what` failed with `error`, as one line.
pub(crate) fn api_failed(what: impl std::fmt::Display, error: &kube::Error) -> anyhow::Error {
    anyhow::anyhow!("{what}: {}", kube_message(error))
}

/// `future`, or an error once `limit` has passed: an API server that stops
/// answering ends the step that waits for it.
pub(crate) async fn within<T>(
    limit: Duration,
    what: impl std::fmt::Display,
    future: impl Future<Output = Result<T>>,
) -> Result<T> {
    match tokio::time::timeout(limit, future).await {
        Ok(result) => result,
        Err(_) => anyhow::bail!("{what}: the Kubernetes API server did not answer within {limit:?}"),
    }
}

pub(crate) fn is_status(error: &kube::Error, code: u16) -> bool {
    matches!(error, kube::Error::Api(response) if response.code == code)
}

/// Run `future` to completion on `runtime`, or until Ctrl-C: an API call
/// that hangs (an unresponsive server) never keeps an interrupt waiting.
pub(crate) fn block<T>(runtime: &tokio::runtime::Runtime, future: impl Future<Output = Result<T>>) -> Result<T> {
    runtime.block_on(async {
        tokio::select! {
            result = future => result,
            () = until_interrupted() => Err(Interrupted.into()),
        }
    })
}

async fn until_interrupted() {
    while !interrupt::interrupted() {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A fake API server for the tests of what makes one or two requests.
#[cfg(test)]
pub(crate) mod fake {
    use kube::client::Body;
    use kube::Client;
    use std::sync::{Arc, Mutex};

    /// One request as the fake API server saw it.
    #[derive(Debug, Clone, Default)]
    pub(crate) struct Seen {
        pub(crate) method: String,
        pub(crate) path: String,
        pub(crate) query: String,
        pub(crate) content_type: String,
    }

    /// A client on `runtime` whose API server answers every request with
    /// status `code` and `body`, and the requests it saw.
    pub(crate) fn answering(
        runtime: &tokio::runtime::Runtime,
        code: u16,
        body: serde_json::Value,
    ) -> (Client, Arc<Mutex<Vec<Seen>>>) {
        let (service, mut handle) = tower_test::mock::pair::<http::Request<Body>, http::Response<Body>>();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = seen.clone();
        let _guard = runtime.enter();
        runtime.spawn(async move {
            while let Some((request, send)) = handle.next_request().await {
                let header = |name: &str| {
                    request
                        .headers()
                        .get(name)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_string()
                };
                record.lock().unwrap().push(Seen {
                    method: request.method().to_string(),
                    path: request.uri().path().to_string(),
                    query: request.uri().query().unwrap_or_default().to_string(),
                    content_type: header("content-type"),
                });
                let response = http::Response::builder()
                    .status(code)
                    .body(Body::from(serde_json::to_vec(&body).unwrap()))
                    .unwrap();
                send.send_response(response);
            }
        });
        (Client::new(service, "default"), seen)
    }

    pub(crate) fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }
}
