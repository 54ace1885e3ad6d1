//! Parsing `/proc/net/{tcp,tcp6,udp,udp6}`: the sockets of one network
//! namespace, as the kernel lists them (`/proc/<pid>/net/*` shows the
//! namespace of process `<pid>`).
//!
//! Each file is a header line, then one row per socket:
//!
//! ```text
//!   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ...
//!    0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 105875 ...
//! ```
//!
//! # Byte order
//!
//! The kernel prints each address as the raw in-memory `u32` words of the
//! (network-order) address, with `%08X`: one word for IPv4, four for IPv6.
//! So the printed hex is the address's bytes read as a *host-order* integer:
//! on a little-endian host `127.0.0.1` prints as `0100007F`, on a big-endian
//! host as `7F000001`. We parse each word with `u32::from_str_radix` and get
//! the address bytes back with `u32::to_ne_bytes`, which is right on any
//! host as long as the file was produced by a kernel of the same byte order
//! as ours (the files are read live; captured test files come from x86_64,
//! little-endian, and their tests only run there). Ports are printed after
//! `ntohs`, so they are plain big-endian hex numbers.

use std::collections::BTreeSet;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

use crate::model::{Connection, OpenSocket, Protocol};

/// `TCP_ESTABLISHED`: a connected UDP socket shows this state too.
const STATE_ESTABLISHED: u8 = 0x01;
/// `TCP_SYN_SENT`: a connection asked for, not answered yet.
const STATE_SYN_SENT: u8 = 0x02;
/// `TCP_CLOSE`: what an unconnected UDP socket shows.
const STATE_CLOSE: u8 = 0x07;
/// `TCP_LISTEN`.
const STATE_LISTEN: u8 = 0x0A;

/// The fields every row has up to and including `inode`.
const MIN_FIELDS: usize = 10;

#[derive(Debug, thiserror::Error)]
pub enum ProcNetError {
    /// A line that is not a socket row (nor the header). `path` is set when
    /// the text came from a file.
    #[error("{}line {line}: {reason}", file_prefix(.path))]
    Malformed {
        path: Option<PathBuf>,
        line: usize,
        reason: String,
    },
    #[error("cannot read {}: {source}", .path.display())]
    Read { path: PathBuf, source: io::Error },
}

fn file_prefix(path: &Option<PathBuf>) -> String {
    match path {
        Some(p) => format!("{}: ", p.display()),
        None => String::new(),
    }
}

impl ProcNetError {
    fn in_file(self, file: &Path) -> Self {
        match self {
            ProcNetError::Malformed {
                path: None,
                line,
                reason,
            } => ProcNetError::Malformed {
                path: Some(file.to_path_buf()),
                line,
                reason,
            },
            other => other,
        }
    }
}

/// One row of a `/proc/net/{tcp,udp}*` file, whatever its state.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Row {
    local: (IpAddr, u16),
    remote: (IpAddr, u16),
    state: u8,
    inode: u64,
}

impl Row {
    /// Open as the spec defines it: TCP in LISTEN; UDP bound (a local port)
    /// and not connected (`TCP_CLOSE`, no remote end).
    fn is_open(&self, protocol: Protocol) -> bool {
        match protocol {
            Protocol::Tcp => self.state == STATE_LISTEN,
            Protocol::Udp => {
                self.state == STATE_CLOSE && self.local.1 != 0 && self.remote.1 == 0 && self.remote.0.is_unspecified()
            }
            // No /proc/net file holds SCTP endpoints in this format.
            Protocol::Sctp => false,
        }
    }
}

/// The open sockets in the text of `/proc/net/tcp`, `tcp6`, `udp` or `udp6`
/// (`v6` for the `*6` files), in file order: TCP sockets in LISTEN, UDP
/// sockets bound and not connected. Sockets bound to loopback are included
/// (see [`OpenSocket::is_loopback_only`]). Rows in other states are checked
/// and skipped; any malformed line is an error.
pub fn parse(text: &str, protocol: Protocol, v6: bool) -> Result<Vec<OpenSocket>, ProcNetError> {
    Ok(rows(text, v6)?
        .into_iter()
        .filter(|row| row.is_open(protocol))
        .map(|row| OpenSocket {
            protocol,
            address: row.local.0,
            port: row.local.1,
            inode: row.inode,
        })
        .collect())
}

/// Every socket row of a table's text, in file order; any malformed line
/// is an error.
fn rows(text: &str, v6: bool) -> Result<Vec<Row>, ProcNetError> {
    let mut rows = Vec::new();
    for (index, line) in text.lines().enumerate() {
        match parse_line(line, v6) {
            Ok(Some(row)) => rows.push(row),
            Ok(None) => continue,
            Err(reason) => {
                return Err(ProcNetError::Malformed {
                    path: None,
                    line: index + 1,
                    reason,
                })
            }
        }
    }
    Ok(rows)
}

/// The connections of a network namespace with another end, from the
/// text of its tables (`(protocol, v6, text)`): TCP connections in any
/// state after the handshake, closing ones included (a connection that
/// lasted a few milliseconds stays in `TIME_WAIT` for a minute on the side
/// that closed first), TCP attempts (`SYN_SENT`), and connected UDP
/// sockets. A TCP connection whose local port listens is the server's side
/// (`accepted`). Loopback is a pod talking to itself: left out.
pub fn connections(tables: &[(Protocol, bool, String)]) -> Result<Vec<Connection>, ProcNetError> {
    let mut listening = BTreeSet::new();
    let mut candidates = Vec::new();
    for (protocol, v6, text) in tables {
        for row in rows(text, *v6)? {
            if *protocol == Protocol::Tcp && row.state == STATE_LISTEN {
                listening.insert(row.local.1);
            }
            candidates.push((*protocol, row));
        }
    }
    let mut connections: Vec<Connection> = candidates
        .into_iter()
        .filter(|(_, row)| !row.remote.0.is_unspecified() && row.remote.1 != 0)
        .filter(|(_, row)| !unmapped(row.remote.0).is_loopback())
        .filter_map(|(protocol, row)| {
            let completed = match (protocol, row.state) {
                (Protocol::Tcp, STATE_SYN_SENT) => false,
                (Protocol::Tcp, STATE_LISTEN | STATE_CLOSE) => return None,
                (Protocol::Tcp, 0x01..=0x0B) => true,
                (Protocol::Udp, STATE_ESTABLISHED) => true,
                _ => return None,
            };
            Some(Connection {
                protocol,
                local: (unmapped(row.local.0), row.local.1),
                remote: (unmapped(row.remote.0), row.remote.1),
                accepted: protocol == Protocol::Tcp && row.state != STATE_SYN_SENT && listening.contains(&row.local.1),
                completed,
                inode: row.inode,
            })
        })
        .collect();
    connections.sort();
    connections.dedup();
    Ok(connections)
}

/// An IPv4 address as the IPv6 socket of a dual-stack server shows it
/// (`::ffff:a.b.c.d`), as IPv4.
fn unmapped(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
        v4 => v4,
    }
}

/// [`connections`] of the namespace of `/proc/<pid>` (`proc_root`).
pub fn read_connections(proc_root: &Path) -> Result<Vec<Connection>, ProcNetError> {
    let mut tables = Vec::new();
    for (name, protocol, v6) in TABLES {
        let path = proc_root.join("net").join(name);
        match std::fs::read_to_string(&path) {
            Ok(text) => tables.push((protocol, v6, text)),
            Err(e) if v6 && e.kind() == io::ErrorKind::NotFound => continue,
            Err(source) => return Err(ProcNetError::Read { path, source }),
        }
    }
    connections(&tables)
}

/// The four tables of a network namespace: (file, protocol, IPv6).
const TABLES: [(&str, Protocol, bool); 4] = [
    ("tcp", Protocol::Tcp, false),
    ("tcp6", Protocol::Tcp, true),
    ("udp", Protocol::Udp, false),
    ("udp6", Protocol::Udp, true),
];

/// A socket row, or `None` for the header line and blank lines.
fn parse_line(line: &str, v6: bool) -> Result<Option<Row>, String> {
    let fields: Vec<&str> = line.split_ascii_whitespace().collect();
    let Some(&first) = fields.first() else {
        return Ok(None);
    };
    if first == "sl" {
        return Ok(None);
    }
    let [sl, local, remote, state, _queues, _timer, _retransmits, _uid, _timeout, inode, ..] = fields.as_slice() else {
        return Err(format!(
            "expected at least {MIN_FIELDS} fields (sl, local_address, rem_address, st, ..., inode), found {}",
            fields.len()
        ));
    };
    let slot_ok = sl
        .strip_suffix(':')
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
    if !slot_ok {
        return Err(format!("slot number {sl:?} is not `N:`"));
    }
    let local = parse_endpoint(local, v6).map_err(|e| format!("local_address {local:?}: {e}"))?;
    let remote = parse_endpoint(remote, v6).map_err(|e| format!("rem_address {remote:?}: {e}"))?;
    let state = match hex_digits(state, 2) {
        Some(s) => u8::from_str_radix(s, 16).map_err(|e| format!("st {state:?}: {e}"))?,
        None => return Err(format!("st {state:?} is not two hex digits")),
    };
    let inode = if !inode.is_empty() && inode.bytes().all(|b| b.is_ascii_digit()) {
        inode.parse::<u64>().map_err(|e| format!("inode {inode:?}: {e}"))?
    } else {
        return Err(format!("inode {inode:?} is not a decimal number"));
    };
    Ok(Some(Row {
        local,
        remote,
        state,
        inode,
    }))
}

/// `s` when it is exactly `len` hex digits (`from_str_radix` alone would
/// also take a sign).
fn hex_digits(s: &str, len: usize) -> Option<&str> {
    (s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit())).then_some(s)
}

/// `ADDRESS:PORT`, address as host-order `u32` words (see the module docs),
/// port as four hex digits.
fn parse_endpoint(s: &str, v6: bool) -> Result<(IpAddr, u16), String> {
    let (address, port) = s.split_once(':').ok_or("no `:` between address and port")?;
    let port = hex_digits(port, 4)
        .and_then(|p| u16::from_str_radix(p, 16).ok())
        .ok_or_else(|| format!("port {port:?} is not four hex digits"))?;
    let address = if v6 {
        let hex = hex_digits(address, 32).ok_or("an IPv6 address is 32 hex digits")?;
        let mut bytes = [0u8; 16];
        for (i, chunk) in bytes.chunks_exact_mut(4).enumerate() {
            let word = hex.get(i * 8..i * 8 + 8).and_then(host_word).ok_or("bad hex")?;
            chunk.copy_from_slice(&word);
        }
        IpAddr::V6(Ipv6Addr::from(bytes))
    } else {
        let bytes = hex_digits(address, 8)
            .and_then(host_word)
            .ok_or("an IPv4 address is 8 hex digits")?;
        IpAddr::V4(Ipv4Addr::from(bytes))
    };
    Ok((address, port))
}

/// The four address bytes behind one printed word: the kernel printed the
/// in-memory `u32` as a number, so its native-endian bytes are the memory.
fn host_word(hex: &str) -> Option<[u8; 4]> {
    u32::from_str_radix(hex, 16).ok().map(u32::to_ne_bytes)
}

/// The open sockets of the network namespace of `proc_root` (`/proc/<pid>`,
/// or `/proc/self`): `net/tcp`, `net/tcp6`, `net/udp` and `net/udp6`. The
/// `*6` files may be missing (IPv6 disabled). Sorted; exact duplicates (same
/// inode, so the same socket) dropped: the kernel emits these files in
/// chunks, and a table that changes between two reads can make it resume at
/// a shifted position and list an entry twice. Different sockets on one port
/// are all kept.
pub fn read_namespace(proc_root: &Path) -> Result<Vec<OpenSocket>, ProcNetError> {
    let mut sockets = Vec::new();
    for (name, protocol, v6) in TABLES {
        let path = proc_root.join("net").join(name);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if v6 && e.kind() == io::ErrorKind::NotFound => continue,
            Err(source) => return Err(ProcNetError::Read { path, source }),
        };
        sockets.extend(parse(&text, protocol, v6).map_err(|e| e.in_file(&path))?);
    }
    sockets.sort();
    sockets.dedup();
    Ok(sockets)
}

/// The inodes of the sockets process `proc_pid_dir` (`/proc/<pid>`) holds
/// open: its `fd/*` links that point at `socket:[N]`. Descriptors closed
/// while we read are skipped.
pub fn socket_inodes_of_process(proc_pid_dir: &Path) -> io::Result<BTreeSet<u64>> {
    let fd_dir = proc_pid_dir.join("fd");
    let entries = std::fs::read_dir(&fd_dir)
        .map_err(|e| io::Error::new(e.kind(), format!("cannot list {}: {e}", fd_dir.display())))?;
    let mut inodes = BTreeSet::new();
    for entry in entries {
        let entry = match entry {
            Ok(entry) => entry,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        let target = match std::fs::read_link(entry.path()) {
            Ok(target) => target,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => {
                return Err(io::Error::new(
                    e.kind(),
                    format!("cannot read link {}: {e}", entry.path().display()),
                ))
            }
        };
        if let Some(inode) = socket_inode(&target) {
            inodes.insert(inode);
        }
    }
    Ok(inodes)
}

/// `N` from a `socket:[N]` link target.
fn socket_inode(target: &Path) -> Option<u64> {
    let digits = target.to_str()?.strip_prefix("socket:[")?.strip_suffix(']')?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// `sys/net/ipv4/ip_local_port_range` under `proc_root` (`/proc/<pid>` for
/// a namespace, `/proc` for our own): the ports the kernel picks for
/// outgoing connections, inclusive.
pub fn ephemeral_port_range(proc_root: &Path) -> Result<(u16, u16), ProcNetError> {
    let path = proc_root.join("sys/net/ipv4/ip_local_port_range");
    let text = std::fs::read_to_string(&path).map_err(|source| ProcNetError::Read {
        path: path.clone(),
        source,
    })?;
    parse_port_range(&text).map_err(|reason| ProcNetError::Malformed {
        path: Some(path),
        line: 1,
        reason,
    })
}

fn parse_port_range(text: &str) -> Result<(u16, u16), String> {
    let port = |s: &str| {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("{s:?} is not a port number"));
        }
        s.parse::<u16>().map_err(|e| format!("{s:?} is not a port number: {e}"))
    };
    let fields: Vec<&str> = text.split_ascii_whitespace().collect();
    let [low, high] = fields.as_slice() else {
        return Err(format!("expected two port numbers, found {} fields", fields.len()));
    };
    let (low, high) = (port(low)?, port(high)?);
    if low > high {
        return Err(format!("range {low}-{high} is empty"));
    }
    Ok((low, high))
}

#[cfg(test)]
mod tests {
    #[test]
    fn connections_say_which_side_and_keep_closing_ones() {
        use super::{connections, Protocol};
        let header =
            "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n";
        let line = |n: usize, local: &str, remote: &str, state: &str, inode: u64| {
            format!("   {n}: {local} {remote} {state} 00000000:00000000 00:00000000 00000000     0        0 {inode} 1 0000000000000000 100 0 0 10 0\n")
        };
        // 10.222.7.3: listens on 8080; a client connection from 41000 to
        // 10.222.7.2:80; the accepted side of a client on 8080; an attempt
        // to 10.222.7.9:443; loopback; a closed one (TIME_WAIT, no inode).
        let tcp = [
            header.to_string(),
            line(0, "00000000:1F90", "00000000:0000", "0A", 11),
            line(1, "0307DE0A:A028", "0207DE0A:0050", "01", 12),
            line(2, "0307DE0A:1F90", "0407DE0A:B000", "01", 13),
            line(3, "0307DE0A:A029", "0907DE0A:01BB", "02", 14),
            line(4, "0100007F:A02A", "0100007F:1F90", "01", 15),
            line(5, "0307DE0A:A02B", "0207DE0A:0050", "06", 0),
        ]
        .concat();
        let udp = [
            header.to_string(),
            line(0, "0307DE0A:C000", "0107DE0A:0035", "01", 16),
            line(1, "00000000:0044", "00000000:0000", "07", 17),
        ]
        .concat();
        let found = connections(&[(Protocol::Tcp, false, tcp), (Protocol::Udp, false, udp)]).unwrap();
        let seen: Vec<(Protocol, String, u16, bool, bool, u64)> = found
            .iter()
            .map(|c| {
                (
                    c.protocol,
                    c.remote.0.to_string(),
                    c.remote.1,
                    c.accepted,
                    c.completed,
                    c.inode,
                )
            })
            .collect();
        let at = |address: &str, port, accepted, completed, inode| {
            (Protocol::Tcp, address.to_string(), port, accepted, completed, inode)
        };
        assert_eq!(
            seen,
            [
                at("10.222.7.4", 45056, true, true, 13),
                at("10.222.7.2", 80, false, true, 12),
                at("10.222.7.9", 443, false, false, 14),
                at("10.222.7.2", 80, false, true, 0),
                (Protocol::Udp, "10.222.7.1".to_string(), 53, false, true, 16),
            ]
        );
    }

    use super::*;

    /// Captured in a private network namespace by `testdata/procnet/capture.py`
    /// (see `testdata/procnet/README.md`).
    const NS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/procnet/ns");
    const TCP: &str = include_str!("../../testdata/procnet/ns/net/tcp");
    const TCP6: &str = include_str!("../../testdata/procnet/ns/net/tcp6");
    const UDP: &str = include_str!("../../testdata/procnet/ns/net/udp");
    const UDP6: &str = include_str!("../../testdata/procnet/ns/net/udp6");

    fn sock(protocol: Protocol, address: &str, port: u16, inode: u64) -> OpenSocket {
        OpenSocket {
            protocol,
            address: address.parse().expect("test address"),
            port,
            inode,
        }
    }

    fn tcp(address: &str, port: u16, inode: u64) -> OpenSocket {
        sock(Protocol::Tcp, address, port, inode)
    }

    fn udp(address: &str, port: u16, inode: u64) -> OpenSocket {
        sock(Protocol::Udp, address, port, inode)
    }

    /// Every row of a capture, decoded, whatever its state.
    fn rows(text: &str, v6: bool) -> Vec<Row> {
        text.lines()
            .filter_map(|l| parse_line(l, v6).expect("captured rows parse"))
            .collect()
    }

    fn row(local: &str, remote: &str, state: u8, inode: u64) -> Row {
        let ep = |s: &str| {
            let a: std::net::SocketAddr = s.parse().expect("test endpoint");
            (a.ip(), a.port())
        };
        Row {
            local: ep(local),
            remote: ep(remote),
            state,
            inode,
        }
    }

    // The captured files' byte order is x86_64's.
    #[cfg(target_endian = "little")]
    mod captured {
        use super::*;

        #[test]
        fn tcp_listen_sockets_only() {
            assert_eq!(
                parse(TCP, Protocol::Tcp, false).unwrap(),
                vec![
                    tcp("192.0.2.1", 8080, 105876),
                    tcp("127.0.0.1", 8080, 105875),
                    tcp("0.0.0.0", 8081, 105877),
                ]
            );
        }

        #[test]
        fn tcp_rows_decode_and_non_listen_states_are_told_apart() {
            assert_eq!(
                rows(TCP, false),
                vec![
                    row("192.0.2.1:8080", "0.0.0.0:0", STATE_LISTEN, 105876),
                    row("127.0.0.1:8080", "0.0.0.0:0", STATE_LISTEN, 105875),
                    row("0.0.0.0:8081", "0.0.0.0:0", STATE_LISTEN, 105877),
                    row("127.0.0.1:40001", "127.0.0.1:8080", STATE_ESTABLISHED, 105878),
                    // TIME_WAIT: no socket, inode 0.
                    row("127.0.0.1:40002", "127.0.0.1:8080", 0x06, 0),
                    row("127.0.0.1:8080", "127.0.0.1:40001", STATE_ESTABLISHED, 105879),
                    row("127.0.0.1:40004", "127.0.0.1:8082", STATE_ESTABLISHED, 105888),
                ]
            );
        }

        #[test]
        fn tcp6_listen_sockets_with_v6_and_v4_mapped_addresses() {
            assert_eq!(
                parse(TCP6, Protocol::Tcp, true).unwrap(),
                vec![
                    tcp("2001:db8::1", 8085, 105885),
                    tcp("::ffff:127.0.0.1", 8084, 105884),
                    tcp("::1", 8083, 105883),
                    tcp("::", 8082, 105882),
                ]
            );
        }

        #[test]
        fn tcp6_established_rows_are_not_open() {
            let established: Vec<Row> = rows(TCP6, true)
                .into_iter()
                .filter(|r| r.state == STATE_ESTABLISHED)
                .collect();
            assert_eq!(
                established,
                vec![
                    row("[::1]:8083", "[::1]:40003", STATE_ESTABLISHED, 105887),
                    row("[::1]:40003", "[::1]:8083", STATE_ESTABLISHED, 105886),
                    // The accepted side of an IPv4 client of the dual-stack listener.
                    row(
                        "[::ffff:127.0.0.1]:8082",
                        "[::ffff:127.0.0.1]:40004",
                        STATE_ESTABLISHED,
                        105889
                    ),
                ]
            );
            assert!(established.iter().all(|r| !r.is_open(Protocol::Tcp)));
        }

        #[test]
        fn udp_bound_unconnected_only() {
            assert_eq!(
                parse(UDP, Protocol::Udp, false).unwrap(),
                vec![
                    udp("0.0.0.0", 9001, 105890),
                    udp("127.0.0.1", 9002, 105891),
                    udp("192.0.2.1", 9005, 105893),
                ]
            );
            // 127.0.0.1:9003, connected to 127.0.0.1:9002, is ESTABLISHED.
            let connected = row("127.0.0.1:9003", "127.0.0.1:9002", STATE_ESTABLISHED, 105892);
            assert!(rows(UDP, false).contains(&connected));
            assert!(!connected.is_open(Protocol::Udp));
        }

        #[test]
        fn udp6_bound_unconnected_only() {
            assert_eq!(
                parse(UDP6, Protocol::Udp, true).unwrap(),
                vec![
                    udp("::", 9001, 105894),
                    udp("::1", 9004, 105895),
                    udp("2001:db8::1", 9005, 105898),
                    udp("::ffff:127.0.0.1", 9007, 105897),
                ]
            );
            let connected = row("[::1]:9006", "[::1]:9004", STATE_ESTABLISHED, 105896);
            assert!(rows(UDP6, true).contains(&connected));
        }

        #[test]
        fn read_namespace_reads_all_four_files_and_keeps_one_port_on_several_addresses() {
            let all = read_namespace(Path::new(NS)).unwrap();
            assert_eq!(all.len(), 14);
            let on = |protocol: Protocol, port: u16| {
                all.iter()
                    .filter(|s| s.protocol == protocol && s.port == port)
                    .map(|s| s.address.to_string())
                    .collect::<Vec<_>>()
            };
            assert_eq!(on(Protocol::Tcp, 8080), ["127.0.0.1", "192.0.2.1"]);
            assert_eq!(on(Protocol::Udp, 9001), ["0.0.0.0", "::"]);
            assert_eq!(on(Protocol::Udp, 9005), ["192.0.2.1", "2001:db8::1"]);
            let mut sorted = all.clone();
            sorted.sort();
            assert_eq!(all, sorted);
        }

        #[test]
        fn loopback_only_sockets_are_recognised() {
            let all = read_namespace(Path::new(NS)).unwrap();
            let (loopback, reachable): (Vec<_>, Vec<_>) = all.iter().partition(|s| s.is_loopback_only());
            let names = |v: Vec<&OpenSocket>| {
                v.iter()
                    .map(|s| {
                        format!(
                            "{}/{}",
                            s.protocol.as_str(),
                            std::net::SocketAddr::new(s.address, s.port)
                        )
                    })
                    .collect::<Vec<_>>()
            };
            assert_eq!(
                names(loopback),
                [
                    "TCP/127.0.0.1:8080",
                    "TCP/[::1]:8083",
                    "TCP/[::ffff:127.0.0.1]:8084",
                    "UDP/127.0.0.1:9002",
                    "UDP/[::1]:9004",
                    "UDP/[::ffff:127.0.0.1]:9007",
                ]
            );
            assert_eq!(
                names(reachable),
                [
                    "TCP/0.0.0.0:8081",
                    "TCP/192.0.2.1:8080",
                    "TCP/[::]:8082",
                    "TCP/[2001:db8::1]:8085",
                    "UDP/0.0.0.0:9001",
                    "UDP/192.0.2.1:9005",
                    "UDP/[::]:9001",
                    "UDP/[2001:db8::1]:9005",
                ]
            );
        }

        #[test]
        fn missing_v6_files_are_not_an_error() {
            let dir = tempfile::tempdir().unwrap();
            std::fs::create_dir(dir.path().join("net")).unwrap();
            std::fs::write(dir.path().join("net/tcp"), TCP).unwrap();
            std::fs::write(dir.path().join("net/udp"), UDP).unwrap();
            let all = read_namespace(dir.path()).unwrap();
            assert_eq!(all.len(), 6);
            assert!(all.iter().all(|s| s.address.is_ipv4()));

            // A missing IPv4 file is.
            std::fs::remove_file(dir.path().join("net/udp")).unwrap();
            let err = read_namespace(dir.path()).unwrap_err();
            assert!(matches!(&err, ProcNetError::Read { path, .. } if path.ends_with("net/udp")));
        }

        #[test]
        fn malformed_file_errors_name_the_file_and_line() {
            let dir = tempfile::tempdir().unwrap();
            std::fs::create_dir(dir.path().join("net")).unwrap();
            std::fs::write(dir.path().join("net/tcp"), TCP).unwrap();
            std::fs::write(dir.path().join("net/udp"), UDP).unwrap();
            let mut bad = UDP6.lines().take(3).collect::<Vec<_>>().join("\n");
            bad.push_str("\n 7999: 0000");
            std::fs::write(dir.path().join("net/udp6"), bad).unwrap();
            let err = read_namespace(dir.path()).unwrap_err();
            let ProcNetError::Malformed { path, line, .. } = &err else {
                panic!("{err:?}")
            };
            assert!(path.as_ref().is_some_and(|p| p.ends_with("net/udp6")));
            assert_eq!(*line, 4);
            assert!(
                err.to_string().contains("udp6: line 4: expected at least 10 fields"),
                "{err}"
            );
        }
    }

    #[test]
    fn ephemeral_range_from_the_capture() {
        assert_eq!(ephemeral_port_range(Path::new(NS)).unwrap(), (50000, 50999));
    }

    #[test]
    fn ephemeral_range_rejects_malformed_text() {
        assert_eq!(parse_port_range("32768\t60999\n"), Ok((32768, 60999)));
        assert_eq!(parse_port_range("1024 1024"), Ok((1024, 1024)));
        for bad in [
            "",
            "32768",
            "32768 60999 1",
            "a 60999",
            "32768 70000",
            "+1 2",
            "60999 32768",
        ] {
            assert!(parse_port_range(bad).is_err(), "{bad:?}");
        }
        let err = ephemeral_port_range(Path::new("/nonexistent/proc")).unwrap_err();
        assert!(matches!(err, ProcNetError::Read { .. }));
    }

    #[test]
    fn header_and_blank_lines_are_skipped() {
        assert_eq!(parse("", Protocol::Tcp, false).unwrap(), vec![]);
        let header = TCP.lines().next().unwrap();
        assert_eq!(parse(&format!("{header}\n\n"), Protocol::Tcp, false).unwrap(), vec![]);
    }

    #[test]
    fn byte_order_is_host_order_words() {
        let word = |bytes: [u8; 4]| format!("{:08X}", u32::from_ne_bytes(bytes));
        // Build rows the way the kernel prints them on this host.
        let v4 = format!(
            "0: {}:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 7",
            word([10, 1, 2, 3])
        );
        assert_eq!(
            parse(&v4, Protocol::Tcp, false).unwrap(),
            vec![tcp("10.1.2.3", 8080, 7)]
        );
        let a: Ipv6Addr = "fd00:1:2:3:4:5:6:7".parse().unwrap();
        let o = a.octets();
        let mut hex = String::new();
        for chunk in o.chunks_exact(4) {
            hex.push_str(&word([chunk[0], chunk[1], chunk[2], chunk[3]]));
        }
        let v6 = format!(
            "0: {hex}:0035 {}:0000 07 00000000:00000000 00:00000000 00000000 0 0 8",
            "0".repeat(32)
        );
        assert_eq!(
            parse(&v6, Protocol::Udp, true).unwrap(),
            vec![udp("fd00:1:2:3:4:5:6:7", 53, 8)]
        );
    }

    #[test]
    fn udp_with_a_remote_or_without_a_port_is_not_open() {
        let line = |local: &str, remote: &str, st: &str| {
            format!("1: {local} {remote} {st} 00000000:00000000 00:00000000 00000000 0 0 9")
        };
        let open = |l: String| parse(&l, Protocol::Udp, false).unwrap().len();
        assert_eq!(open(line("00000000:0035", "00000000:0000", "07")), 1);
        assert_eq!(open(line("00000000:0000", "00000000:0000", "07")), 0);
        assert_eq!(open(line("00000000:0035", "0100007F:0035", "07")), 0);
        assert_eq!(open(line("00000000:0035", "0100007F:0035", "01")), 0);
        // TCP_CLOSE is not LISTEN.
        assert_eq!(
            parse(&line("00000000:0035", "00000000:0000", "07"), Protocol::Tcp, false)
                .unwrap()
                .len(),
            0
        );
    }

    #[test]
    fn malformed_rows_are_errors_with_line_numbers() {
        let good =
            "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 105875 1";
        assert_eq!(parse(good, Protocol::Tcp, false).unwrap().len(), 1);
        let cases: &[(&str, &str)] = &[
            // truncated
            ("   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000", "at least 10 fields"),
            ("   0: 0100007", "at least 10 fields"),
            // bad hex
            (
                "   0: 0100007G:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 1",
                "local_address",
            ),
            (
                "   0: +100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 1",
                "local_address",
            ),
            (
                "   0: 0100007F:1FZ0 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 1",
                "port",
            ),
            (
                "   0: 0100007F:1F90 00000000-0000 0A 00000000:00000000 00:00000000 00000000 0 0 1",
                "rem_address",
            ),
            (
                "   0: 0100007F:1F90 00000000:0000 XA 00000000:00000000 00:00000000 00000000 0 0 1",
                "st",
            ),
            (
                "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 -1",
                "inode",
            ),
            (
                "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 99999999999999999999999",
                "inode",
            ),
            (
                "   x 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 1",
                "slot",
            ),
            // multi-byte characters where hex digits belong
            (
                "   0: 0100007é:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 1",
                "local_address",
            ),
        ];
        for (bad, reason) in cases {
            let text = format!("{}\n{good}\n{bad}\n", TCP.lines().next().unwrap());
            let err = parse(&text, Protocol::Tcp, false).unwrap_err();
            let ProcNetError::Malformed { line, reason: r, .. } = &err else {
                panic!("{err:?}")
            };
            assert_eq!(*line, 3, "{bad}");
            assert!(r.contains(reason), "{bad}: {r}");
            assert!(err.to_string().starts_with("line 3: "), "{err}");
        }
    }

    #[test]
    fn address_width_must_match_the_file_kind() {
        let v4_row = TCP.lines().nth(1).unwrap();
        let v6_row = TCP6.lines().nth(1).unwrap();
        assert!(parse(v4_row, Protocol::Tcp, true).is_err());
        assert!(parse(v6_row, Protocol::Tcp, false).is_err());
    }

    /// Every truncation and many corruptions of the captures: an error or a
    /// result, never a panic.
    #[test]
    fn never_panics_on_mangled_input() {
        let mut seed: u64 = 0x2545_F491_4F6C_DD1D;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let replacements = ['0', 'F', 'g', ':', ' ', '\n', 'é', '-', '+', '\0'];
        for (text, v6) in [(TCP, false), (TCP6, true), (UDP, false), (UDP6, true)] {
            for (cut, _) in text.char_indices() {
                let _ = parse(&text[..cut], Protocol::Tcp, v6);
                let _ = parse(&text[cut..], Protocol::Udp, !v6);
            }
            let chars: Vec<char> = text.chars().collect();
            for _ in 0..2000 {
                let mut mangled = chars.clone();
                for _ in 0..(next() % 4 + 1) {
                    let at = (next() % mangled.len() as u64) as usize;
                    let with = replacements[(next() % replacements.len() as u64) as usize];
                    match next() % 3 {
                        0 => mangled[at] = with,
                        1 => mangled.insert(at, with),
                        _ => {
                            mangled.remove(at);
                        }
                    }
                }
                let s: String = mangled.into_iter().collect();
                let _ = parse(&s, Protocol::Tcp, v6);
                let _ = parse(&s, Protocol::Udp, v6);
            }
        }
    }

    #[test]
    fn socket_link_targets() {
        assert_eq!(socket_inode(Path::new("socket:[105875]")), Some(105875));
        for other in [
            "pipe:[12]",
            "socket:[]",
            "socket:[+1]",
            "socket:[12",
            "/dev/null",
            "anon_inode:[eventfd]",
        ] {
            assert_eq!(socket_inode(Path::new(other)), None, "{other}");
        }
    }

    /// Sockets this test process opens show up in `/proc/self/fd` and in its
    /// namespace's `/proc/self/net/*`, and only the open ones count.
    #[cfg(target_os = "linux")]
    #[test]
    fn live_sockets_of_this_process() {
        use std::net::{TcpListener, TcpStream, UdpSocket};
        use std::os::fd::AsRawFd;
        use std::os::unix::fs::MetadataExt;

        let inode_of = |fd: &dyn AsRawFd| {
            std::fs::metadata(format!("/proc/self/fd/{}", fd.as_raw_fd()))
                .unwrap()
                .ino()
        };
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (accepted, _) = listener.accept().unwrap();
        let bound = UdpSocket::bind("127.0.0.1:0").unwrap();
        let connected = UdpSocket::bind("127.0.0.1:0").unwrap();
        connected.connect(bound.local_addr().unwrap()).unwrap();
        let v6 = TcpListener::bind("[::1]:0").ok(); // when IPv6 is available

        let fds = socket_inodes_of_process(Path::new("/proc/self")).unwrap();
        let open = read_namespace(Path::new("/proc/self")).unwrap();
        let find = |inode: u64| open.iter().find(|s| s.inode == inode);

        let ino = inode_of(&listener);
        assert!(fds.contains(&ino));
        assert_eq!(
            find(ino),
            Some(&tcp("127.0.0.1", listener.local_addr().unwrap().port(), ino))
        );
        assert!(find(ino).unwrap().is_loopback_only());

        let ino = inode_of(&bound);
        assert!(fds.contains(&ino));
        assert_eq!(
            find(ino),
            Some(&udp("127.0.0.1", bound.local_addr().unwrap().port(), ino))
        );

        for established in [inode_of(&client), inode_of(&accepted), inode_of(&connected)] {
            assert!(fds.contains(&established));
            assert_eq!(find(established), None);
        }

        if let Some(v6) = v6 {
            let ino = inode_of(&v6);
            assert!(fds.contains(&ino));
            assert_eq!(find(ino), Some(&tcp("::1", v6.local_addr().unwrap().port(), ino)));
        }

        // Once closed, a socket is gone from the process's descriptors.
        let ino = inode_of(&listener);
        drop(listener);
        assert!(!socket_inodes_of_process(Path::new("/proc/self"))
            .unwrap()
            .contains(&ino));
    }

    #[test]
    fn socket_inodes_of_a_missing_process_is_an_error() {
        let err = socket_inodes_of_process(Path::new("/nonexistent/proc/1")).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        assert!(err.to_string().contains("/nonexistent/proc/1/fd"));
    }
}
