#!/usr/bin/python3
"""Check the generated fixtures against nDPI itself: run ndpiReader (libndpi-bin) on
each fixture and compare its verdict with expected.json.

usage: ndpi_check.py OUTDIR [--prefix]

For every expected flow ndpiReader's `[proto: N/APP]` must equal `app`, its
`[cat: NAME/N]` `category` and its `[Hostname/SNI: ...]` `host`; with --prefix, the
shortest prefix of the capture that ndpiReader classifies by DPI as `app` must end at
packet `classified_at` of the flow. 802.1ad outer tags are rewritten to 802.1Q
first: ndpiReader 4.2 only walks 0x8100 tags. Exits 0 when all agree, 1 otherwise, 77 without ndpiReader.
"""

import ipaddress
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile

FLOW_LINE = re.compile(r"^\t\d+\t(\S+) (\S+) <?-> (\S+) (?:\[VLAN: \d+\])?\[proto: [0-9.]+/([^\]]+)\]"
                       r".*?\[Confidence: ([^\]]+)\]")
HOST = re.compile(r"\[Hostname/SNI: ([^\]]*)\]")
CATEGORY = re.compile(r"\[cat: ([^/\]]+)/\d+\]")


def read_pcap(path):
    with open(path, "rb") as f:
        head = f.read(24)
        frames = []
        while True:
            rec = f.read(16)
            if len(rec) < 16:
                return head, frames
            caplen = struct.unpack("<IIII", rec)[2]
            frames.append((rec, f.read(caplen)))


def write_pcap(path, head, frames):
    with open(path, "wb") as f:
        f.write(head)
        for rec, data in frames:
            data = data[:12] + b"\x81\x00" + data[14:] if data[12:14] == b"\x88\xa8" else data
            f.write(rec + data)


def endpoint(text):
    ip, port = (text[1:].rsplit("]:", 1) if text.startswith("[") else text.rsplit(":", 1))
    return ipaddress.ip_address(ip), int(port)


def flow_key(proto, a, b):
    return proto, frozenset([a, b])


def ndpi_flows(pcap):
    out = subprocess.run(["ndpiReader", "-i", pcap, "-v", "2", "-q"],
                         capture_output=True, text=True, errors="replace").stdout
    flows = {}
    for line in out.splitlines():
        m = FLOW_LINE.match(line)
        if m:
            proto, a, b, app, confidence = m.groups()
            host = HOST.search(line)
            cat = CATEGORY.search(line)
            flows[flow_key(proto, endpoint(a), endpoint(b))] = dict(
                app=app, confidence=confidence, host=host.group(1) if host else None,
                category=cat.group(1) if cat else None)
    return flows


def expected_key(flow):
    return flow_key(flow["proto"], (ipaddress.ip_address(flow["src_ip"]), flow["src_port"]),
                    (ipaddress.ip_address(flow["dst_ip"]), flow["dst_port"]))


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    if not shutil.which("ndpiReader"):
        print("ndpiReader not found (apt-get install libndpi-bin): skipped")
        return 77
    outdir, prefix = argv[1], "--prefix" in argv[2:]
    with open(os.path.join(outdir, "expected.json")) as f:
        expected = json.load(f)
    failures, tmp = [], tempfile.mkdtemp(prefix="ndpi_check.")
    try:
        for flow in expected["flows"]:
            head, frames = read_pcap(os.path.join(outdir, flow["file"]))
            path = os.path.join(tmp, flow["file"])
            write_pcap(path, head, frames)
            got = ndpi_flows(path).get(expected_key(flow))
            where = f"{flow['file']} {flow['src_ip']}:{flow['src_port']}"
            if got is None:
                failures.append(f"{where}: ndpiReader reports no such flow")
                continue
            line = f"{where:38} {got['app']:14} {got['category'] or '-':12} {got['host'] or '-'}"
            for field in ("app", "host", "category"):
                if got[field] != flow[field]:
                    failures.append(f"{where}: ndpiReader says {field} {got[field]!r}, "
                                    f"expected.json says {flow[field]!r}")
            if prefix and flow.get("classified_at"):
                first = None
                for k in range(1, min(len(frames), 12) + 1):
                    write_pcap(path, head, frames[:k])
                    g = ndpi_flows(path).get(expected_key(flow))
                    if g and g["app"] == flow["app"] and g["confidence"].startswith("DPI"):
                        first = k
                        break
                line += f"  (classified at packet {first})"
                if first != flow["classified_at"]:
                    failures.append(f"{where}: ndpiReader classifies at packet {first}, "
                                    f"expected.json says {flow['classified_at']}")
            print(line)
    finally:
        shutil.rmtree(tmp)
    for failure in failures:
        print("FAIL", failure)
    bad = len({f.split(":", 1)[0] + f.split(":", 2)[1] for f in failures})
    print(f"{len(expected['flows']) - bad} flows agree with ndpiReader, {bad} differ")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
