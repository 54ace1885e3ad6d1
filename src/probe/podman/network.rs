//! The sandbox's own network, where the chart's components find each other
//! by their Services' names as they would in a cluster:
//!
//! - an internal podman network named after the sandbox (`--internal`: no
//!   route out; `--disable-dns`: podman's aardvark-dns forwards every name
//!   it does not know to the host's resolvers, internal network or not);
//! - a fixed address per pod, so that the names are known before any pod
//!   starts (a component that resolves its peer at boot finds it);
//! - a DNS server of ours, dnsmasq (Debian's `dnsmasq-base`), on the
//!   network's gateway: it answers `SERVICE.NAMESPACE.svc.cluster.local`
//!   with the addresses of the pods the Service selects, and
//!   `POD.SERVICE.NAMESPACE.svc.cluster.local` for a StatefulSet's pod
//!   under its governing Service (records on its command line: it reads
//!   files only after dropping its privileges, and the plan directory is
//!   private), and forwards nothing (`--no-resolv`): every other name
//!   fails; it ends with netaudit, even when netaudit is killed;
//! - in each pod's network namespace, the Services' ports redirected to
//!   their target ports (a Service name resolves to the pod itself, not to
//!   a virtual address).
//!
//! Nothing of it touches the host's own network configuration: the
//! network, the server and the rules live and die with the sandbox.

use super::host::{podman, run};
use crate::model::Protocol;
use crate::probe::flows::DnsQuery;
use crate::probe::naming::SANDBOX_LABEL;
use anyhow::{bail, Context, Result};
use std::io::BufRead;
use std::net::{IpAddr, Ipv4Addr};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The block the sandbox networks take their /24 from (the test cluster
/// uses 10.217/16 and 10.218/16, podman's own network 10.88/16).
const BLOCK: [u8; 2] = [10, 222];
/// Addresses a /24 gives pods: .2 to .254 (.1 is the gateway).
pub(super) const MAX_PODS: usize = 253;
/// How many /24s to try when another network holds the first.
const SUBNET_TRIES: usize = 32;
/// The cluster's DNS domain, as the kubelet's default.
pub(super) const CLUSTER_DOMAIN: &str = "cluster.local";

/// A Service port that reaches a different port of the pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Redirect {
    pub(super) protocol: Protocol,
    pub(super) port: u16,
    pub(super) target: u16,
}

/// What a pod's resolver is told: the sandbox's DNS server, and the
/// search list of a pod of `namespace`, as the kubelet writes it.
pub(super) struct Resolver {
    pub(super) nameserver: Ipv4Addr,
}

impl Resolver {
    /// The pod spec's `dnsPolicy: None` with this `dnsConfig`.
    pub(super) fn dns_config(&self, namespace: &str) -> serde_json::Value {
        serde_json::json!({
            "nameservers": [self.nameserver.to_string()],
            "searches": [
                format!("{namespace}.svc.{CLUSTER_DOMAIN}"),
                format!("svc.{CLUSTER_DOMAIN}"),
                CLUSTER_DOMAIN,
            ],
            "options": [{"name": "ndots", "value": "5"}],
        })
    }
}

/// The sandbox's network and its DNS server.
pub(super) struct Network {
    pub(super) name: String,
    /// The third byte of the network's /24 in [`BLOCK`].
    subnet: u8,
    dns: Option<Child>,
    /// The queries the DNS server logged, read from its log by a thread.
    queries: Option<mpsc::Receiver<DnsQuery>>,
}

impl Network {
    /// Create the network of sandbox `name` (labelled as the sandbox's, so
    /// that cleanup finds it).
    pub(super) fn create(name: &str) -> Result<Network> {
        let first = name.bytes().fold(0u8, |hash, b| hash.wrapping_mul(31).wrapping_add(b));
        let mut last_error = None;
        for attempt in 0..SUBNET_TRIES {
            let subnet = first.wrapping_add(attempt as u8);
            let network = Network {
                name: name.to_string(),
                subnet,
                dns: None,
                queries: None,
            };
            let created = run(podman()
                .args(["network", "create", "--internal", "--disable-dns", "--label"])
                .arg(format!("{SANDBOX_LABEL}={name}"))
                .arg("--subnet")
                .arg(format!("{}/24", network.address(0)))
                .arg("--gateway")
                .arg(network.gateway().to_string())
                .arg(name));
            match created {
                Ok(_) => return Ok(network),
                // Another network (podman's or the host's) has that subnet.
                Err(error) if error.to_string().contains("subnet") => last_error = Some(error),
                Err(error) => return Err(error.context(format!("cannot create the network {name}"))),
            }
        }
        Err(last_error
            .unwrap_or_else(|| anyhow::anyhow!("no subnet tried"))
            .context(format!(
                "no free /24 in {}.{}.0.0/16 for the network {name}",
                BLOCK[0], BLOCK[1]
            )))
    }

    fn address(&self, host: u8) -> Ipv4Addr {
        Ipv4Addr::new(BLOCK[0], BLOCK[1], self.subnet, host)
    }

    pub(super) fn gateway(&self) -> Ipv4Addr {
        self.address(1)
    }

    /// The address of the sandbox's `i`-th pod.
    pub(super) fn pod_address(&self, i: usize) -> Ipv4Addr {
        // `MAX_PODS` is checked when the sandbox is planned.
        self.address(u8::try_from(i + 2).unwrap_or(u8::MAX))
    }

    /// The address of pod `i` when the network has one for it (a client
    /// after the plan's pods may find none left).
    pub(super) fn checked_pod_address(&self, i: usize) -> Option<Ipv4Addr> {
        (i < MAX_PODS).then(|| self.pod_address(i))
    }

    /// Which pod has the address `address` (the inverse of
    /// [`Network::pod_address`]).
    pub(super) fn pod_at(&self, address: std::net::IpAddr) -> Option<usize> {
        match address {
            std::net::IpAddr::V4(v4) => {
                let [a, b, subnet, host] = v4.octets();
                ([a, b] == BLOCK && subnet == self.subnet && host >= 2).then(|| usize::from(host) - 2)
            }
            std::net::IpAddr::V6(_) => None,
        }
    }

    pub(super) fn resolver(&self) -> Resolver {
        Resolver {
            nameserver: self.gateway(),
        }
    }

    /// Start the DNS server with `records`: the names of each address. It
    /// binds the gateway's address as soon as podman brings the bridge up
    /// (with the first pod).
    pub(super) fn start_dns(&mut self, records: &[(Ipv4Addr, Vec<String>)]) -> Result<()> {
        let mut command = Command::new("sh");
        command
            .args(["-c", SUPERVISOR, "dnsmasq"])
            .args(dnsmasq_arguments(self.gateway(), records))
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = command
            .spawn()
            .map_err(|e| anyhow::anyhow!("cannot run sh for dnsmasq: {e}"))?;
        // A server that cannot start (its address taken, a bad option)
        // says so at once.
        let deadline = Instant::now() + Duration::from_millis(300);
        while Instant::now() < deadline {
            if let Some(status) = child.try_wait().context("cannot wait for dnsmasq")? {
                let mut why = String::new();
                if let Some(mut stderr) = child.stderr.take() {
                    let _ = std::io::Read::read_to_string(&mut stderr, &mut why);
                }
                if status.code() == Some(127) {
                    bail!(
                        "dnsmasq not found: the podman sandbox answers the Services' names with it (Debian: apt-get install dnsmasq-base)"
                    );
                }
                bail!(
                    "the sandbox's DNS server (dnsmasq) stopped at once ({status}): {}",
                    why.trim()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        // The log must be read as it comes: a full pipe would stop the server.
        if let Some(log) = child.stderr.take() {
            let (sender, receiver) = mpsc::channel();
            std::thread::spawn(move || read_queries(std::io::BufReader::new(log), &sender));
            self.queries = Some(receiver);
        }
        self.dns = Some(child);
        Ok(())
    }

    /// The queries the DNS server answered since last asked.
    pub(super) fn dns_queries(&self) -> Vec<DnsQuery> {
        self.queries.as_ref().map_or_else(Vec::new, |q| q.try_iter().collect())
    }

    /// Stop the DNS server: its supervisor ends it when its input closes
    /// (the network goes with the sandbox's pods:
    /// [`super::leftovers::remove_sandbox`]).
    pub(super) fn stop_dns(&mut self) {
        if let Some(mut child) = self.dns.take() {
            drop(child.stdin.take());
            let _ = child.wait();
        }
    }
}

impl Drop for Network {
    fn drop(&mut self) {
        self.stop_dns();
    }
}

/// dnsmasq as the sandbox's cluster DNS: only `records`, on the gateway,
/// nothing forwarded, no configuration file of the machine's.
fn dnsmasq_arguments(gateway: Ipv4Addr, records: &[(Ipv4Addr, Vec<String>)]) -> Vec<String> {
    let mut arguments: Vec<String> = vec![
        "--keep-in-foreground".into(),
        "--conf-file=/dev/null".into(),
        "--no-resolv".into(),
        "--no-hosts".into(),
        "--no-poll".into(),
        "--bind-dynamic".into(),
        format!("--listen-address={gateway}"),
        "--pid-file=".into(),
        format!("--local=/{CLUSTER_DOMAIN}/"),
        "--cache-size=0".into(),
        // Each query and its answer, on stderr: the flows to the DNS.
        "--log-queries".into(),
        "--log-facility=-".into(),
    ];
    arguments.extend(
        records
            .iter()
            .filter(|(_, names)| !names.is_empty())
            .map(|(address, names)| format!("--host-record={},{address}", names.join(","))),
    );
    arguments
}

/// Read dnsmasq's log (`--log-queries`): each `query[TYPE] NAME from
/// ADDRESS` line, and the line after it that says the answer (`config NAME
/// is 10.222.5.2`, or `is NXDOMAIN`, `is NODATA-IPv6`, `error is REFUSED`).
fn read_queries(log: impl BufRead, queries: &mpsc::Sender<DnsQuery>) {
    let mut asked: Option<(Instant, IpAddr, String)> = None;
    for line in log.lines().map_while(Result::ok) {
        let Some((_, message)) = line.split_once("]: ") else {
            continue;
        };
        if let Some(rest) = message.strip_prefix("query[") {
            if let Some((at, from, name)) = asked.take() {
                let _ = queries.send(DnsQuery {
                    at,
                    from,
                    name,
                    answered: false,
                });
            }
            let parsed = rest
                .split_once("] ")
                .and_then(|(_, rest)| rest.rsplit_once(" from "))
                .and_then(|(name, from)| Some((name.to_string(), from.trim().parse().ok()?)));
            if let Some((name, from)) = parsed {
                asked = Some((Instant::now(), from, name));
            }
        } else if let Some((at, from, name)) = asked.take() {
            let answered = message
                .rsplit_once(" is ")
                .is_some_and(|(_, answer)| answer.trim().parse::<IpAddr>().is_ok());
            if queries
                .send(DnsQuery {
                    at,
                    from,
                    name,
                    answered,
                })
                .is_err()
            {
                return;
            }
        }
    }
}

/// dnsmasq (`$0`, its arguments after) under a shell that ends it when
/// its input closes: when netaudit stops it, and when netaudit ends, even
/// by SIGKILL (the kernel closes the pipe). `PR_SET_PDEATHSIG` would not
/// do: dnsmasq drops to `nobody`, and a change of user clears it. The
/// shell ends when dnsmasq does, so a server that cannot start is seen.
const SUPERVISOR: &str =
    r#"exec 3<&0; "$0" "$@" 3<&- </dev/null & server=$!; (read -r _ <&3; kill "$server" 2>/dev/null) & wait "$server""#;

/// Redirect each Service port to its target port in the network namespace
/// of the process `infra` (the pod's infra container), for connections to
/// `address` from other pods and from the pod itself.
pub(super) fn redirect_ports(infra: u32, address: Ipv4Addr, redirects: &[Redirect]) -> Result<()> {
    for redirect in redirects {
        let protocol = match redirect.protocol {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
            // iptables' REDIRECT takes TCP, UDP, DCCP and SCTP; SCTP needs
            // a kernel module the sandbox may not have: left as it is.
            Protocol::Sctp => continue,
        };
        for chain in ["PREROUTING", "OUTPUT"] {
            run(Command::new("nsenter")
                .arg("-t")
                .arg(infra.to_string())
                .args([
                    "-n", "--", "iptables", "-w", "-t", "nat", "-A", chain, "-p", protocol, "-d",
                ])
                .arg(address.to_string())
                .arg("--dport")
                .arg(redirect.port.to_string())
                .args(["-j", "REDIRECT", "--to-ports"])
                .arg(redirect.target.to_string()))
            .with_context(|| {
                format!(
                    "cannot redirect port {} to {} in the pod at {address}",
                    redirect.port, redirect.target
                )
            })?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dns_log_gives_each_query_and_whether_it_was_answered() {
        let log = "dnsmasq[7]: started, version 2.90 cache disabled
dnsmasq[7]: query[A] web.shop.svc.cluster.local.shop.svc.cluster.local from 10.222.7.3
dnsmasq[7]: config web.shop.svc.cluster.local.shop.svc.cluster.local is NXDOMAIN
dnsmasq[7]: query[A] web.shop.svc.cluster.local from 10.222.7.3
dnsmasq[7]: config web.shop.svc.cluster.local is 10.222.7.2
dnsmasq[7]: query[AAAA] web.shop.svc.cluster.local from 10.222.7.3
dnsmasq[7]: config web.shop.svc.cluster.local is NODATA-IPv6
dnsmasq[7]: query[A] example.com from 10.222.7.4
dnsmasq[7]: config error is REFUSED (EDE: not ready)
dnsmasq[7]: query[A] cut.off from 10.222.7.4
";
        let (sender, receiver) = mpsc::channel();
        read_queries(log.as_bytes(), &sender);
        let queries: Vec<(String, String, bool)> = receiver
            .try_iter()
            .map(|q| (q.from.to_string(), q.name, q.answered))
            .collect();
        let from = |n: u8| format!("10.222.7.{n}");
        assert_eq!(
            queries,
            [
                (
                    from(3),
                    "web.shop.svc.cluster.local.shop.svc.cluster.local".into(),
                    false
                ),
                (from(3), "web.shop.svc.cluster.local".into(), true),
                (from(3), "web.shop.svc.cluster.local".into(), false),
                (from(4), "example.com".into(), false),
            ]
        );
    }

    #[test]
    fn the_dns_server_answers_its_records_only_and_forwards_nothing() {
        let records = [
            (
                Ipv4Addr::new(10, 222, 7, 2),
                vec!["web.shop.svc.cluster.local".to_string()],
            ),
            (Ipv4Addr::new(10, 222, 7, 3), vec![]),
            (
                Ipv4Addr::new(10, 222, 7, 4),
                vec![
                    "db.shop.svc.cluster.local".into(),
                    "db-0.db.shop.svc.cluster.local".into(),
                ],
            ),
        ];
        let arguments = dnsmasq_arguments(Ipv4Addr::new(10, 222, 7, 1), &records);
        for expected in [
            "--no-resolv",
            "--no-hosts",
            "--conf-file=/dev/null",
            "--listen-address=10.222.7.1",
            "--local=/cluster.local/",
            "--host-record=web.shop.svc.cluster.local,10.222.7.2",
            "--host-record=db.shop.svc.cluster.local,db-0.db.shop.svc.cluster.local,10.222.7.4",
        ] {
            assert!(
                arguments.iter().any(|a| a == expected),
                "{expected} missing: {arguments:?}"
            );
        }
        assert_eq!(arguments.iter().filter(|a| a.starts_with("--host-record")).count(), 2);
        assert!(!arguments.iter().any(|a| a.starts_with("--server")));
    }

    #[test]
    fn a_pods_address_names_the_pod_back() {
        let network = Network {
            name: "netaudit-x-000000".into(),
            subnet: 7,
            dns: None,
            queries: None,
        };
        for i in [0, 1, 252] {
            assert_eq!(network.pod_at(network.pod_address(i).into()), Some(i));
        }
        for other in ["10.222.7.1", "10.222.8.2", "10.88.0.2", "::1"] {
            assert_eq!(network.pod_at(other.parse().unwrap()), None, "{other}");
        }
    }

    #[test]
    fn a_pod_resolves_as_in_its_namespace() {
        let config = Resolver {
            nameserver: Ipv4Addr::new(10, 222, 7, 1),
        }
        .dns_config("shop");
        assert_eq!(config["nameservers"][0], "10.222.7.1");
        assert_eq!(config["searches"][0], "shop.svc.cluster.local");
        assert_eq!(config["options"][0]["value"], "5");
    }
}
