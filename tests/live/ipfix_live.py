#!/usr/bin/python3
"""The live appliance exports its flow records over IPFIX: to nfcapd over UDP, and to a
TCP collector that is gone.

usage: ipfix_live.py BWGATE BWGATE_PCAP CONFIG GEN_FIXTURES

The gate replays the generated traffic once through net_pcap, with short flow timeouts
so that flows end while it runs, and stops once idle. While it runs, /healthz and
/metrics show the export: records sent to nfcapd, records lost (counted) to the TCP
port nobody listens on, that collector down. Afterwards nfdump reads back every record
the gate counted sent, and the flows' packets and bytes, both ways, are those of the
offline replay of the same capture. Skips (77) without nfcapd/nfdump.
"""

import http.client
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

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import livelib  # noqa: E402

PROTO = {"TCP": 6, "UDP": 17, "ICMP": 1, "ICMPV6": 58, "IGMP": 2, "GRE": 47, "ESP": 50, "AH": 51,
        "OSPF": 89, "PIM": 103, "VRRP": 112, "PGM": 113, "SCTP": 132}


def get(port, path):
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        c.request("GET", path)
        r = c.getresponse()
        return r.status, r.read().decode()
    except OSError:
        return None, ""


def key(proto, src, sport, dst, dport):
    return (proto, ipaddress.ip_address(src), sport, ipaddress.ip_address(dst), dport)


def sums(items, fields):
    out = {}
    for k, vals in items:
        s = out.setdefault(k, [0] * len(fields))
        for i, f in enumerate(fields):
            s[i] += vals[f]
    return out


def main():
    if len(sys.argv) != 5:
        print(__doc__)
        return 2
    if not (shutil.which("nfcapd") and shutil.which("nfdump")):
        print("skip: nfcapd/nfdump not installed (Debian package nfdump; scripts/install-deps)")
        return 77
    bwgate, bwgate_pcap, config, gen = sys.argv[1:5]
    ck = livelib.Check("live-ipfix")
    tmp = tempfile.mkdtemp(prefix="bwgate-live-ipfix.")
    gate = nfcapd = None
    try:
        fx = os.path.join(tmp, "fx")
        subprocess.run(["/usr/bin/python3", gen, fx], check=True, timeout=120,
                       stdout=subprocess.DEVNULL)
        mixed = os.path.join(fx, "mixed.pcap")
        api, dead = livelib.free_port(), livelib.free_port()
        nf_port = livelib.free_port(socket.SOCK_DGRAM)
        udp, tcp = f"udp://127.0.0.1:{nf_port}", f"tcp://127.0.0.1:{dead}"

        def mutate(cfg):
            livelib.without_schedules(cfg)
            livelib.without_resets(cfg)
            cfg["api"] = {"listen": f"127.0.0.1:{api}"}
            cfg["flows"]["timeouts"] = {"tcp": 2, "tcp_closed": 1, "tcp_opening": 1, "udp": 1,
                                        "udp_unreplied": 1, "other": 1}
            cfg["ipfix"] = {"collectors": [udp, tcp], "active_timeout": 0}

        cfg = livelib.write_config(config, tmp, "gate.json", mutate, inside="net_pcap0",
                                   outside="net_pcap1")
        offline = os.path.join(tmp, "offline.jsonl")
        p = subprocess.run([bwgate_pcap, "-c", cfg, "--flows", offline, mixed],
                           capture_output=True, text=True, timeout=120)
        ck(p.returncode == 0, "offline replay of mixed.pcap", p.stderr[-500:])

        outdir = os.path.join(tmp, "nfcapd")
        os.mkdir(outdir)
        log = os.path.join(tmp, "nfcapd.log")
        nfcapd = subprocess.Popen(["nfcapd", "-w", outdir, "-b", "127.0.0.1", "-p", str(nf_port),
                                   "-t", "3600", "-B", "8388608"], stdout=open(log, "w"),
                                  stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and "Startup" not in open(log).read():
            time.sleep(0.05)

        cmd = [bwgate] + livelib.EAL + ["--file-prefix", f"bwg-ipfix-{os.getpid()}",
                                        "--vdev", f"net_pcap0,rx_pcap={mixed},tx_pcap=/dev/null",
                                        "--vdev", "net_pcap1,tx_pcap=/dev/null",
                                        "--", "-c", cfg, "--exit-when-idle", "6"]
        print("run: " + " ".join(cmd))
        sys.stdout.flush()
        err = open(os.path.join(tmp, "stderr.txt"), "w")
        gate = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, text=True)
        health = metrics = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and gate.poll() is None:
            st, body = get(api, "/healthz")
            if st == 200:
                h = json.loads(body)
                cols = {c["url"]: c for c in h.get("ipfix", {}).get("collectors", [])}
                if cols.get(udp, {}).get("records_sent", 0) > 0 and \
                        cols.get(tcp, {}).get("records_lost", 0) > 0:
                    health = h
                    metrics = get(api, "/metrics")[1]
                    break
            time.sleep(0.2)
        if ck(health is not None, "/healthz shows records sent to nfcapd and lost to the "
                                  "collector that is gone, while the gate runs"):
            cols = {c["url"]: c for c in health["ipfix"]["collectors"]}
            print("healthz ipfix: " + json.dumps(health["ipfix"]))
            ck(health["ok"] and cols[udp]["state"] == "up" and cols[tcp]["state"] == "down",
               "the gate stays ok; nfcapd's collector up, the other down")
            ck(f'bwgate_ipfix_records_lost_total{{collector="{tcp}"}}' in metrics and
               f'bwgate_ipfix_collector_up{{collector="{tcp}"}} 0' in metrics and
               f'bwgate_ipfix_records_sent_total{{collector="{udp}"}}' in metrics,
               "/metrics has the export's counters by collector")
        try:
            out, _ = gate.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            gate.kill()
            out, _ = gate.communicate()
        ck(gate.returncode == 0, "bwgate stops once idle", f"exit {gate.returncode}")
        gate = None
        final = json.loads(out) if out.strip() else {}
        ix = final.get("ipfix", {})
        cols = {c["url"]: c for c in ix.get("collectors", [])}
        time.sleep(0.5)
        nfcapd.send_signal(signal.SIGTERM)
        nfcapd.wait(timeout=20)
        nfcapd = None
        p = subprocess.run(["nfdump", "-R", outdir, "-o", "json"], capture_output=True,
                           text=True, timeout=60)
        nf = json.loads(p.stdout or "[]")
        with open(offline) as f:
            recs = [json.loads(line) for line in f]
        u, t = cols.get(udp, {}), cols.get(tcp, {})
        print(f"live-ipfix: {ix.get('records')} records exported by the gate; nfcapd: "
              f"{u.get('records_sent')} sent, {u.get('records_lost')} lost, {len(nf)} read back "
              f"by nfdump; dead TCP collector: {t.get('records_lost')} lost, "
              f"{t.get('records_sent')} sent")
        ck(ix.get("records", 0) > 0 and u.get("records_sent") == ix.get("records") and
           len(nf) == ix.get("records"), "nfdump reads back every record the gate sent")
        ck(t.get("records_lost") == ix.get("records") and t.get("records_sent") == 0,
           "every record to the collector that is gone is lost and counted")
        live = sums(((key(n["proto"], n.get("src4_addr") or n.get("src6_addr"), n["src_port"],
                          n.get("dst4_addr") or n.get("dst6_addr"), n["dst_port"]), n)
                     for n in nf), ("in_packets", "in_bytes", "out_packets", "out_bytes"))
        off = sums(((key(PROTO.get(r["proto"]) or int(r["proto"]), r["src_ip"], r["src_port"],
                         r["dst_ip"], r["dst_port"]), r) for r in recs),
                   ("pkts_c2s", "bytes_c2s", "pkts_s2c", "bytes_s2c"))
        same = sum(1 for k in off if live.get(k) == off[k])
        print(f"live-ipfix: {same} of {len(off)} flows of the offline replay with the same "
              f"packets and bytes both ways in nfdump")
        ck(same == len(off) and set(live) == set(off),
           "the flows and their counts are the offline replay's")
    finally:
        for p in (gate, nfcapd):
            if p and p.poll() is None:
                p.kill()
                p.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    ck.done()


if __name__ == "__main__":
    sys.exit(main())
