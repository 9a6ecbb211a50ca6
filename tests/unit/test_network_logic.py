"""The pure parts of hako.network: address allocation, the NAT script, DNS messages, port specs."""

from __future__ import annotations

import ipaddress
import struct

import pytest

from hako.errdefs import Conflict, Forbidden, InvalidArgument
from hako.network import dns, ipam, nat, ports


def test_choose_subnet_skips_used_prefixes():
    used = [ipaddress.ip_network("172.17.0.0/16"), ipaddress.ip_network("172.18.5.0/24")]
    assert str(ipam.choose_subnet([], used)) == "172.19.0.0/16"
    pools = [{"base": "10.10.0.0/16", "size": 24}]
    assert str(ipam.choose_subnet(pools, [ipaddress.ip_network("10.10.0.0/23")])) == "10.10.2.0/24"


def test_overlap_and_bad_subnets():
    with pytest.raises(Forbidden, match="Pool overlaps"):
        ipam.check_free(ipaddress.ip_network("10.1.2.0/24"), [ipaddress.ip_network("10.1.0.0/16")])
    with pytest.raises(InvalidArgument, match="invalid CIDR address"):
        ipam.parse_subnet("10.1.0.0")
    with pytest.raises(InvalidArgument, match="it should be 10.1.0.0/16"):
        ipam.parse_subnet("10.1.0.1/16")


def test_allocation_rolls_on_and_skips_taken_and_gateway():
    first = ipam.allocate("10.0.0.0/29", "10.0.0.1", "", "", set())
    assert first == "10.0.0.2"
    assert ipam.allocate("10.0.0.0/29", "10.0.0.1", "", first, set()) == "10.0.0.3"
    assert ipam.allocate("10.0.0.0/29", "10.0.0.1", "", "10.0.0.6", {"10.0.0.2"}) == "10.0.0.3"  # wraps
    with pytest.raises(Conflict, match="no available IPv4 addresses"):
        ipam.allocate("10.0.0.0/30", "10.0.0.1", "", "", {"10.0.0.2"})
    with pytest.raises(Conflict, match="Address already in use"):
        ipam.allocate("10.0.0.0/24", "10.0.0.1", "", "", {"10.0.0.9"}, wanted="10.0.0.9")
    assert ipam.allocate("10.0.0.0/24", "10.0.0.1", "10.0.0.128/25", "", set()) == "10.0.0.128"


def test_nat_script():
    script = nat.render("hako", [nat.BridgeRule("hako0", "172.17.0.0/16", False), nat.BridgeRule("br-x", "10.1.0.0/24", True)],
                        [nat.PortRule("tcp", "", 8080, "172.17.0.2", 80, "hako0"),
                         nat.PortRule("udp", "127.0.0.1", 53, "172.17.0.3", 53, "hako0")])
    assert script.startswith("table ip hako {}\ndelete table ip hako\n")
    assert 'ip saddr 172.17.0.0/16 oifname != "hako0" masquerade' in script
    assert "10.1.0.0/24" not in script.split("chain postrouting")[1].split("}")[0]   # internal: no masquerade
    assert 'iifname != "hako0" tcp dport 8080 dnat to 172.17.0.2:80' in script
    assert 'iifname != "hako0" ip daddr 127.0.0.1 udp dport 53 dnat to 172.17.0.3:53' in script


def _query(name: str, qtype: int = dns.TYPE_A) -> bytes:
    qname = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
    return struct.pack("!HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0) + qname + struct.pack("!HH", qtype, 1)


def test_dns_answer_and_parse():
    query = _query("web")
    assert dns.parse_question(query)[2:4] == ("web", dns.TYPE_A)
    reply = dns.answer(query, ["10.0.0.5"])
    qid, flags, qd, an = struct.unpack("!HHHH", reply[:8])
    assert (qid, flags & 0x8000, qd, an) == (0x1234, 0x8000, 1, 1)
    assert reply.endswith(bytes([10, 0, 0, 5]))
    assert struct.unpack("!HHHH", dns.answer(_query("web", dns.TYPE_AAAA), ["10.0.0.5"])[:8])[3] == 0
    assert dns.failure(query, dns.SERVFAIL)[3] & 0x0F == dns.SERVFAIL
    with pytest.raises(ValueError):
        dns.parse_question(b"\0\1")


def test_port_requests():
    wanted = ports.requests({"80/tcp": [["", "8080"]], "53/udp": [["127.0.0.1", ""]]}, True, ["80/tcp", "443/tcp"])
    assert wanted == [ports.Request(80, "tcp", "", "8080"), ports.Request(53, "udp", "127.0.0.1", ""),
                      ports.Request(443, "tcp", "", "")]
    with pytest.raises(InvalidArgument, match="invalid proto"):
        ports.parse_port("80/sctp")
