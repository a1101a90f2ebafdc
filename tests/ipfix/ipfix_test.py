#!/usr/bin/python3
"""IPFIX export read by a real collector, and by none.

usage: ipfix_test.py nfdump BWGATE_PCAP CONFIG GEN_FIXTURES
       ipfix_test.py gone BWGATE_PCAP CONFIG GEN_FIXTURES

nfdump: nfcapd (Debian's nfdump) listens on loopback; bwgate-pcap replays the generated
traffic (every fixture, and a 12-second rate-limited flow) with --flows and --ipfix
udp://127.0.0.1:PORT and an active timeout of one second; `nfdump -R` must read back
every flow of the gate's own flow records, with the same addresses, ports, VLAN and
start time, and the same packet and byte counts both ways once a long flow's periodic
records are added up. Every record the gate counted sent is read back.

gone: the collector is a TCP port nobody listens on: every record is lost and counted,
nothing is sent, and the replay takes no longer than without a collector.

Exits 77 (skipped) when nfcapd/nfdump are not installed (scripts/install-deps).
"""

import ipaddress
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "live"))
from livelib import Check, free_port  # noqa: E402

PROTO = {"TCP": 6, "UDP": 17, "ICMP": 1, "ICMPV6": 58, "IGMP": 2, "GRE": 47, "ESP": 50, "AH": 51,
        "OSPF": 89, "PIM": 103, "VRRP": 112, "PGM": 113, "SCTP": 132}



def config_with(src, tmp, ipfix):
    with open(src) as f:
        cfg = json.load(f)
    here = os.path.dirname(os.path.abspath(src))
    cfg["lists_dir"] = os.path.join(here, cfg.get("lists_dir", "."))
    cfg["ipfix"] = ipfix
    path = os.path.join(tmp, "ipfix.json")
    with open(path, "w") as f:
        json.dump(cfg, f, indent=2)
    return path


def replay(pcap_tool, config, pcaps, tmp, *extra):
    flows, stats = os.path.join(tmp, "flows.jsonl"), os.path.join(tmp, "stats.json")
    cmd = [pcap_tool, "-c", config, "--flows", flows, "--stats", stats, *extra, *pcaps]
    print("run: " + " ".join(cmd))
    t0 = time.monotonic()
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    took = time.monotonic() - t0
    sys.stdout.write(p.stderr)
    if p.returncode != 0:
        return None, None, took
    with open(flows) as f:
        recs = [json.loads(line) for line in f]
    with open(stats) as f:
        return recs, json.load(f), took


def key(proto, src, sport, dst, dport, vlan):
    return (proto, ipaddress.ip_address(src), sport, ipaddress.ip_address(dst), dport, vlan)


def gate_key(r):
    proto = PROTO.get(r["proto"]) or int(r["proto"])
    return key(proto, r["src_ip"], r["src_port"], r["dst_ip"], r["dst_port"], r["vlan"])


def nfdump_records(outdir):
    p = subprocess.run(["nfdump", "-R", outdir, "-o", "json"], capture_output=True, text=True,
                       timeout=60)
    if p.returncode != 0:
        print(p.stderr)
        return None
    got = json.loads(p.stdout or "[]")
    raw = subprocess.run(["nfdump", "-R", outdir, "-o", "raw"], capture_output=True,
                         text=True, timeout=60).stdout
    reasons = {}
    for line in raw.splitlines():
        if line.strip().startswith("end reason"):
            code = int(line.split("=")[1].split()[0], 16)
            reasons[code] = reasons.get(code, 0) + 1
    return got, reasons


def nf_key(n):
    src = n.get("src4_addr") or n.get("src6_addr")
    dst = n.get("dst4_addr") or n.get("dst6_addr")
    return key(n["proto"], src, n["src_port"], dst, n["dst_port"], n.get("src_vlan", 0))


def ms(iso):
    """nfdump's "2026-11-25T02:00:00.242" (UTC) in Unix milliseconds."""
    import datetime
    d = datetime.datetime.strptime(iso, "%Y-%m-%dT%H:%M:%S.%f")
    return round(d.replace(tzinfo=datetime.timezone.utc).timestamp() * 1000)


def test_nfdump(pcap_tool, config, gen):
    check = Check("ipfix-nfdump")
    tmp = tempfile.mkdtemp(prefix="bwgate-ipfix.")
    nfcapd = None
    try:
        subprocess.run(["/usr/bin/python3", gen, tmp], check=True, stdout=subprocess.DEVNULL,
                       timeout=120)
        cfg = config_with(config, tmp, {"active_timeout": 1})
        outdir = os.path.join(tmp, "nfcapd")
        os.mkdir(outdir)
        port = free_port(socket.SOCK_DGRAM)
        log = open(os.path.join(tmp, "nfcapd.log"), "w")
        nfcapd = subprocess.Popen(["nfcapd", "-w", outdir, "-b", "127.0.0.1", "-p", str(port),
                                   "-t", "3600", "-B", "8388608"], stdout=log,
                                  stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and "Startup" not in open(log.name).read():
            time.sleep(0.05)
        check(nfcapd.poll() is None, f"nfcapd listens on udp://127.0.0.1:{port}")
        pcaps = [os.path.join(tmp, "mixed.pcap"), os.path.join(tmp, "rate.pcap")]
        recs, stats, _ = replay(pcap_tool, cfg, pcaps, tmp, "--ipfix",
                                f"udp://127.0.0.1:{port}")
        if not check(recs is not None, "bwgate-pcap replays with --ipfix"):
            check.done()
        time.sleep(0.5)  # the last datagrams reach nfcapd's socket
        nfcapd.send_signal(signal.SIGTERM)
        nfcapd.wait(timeout=20)
        nfcapd = None
        ix = stats.get("ipfix", {})
        col = (ix.get("collectors") or [{}])[0]
        check(ix.get("records_lost") == 0 and col.get("state") == "up",
              "no record lost, the collector up", json.dumps(ix))
        got = nfdump_records(outdir)
        if not check(got is not None, "nfdump -R reads what nfcapd wrote"):
            check.done()
        nf, reasons = got
        print(f"ipfix-nfdump: {len(recs)} flows in the gate's flow records, "
              f"{ix.get('records_sent')} IPFIX records exported, {len(nf)} read back by nfdump "
              f"(end reasons {dict(sorted(reasons.items()))})")
        check(len(nf) == ix.get("records_sent"), "nfdump reads every record the gate sent",
              f"{len(nf)} != {ix.get('records_sent')}")

        gate = {}
        for r in recs:
            gate.setdefault(gate_key(r), []).append(r)
        sums = {}
        for n in nf:
            s = sums.setdefault(nf_key(n), {"in_packets": 0, "in_bytes": 0, "out_packets": 0,
                                             "out_bytes": 0, "records": 0, "first": []})
            for f in ("in_packets", "in_bytes", "out_packets", "out_bytes"):
                s[f] += n[f]
            s["records"] += 1
            s["first"].append(ms(n["first"]))
        check(set(gate) == set(sums), "the same flows (proto, addresses, ports, VLAN)",
              f"gate only: {set(gate) - set(sums)}; nfdump only: {set(sums) - set(gate)}")
        same = 0
        for k, rs in gate.items():
            s = sums.get(k)
            if not s:
                continue
            want = [sum(r[f] for r in rs) for f in ("pkts_c2s", "bytes_c2s", "pkts_s2c",
                                                     "bytes_s2c")]
            have = [s["in_packets"], s["in_bytes"], s["out_packets"], s["out_bytes"]]
            starts = {int(r["first_ts"] * 1000 + 1e-6) for r in rs}
            if want == have and set(s["first"]) <= starts:
                same += 1
            else:
                print(f"  differs: {k}: gate {want} first {sorted(starts)}, nfdump {have} "
                      f"first {sorted(set(s['first']))}")
        print(f"ipfix-nfdump: {same} of {len(gate)} flows with the same packets and bytes both "
              f"ways and the same start in nfdump")
        check(same == len(gate) and len(gate) == len(recs),
              "every flow's packets and bytes, both ways, as the gate counted them")
        long = [k for k, s in sums.items() if s["records"] > 1]
        check(len(long) >= 1 and reasons.get(2, 0) == len(nf) - len(recs),
              "a long flow's periodic records (active timeout) add up to its totals",
              f"{len(long)} flows with several records, {reasons.get(2, 0)} active-timeout "
              f"records, {len(nf) - len(recs)} expected")
        ends = {r.get("end_reason") for r in recs}
        check(ends <= {"idle", "end_of_flow", "forced_end"} and "end_of_flow" in ends,
              "the gate's records say why each flow ended", str(ends))
    finally:
        if nfcapd:
            nfcapd.kill()
            nfcapd.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    check.done()


def test_gone(pcap_tool, config, gen):
    check = Check("ipfix-collector-gone")
    tmp = tempfile.mkdtemp(prefix="bwgate-ipfix.")
    try:
        subprocess.run(["/usr/bin/python3", gen, tmp], check=True, stdout=subprocess.DEVNULL,
                       timeout=120)
        cfg = config_with(config, tmp, {"active_timeout": 1})
        pcaps = [os.path.join(tmp, "mixed.pcap"), os.path.join(tmp, "rate.pcap")]
        base, _, took0 = replay(pcap_tool, cfg, pcaps, tmp)
        port = free_port(socket.SOCK_STREAM)
        recs, stats, took = replay(pcap_tool, cfg, pcaps, tmp, "--ipfix",
                                   f"tcp://127.0.0.1:{port}")
        if not check(recs is not None and base is not None, "bwgate-pcap replays"):
            check.done()
        ix = stats.get("ipfix", {})
        col = (ix.get("collectors") or [{}])[0]
        print(f"ipfix-collector-gone: {ix.get('records')} records, {ix.get('records_lost')} "
              f"lost, {ix.get('records_sent')} sent; replay {took:.2f} s "
              f"({took0:.2f} s without IPFIX)")
        check(len(recs) == len(base), "the same flows as without a collector")
        check(ix.get("records", 0) >= len(recs) and ix.get("records_lost") == ix.get("records")
              and ix.get("records_sent") == 0 and ix.get("records_pending") == 0,
              "every record lost and counted, none sent", json.dumps(ix))
        check(col.get("state") == "down", "the collector shows down", col.get("state"))
        check(took < took0 + 3, "no stall: the replay takes about as long as without one")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    check.done()


def main(argv):
    if len(argv) != 5 or argv[1] not in ("nfdump", "gone"):
        print(__doc__)
        return 2
    if argv[1] == "nfdump" and not (shutil.which("nfcapd") and shutil.which("nfdump")):
        print("skip: nfcapd/nfdump not installed (Debian package nfdump; scripts/install-deps)")
        return 77
    (test_nfdump if argv[1] == "nfdump" else test_gone)(*argv[2:])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
