//! The socket reader run in each container, and its output's parser.

use crate::model::{OpenSocket, Protocol};
use crate::probe::procnet;
use anyhow::{Context, Result};
use std::collections::{BTreeMap, BTreeSet};

/// Markers between the sections of the reader's output.
const MARK: &str = "@@netaudit ";

/// The reader run in each container: the four socket tables, the ephemeral
/// port range, and the fd links of every process in the container's PID
/// namespace. `end` proves the shell ran to completion.
pub const READER_SCRIPT: &str =
    "for f in tcp tcp6 udp udp6; do echo \"@@netaudit $f\"; cat /proc/net/$f 2>/dev/null; done; \
echo '@@netaudit range'; cat /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null; \
echo '@@netaudit fds'; ls -l /proc/[0-9]*/fd/ 2>/dev/null; echo '@@netaudit end'";

/// What the reader printed in one container.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContainerReading {
    pub sockets: Vec<OpenSocket>,
    pub ephemeral_range: Option<(u16, u16)>,
    /// Socket inodes held by the processes the container sees.
    pub socket_inodes: BTreeSet<u64>,
}

/// Parse [`READER_SCRIPT`]'s output; `None` when it did not run to the end
/// (no shell, no `cat`): the caller then tries a debug container.
pub fn parse_reading(output: &str) -> Result<Option<ContainerReading>> {
    let mut sections: BTreeMap<&str, String> = BTreeMap::new();
    let mut current: Option<&str> = None;
    for line in output.lines() {
        if let Some(name) = line.strip_prefix(MARK) {
            let name = name.trim();
            sections.entry(name).or_default();
            current = Some(name);
            continue;
        }
        if let Some(name) = current {
            let text = sections.entry(name).or_default();
            text.push_str(line);
            text.push('\n');
        }
    }
    if !sections.contains_key("end") {
        return Ok(None);
    }
    let mut reading = ContainerReading::default();
    for (name, protocol, v6) in [
        ("tcp", Protocol::Tcp, false),
        ("tcp6", Protocol::Tcp, true),
        ("udp", Protocol::Udp, false),
        ("udp6", Protocol::Udp, true),
    ] {
        let text = sections.get(name).map(String::as_str).unwrap_or("");
        reading
            .sockets
            .extend(procnet::parse(text, protocol, v6).with_context(|| format!("cannot parse /proc/net/{name}"))?);
    }
    if sections.get("tcp").is_none_or(|t| t.trim().is_empty()) {
        // cat printed nothing at all: not a reading.
        return Ok(None);
    }
    reading.sockets.sort();
    reading.sockets.dedup();
    reading.ephemeral_range = sections.get("range").and_then(|t| {
        let mut parts = t.split_whitespace().map(|p| p.parse::<u16>().ok());
        Some((parts.next()??, parts.next()??))
    });
    if let Some(fds) = sections.get("fds") {
        let mut rest = fds.as_str();
        while let Some(start) = rest.find("socket:[") {
            rest = &rest[start + "socket:[".len()..];
            let end = rest.find(']').unwrap_or(0);
            if let Ok(inode) = rest[..end].parse::<u64>() {
                reading.socket_inodes.insert(inode);
            }
            rest = &rest[end..];
        }
    }
    Ok(Some(reading))
}
