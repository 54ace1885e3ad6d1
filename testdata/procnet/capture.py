#!/usr/bin/env python3
"""Capture /proc/net/{tcp,tcp6,udp,udp6} with a known set of sockets.

Run as root inside a fresh, private network namespace so the capture holds
only the sockets made here:

    unshare -n python3 testdata/procnet/capture.py testdata/procnet/ns

Every address lives on the namespace's own `lo`; nothing leaves it. See
README.md for the sockets and what each row must decode to.
"""

import os
import shutil
import socket
import subprocess
import sys

OUT = sys.argv[1]


def run(*args):
    subprocess.run(args, check=True)


# The namespace starts with `lo` down and no addresses. 192.0.2.1 and
# 2001:db8::1 (documentation ranges, RFC 5737 / RFC 3849) stand in for a
# pod's own, non-loopback address; they are put on `lo` so nothing is routed
# anywhere.
run("ip", "link", "set", "lo", "up")
run("ip", "addr", "add", "192.0.2.1/32", "dev", "lo")
run("ip", "addr", "add", "2001:db8::1/128", "dev", "lo", "nodad")
# A non-default range, to show the file is read per namespace.
with open("/proc/sys/net/ipv4/ip_local_port_range", "w") as f:
    f.write("50000 50999\n")

keep = []


def tcp_listen(family, addr, port, v6only=None):
    s = socket.socket(family, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if v6only is not None:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, v6only)
    s.bind((addr, port))
    s.listen(8)
    keep.append(s)
    return s


def tcp_connect(family, local, remote, listener):
    c = socket.socket(family, socket.SOCK_STREAM)
    c.bind(local)
    c.connect(remote)
    a, _ = listener.accept()
    keep.extend([c, a])
    return c, a


def udp(family, addr, port, connect_to=None, v6only=None):
    s = socket.socket(family, socket.SOCK_DGRAM)
    if v6only is not None:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, v6only)
    s.bind((addr, port))
    if connect_to is not None:
        s.connect(connect_to)
    keep.append(s)
    return s


V4, V6 = socket.AF_INET, socket.AF_INET6

# --- TCP over IPv4 (/proc/net/tcp)
lo8080 = tcp_listen(V4, "127.0.0.1", 8080)
tcp_listen(V4, "192.0.2.1", 8080)  # same port, other address
tcp_listen(V4, "0.0.0.0", 8081)
# ESTABLISHED pair 127.0.0.1:40001 <-> 127.0.0.1:8080 (both rows in tcp).
tcp_connect(V4, ("127.0.0.1", 40001), ("127.0.0.1", 8080), lo8080)
# TIME_WAIT: the client closes first, so its side 127.0.0.1:40002 lingers.
c, a = tcp_connect(V4, ("127.0.0.1", 40002), ("127.0.0.1", 8080), lo8080)
c.close()
a.close()
keep.remove(c)
keep.remove(a)

# --- TCP over IPv6 (/proc/net/tcp6)
dual = tcp_listen(V6, "::", 8082, v6only=0)  # dual stack
lo6 = tcp_listen(V6, "::1", 8083)
tcp_listen(V6, "::ffff:127.0.0.1", 8084)  # v6 socket on a v4-mapped address
tcp_listen(V6, "2001:db8::1", 8085)
# ESTABLISHED pair [::1]:40003 <-> [::1]:8083 (both rows in tcp6).
tcp_connect(V6, ("::1", 40003), ("::1", 8083), lo6)
# An IPv4 client of the dual-stack listener: the client row is in tcp,
# the accepted row is in tcp6 with v4-mapped addresses.
tcp_connect(V4, ("127.0.0.1", 40004), ("127.0.0.1", 8082), dual)

# --- UDP over IPv4 (/proc/net/udp)
udp(V4, "0.0.0.0", 9001)
udp(V4, "127.0.0.1", 9002)
udp(V4, "127.0.0.1", 9003, connect_to=("127.0.0.1", 9002))  # connected
udp(V4, "192.0.2.1", 9005)

# --- UDP over IPv6 (/proc/net/udp6)
udp(V6, "::", 9001, v6only=1)  # same port as 0.0.0.0:9001
udp(V6, "::1", 9004)
udp(V6, "::1", 9006, connect_to=("::1", 9004))  # connected
udp(V6, "::ffff:127.0.0.1", 9007)
udp(V6, "2001:db8::1", 9005)

os.makedirs(os.path.join(OUT, "net"), exist_ok=True)
os.makedirs(os.path.join(OUT, "sys/net/ipv4"), exist_ok=True)
for name in ("tcp", "tcp6", "udp", "udp6"):
    shutil.copyfile(f"/proc/net/{name}", os.path.join(OUT, "net", name))
shutil.copyfile(
    "/proc/sys/net/ipv4/ip_local_port_range",
    os.path.join(OUT, "sys/net/ipv4/ip_local_port_range"),
)

# Which socket is which, by inode, for README.md.
for s in keep:
    st = os.fstat(s.fileno())
    peer = None
    try:
        peer = s.getpeername()
    except OSError:
        pass
    kind = "TCP" if s.type == socket.SOCK_STREAM else "UDP"
    print(st.st_ino, kind, s.getsockname()[:2], "peer", peer and peer[:2])
