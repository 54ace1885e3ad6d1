//! `--exercise`: after the last probe run, a throwaway client pod of
//! netaudit's own opens one connection to every TCP port of every Service
//! of the chart, by the Service's name (the sandbox's DNS), and says which
//! answered. Its connections are flows too, of origin `exercise`, so the
//! report shows which workload and target port each Service port reached.
//!
//! The client runs `sh` and busybox's (or any) `nc`: `nc -w 2 NAME PORT
//! </dev/null` connects, sends nothing, and ends; a refused or silent port
//! ends it with a failure within two seconds.

use crate::model::{FlowOrigin, Index, Protocol, TriedPort};

/// The client pod's name in the sandbox (after the sandbox's own).
pub const CLIENT_NAME: &str = "exercise";

/// Marks the client's answers among whatever else it prints.
const MARK: &str = "@@netaudit ";

/// Seconds `nc` waits for a connection.
const CONNECT_SECONDS: u32 = 2;

/// A client pod of netaudit's own, for a sandbox to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientPod {
    /// Its name within the sandbox (the sandbox prefixes its own).
    pub name: String,
    pub image: String,
    /// Run with `sh -c`.
    pub script: String,
    pub origin: FlowOrigin,
}

/// How a client pod ended: what it printed, and why it did not finish if
/// it did not.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientRun {
    /// The sandbox's name for the pod.
    pub pod: String,
    pub output: String,
    pub failed: Option<String>,
}

/// The client and the ports it tries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub client: ClientPod,
    pub ports: Vec<(String, u16)>,
}

/// The exercise of `index`'s Services with a client of `image`; `None`
/// when the chart has no TCP Service port to try.
pub fn plan(index: &Index<'_>, image: &str) -> Option<Plan> {
    let ports = service_ports(index);
    (!ports.is_empty()).then(|| Plan {
        client: client(image, &ports),
        ports,
    })
}

/// The Service ports to try: (Service, port), TCP only (a UDP port answers
/// nothing to an empty datagram), ExternalNames left out (they are not the
/// chart's pods). In the order of the manifests.
pub fn service_ports(index: &Index<'_>) -> Vec<(String, u16)> {
    index
        .services
        .iter()
        .filter(|s| s.external_name().is_none())
        .flat_map(|s| {
            s.ports
                .iter()
                .filter(|p| p.protocol == Protocol::Tcp)
                .map(|p| (s.obj.name.clone(), p.port))
        })
        .filter(|(name, _)| is_dns_name(name))
        .collect()
}

/// The client that tries `ports` (from [`service_ports`]), with `image`.
pub fn client(image: &str, ports: &[(String, u16)]) -> ClientPod {
    // A second first: a sandbox that watches the client's sockets from
    // inside (kube: an exec) attaches before the first connection.
    let mut script = format!(
        "sleep 1\nt() {{ if nc -w {CONNECT_SECONDS} \"$1\" \"$2\" </dev/null >/dev/null 2>&1; then echo \"{MARK}answered $3\"; \
         else echo \"{MARK}silent $3\"; fi; }}\n"
    );
    for (i, (service, port)) in ports.iter().enumerate() {
        script.push_str(&format!("t {service} {port} {i}\n"));
    }
    // And a second last: its closed connections wait in TIME_WAIT, on its
    // side, for the watch's next sample.
    script.push_str(&format!("echo \"{MARK}done\"\nsleep 1\n"));
    ClientPod {
        name: CLIENT_NAME.into(),
        image: image.into(),
        script,
        origin: FlowOrigin::Exercise,
    }
}

/// The ports the client's output says it tried, in the order asked; a port
/// it did not get to (it was stopped) is left out.
pub fn tried(output: &str, ports: &[(String, u16)]) -> Vec<TriedPort> {
    let mut tried = Vec::new();
    for line in output.lines() {
        let Some(rest) = line.trim().strip_prefix(MARK) else {
            continue;
        };
        let Some((verdict, index)) = rest.split_once(' ') else {
            continue;
        };
        let answered = match verdict {
            "answered" => true,
            "silent" => false,
            _ => continue,
        };
        if let Some((service, port)) = index.trim().parse::<usize>().ok().and_then(|i| ports.get(i)) {
            tried.push(TriedPort {
                service: service.clone(),
                port: *port,
                protocol: Protocol::Tcp,
                answered,
            });
        }
    }
    tried
}

/// Whether the client ran to its end (it prints `done` last).
pub fn finished(output: &str) -> bool {
    output.lines().any(|l| l.trim() == format!("{MARK}done"))
}

/// A Service name as a shell word and a DNS label: nothing else is put in
/// the script.
fn is_dns_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Detail, Input, Manifests};

    #[test]
    fn every_tcp_port_of_every_service_is_tried_and_read_back() {
        let text = "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  selector: {app: web}\n  ports: [{port: 80}, {port: 53, protocol: UDP}, {port: 443}]\n---\n\
apiVersion: v1\nkind: Service\nmetadata: {name: away}\nspec: {type: ExternalName, externalName: example.com}\n---\n\
apiVersion: v1\nkind: Service\nmetadata: {name: db}\nspec:\n  selector: {app: db}\n  ports: [{port: 5432}]\n";
        let manifests = Manifests::load(vec![Input::new("m.yaml", "m", "shop", text.into())], Detail::Checks).unwrap();
        let ports = service_ports(&manifests.index());
        assert_eq!(ports, [("web".into(), 80), ("web".into(), 443), ("db".into(), 5432)]);
        let client = client("busybox:1.36", &ports);
        assert!(
            client.script.contains("t web 80 0\nt web 443 1\nt db 5432 2\n"),
            "{}",
            client.script
        );
        let output = "@@netaudit answered 0\n@@netaudit silent 1\nnoise\n@@netaudit answered 2\n@@netaudit done\n";
        let tried: Vec<(String, u16, bool)> = tried(output, &ports)
            .into_iter()
            .map(|t| (t.service, t.port, t.answered))
            .collect();
        assert_eq!(
            tried,
            [
                ("web".into(), 80, true),
                ("web".into(), 443, false),
                ("db".into(), 5432, true)
            ]
        );
        assert!(finished(output));
        assert!(!finished("@@netaudit answered 0\n"));
    }
}
