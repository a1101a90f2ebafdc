#!/usr/bin/python3
"""Replay the generated fixtures through bwgate-pcap and check what it did.

usage: check_fixtures.py BWGATE_PCAP CONFIG OUTDIR [--only NAME.pcap]... [--action CLASS=ACTION]...

OUTDIR is what gen_fixtures.py wrote (pcaps + expected.json). For each capture X.pcap:

    BWGATE_PCAP -c CONFIG --flows OUTDIR/X.flows.jsonl --stats OUTDIR/X.stats.json
                --events OUTDIR/X.events.jsonl -w OUTDIR/X.out.pcap OUTDIR/X.pcap

then the checks in CHECKS below run against the flow records, stats, events and the
forwarded frames (read back with scapy). --action overrides the expected action of
every flow of a class, for a CONFIG whose policy differs from expected.json's
class_action (e.g. --action web=limit). Prints each failure, then `N passed, M failed`;
exits 0 when nothing failed, 1 otherwise, 2 on bad usage.
"""

import ipaddress
import json
import os
import struct
import subprocess
import sys
from collections import Counter

from scapy.utils import RawPcapReader

# --------------------------------------------------------------------------- contract
# Everything asserted is named here; adjust these tables, not the code below.

# Flow record fields compared with expected.json (an expected null is not asserted).
FLOW_FIELDS = ("app", "category", "class", "action", "host", "vlan", "pkts_c2s", "pkts_s2c")

FLOW_RECORD_KEYS = ("proto", "src_ip", "src_port", "dst_ip", "dst_port", "vlan", "app",
                    "category", "class", "host", "unit", "rule", "action", "pkts_c2s",
                    "bytes_c2s", "pkts_s2c", "bytes_s2c", "dropped_pkts", "first_ts", "last_ts")
STATS_KEYS = {
    "totals": ("rx_packets", "rx_bytes", "tx_packets", "tx_bytes", "dropped_packets",
               "dropped_bytes"),
    "flows": ("active", "created", "expired", "capacity"),
}
STATS_LISTS = ("classes", "apps", "units")
STATS_LIST_KEYS = ("name", "packets", "bytes", "flows", "dropped_packets")
EVENT_KEYS = ("event", "src_ip", "src_port", "dst_ip", "dst_port", "proto", "app", "class",
              "host", "unit", "rule", "action")
EVENT_KINDS = ("block", "limit", "flow_end")

MALFORMED_DROP_REASON = "malformed"
# A blocked flow may forward the packets before the one nDPI classifies it on
# (expected classified_at - 1), plus this many.
BLOCK_PASS_SLACK = 0
RUN_TIMEOUT_S = 300


# --------------------------------------------------------------------------- frames

def read_frames(path):
    """[(ts, bytes)] of a pcap or pcapng file."""
    frames, reader = [], RawPcapReader(path)
    try:
        for data, meta in reader:
            if hasattr(meta, "tshigh"):
                ts = ((meta.tshigh << 32) | meta.tslow) / meta.tsresol
            else:
                ts = meta.sec + meta.usec / (1e9 if getattr(reader, "nano", False) else 1e6)
            frames.append((ts, bytes(data)))
    finally:
        reader.close()
    return frames


PROTO_NAMES = {6: "TCP", 17: "UDP", 1: "ICMP", 58: "ICMPV6", 2: "IGMP", 47: "GRE", 50: "ESP",
               51: "AH", 89: "OSPF", 103: "PIM", 112: "VRRP", 113: "PGM", 132: "SCTP"}
V6_EXT = (0, 43, 60)


def frame_flow(data, fragments):
    """(flow key, client-side endpoint) of an Ethernet frame, or (None, None) for non-IP
    and unparseable frames. Later IP fragments inherit the ports of the first one
    through `fragments`, a dict shared across one capture."""
    try:
        off, etype = 14, struct.unpack_from("!H", data, 12)[0]
        while etype in (0x8100, 0x88A8, 0x9100):
            etype = struct.unpack_from("!H", data, off + 2)[0]
            off += 4
        if etype == 0x0800:
            ihl = (data[off] & 0x0F) * 4
            proto = data[off + 9]
            src, dst = data[off + 12:off + 16], data[off + 16:off + 20]
            ipid, frag = struct.unpack_from("!HH", data, off + 4)
            frag_off, more = frag & 0x1FFF, frag & 0x2000
            l4 = off + ihl
        elif etype == 0x86DD:
            proto, src, dst = data[off + 6], data[off + 8:off + 24], data[off + 24:off + 40]
            l4, frag_off, more, ipid = off + 40, 0, 0, None
            while proto in V6_EXT or proto == 44:
                if proto == 44:
                    fo, ipid = struct.unpack_from("!HI", data, l4 + 2)
                    frag_off, more = fo >> 3, fo & 1
                    proto, l4 = data[l4], l4 + 8
                else:
                    proto, l4 = data[l4], l4 + (data[l4 + 1] + 1) * 8
        else:
            return None, None
        a, b = ipaddress.ip_address(bytes(src)), ipaddress.ip_address(bytes(dst))
        name = PROTO_NAMES.get(proto, proto)
        fkey = (a, b, ipid, proto)
        if frag_off:
            ports = fragments.get(fkey)
            if ports is None:
                return None, None
        elif proto in (6, 17):
            ports = struct.unpack_from("!HH", data, l4)
        else:
            ports = (0, 0)
        if more and not frag_off:
            fragments[fkey] = ports
        return (name, frozenset([(a, ports[0]), (b, ports[1])])), (a, ports[0])
    except (IndexError, struct.error, ValueError):
        return None, None


def record_key(rec):
    return (rec["proto"], frozenset([(ipaddress.ip_address(rec["src_ip"]), int(rec["src_port"])),
                                     (ipaddress.ip_address(rec["dst_ip"]), int(rec["dst_port"]))]))


def by_flow(frames):
    """{flow key: [(index, ts, bytes, from_client)]} with client = first sender."""
    flows, fragments, clients = {}, {}, {}
    for i, (ts, data) in enumerate(frames):
        key, src = frame_flow(data, fragments)
        if key is None:
            continue
        client = clients.setdefault(key, src)
        flows.setdefault(key, []).append((i, ts, data, src == client))
    return flows


def describe(flow):
    return f"{flow['proto']} {flow['src_ip']}:{flow['src_port']} > {flow['dst_ip']}:{flow['dst_port']}"


# --------------------------------------------------------------------------- checks
# Each check takes a Run and yields (what, failure message or None).

class Run:
    """One replay of one capture: inputs, expectations and everything bwgate wrote."""

    def __init__(self, name, outdir, expected, flows, overrides):
        self.name, self.outdir, self.expected = name, outdir, expected
        self.meta = expected["files"][name]
        self.flows = [dict(f) for f in flows]
        for f in self.flows:
            if f["class"] in overrides and f["action"] != "limit":
                f["action"] = overrides[f["class"]]
        stem = os.path.join(outdir, name[:-len(".pcap")])
        self.paths = {k: stem + ext for k, ext in (
            ("flows", ".flows.jsonl"), ("stats", ".stats.json"),
            ("events", ".events.jsonl"), ("out", ".out.pcap"))}
        self.input = read_frames(os.path.join(outdir, name))
        self.records = self.stats = self.events = self.output = None

    def load(self):
        def jsonl(path):
            with open(path) as f:
                return [json.loads(line) for line in f if line.strip()]
        self.records = jsonl(self.paths["flows"])
        with open(self.paths["stats"]) as f:
            self.stats = json.load(f)
        self.events = jsonl(self.paths["events"])
        self.output = read_frames(self.paths["out"])
        self.records_by_key = {}
        for rec in self.records:
            self.records_by_key.setdefault(record_key(rec), []).append(rec)
        self.in_flows, self.out_flows = by_flow(self.input), by_flow(self.output)

    def record(self, flow):
        recs = self.records_by_key.get(record_key(flow), [])
        return recs[0] if len(recs) == 1 else None, len(recs)

    @property
    def all_allowed(self):
        return "malformed" not in self.meta and all(f["action"] == "allow" for f in self.flows)


def check_contract_keys(run):
    for i, rec in enumerate(run.records):
        missing = [k for k in FLOW_RECORD_KEYS if k not in rec]
        yield f"flow record {i} keys", missing and f"flow record {i} lacks {missing}"
    for section, keys in STATS_KEYS.items():
        missing = [k for k in keys if k not in run.stats.get(section, {})]
        yield f"stats.{section} keys", missing and f"stats.{section} lacks {missing}"
    missing = [k for k in ("drops",) + STATS_LISTS if k not in run.stats]
    yield "stats sections", missing and f"stats lacks {missing}"
    for lst in STATS_LISTS:
        bad = [item.get("name") for item in run.stats.get(lst, [])
               if any(k not in item for k in STATS_LIST_KEYS)]
        yield f"stats.{lst} items", bad and f"stats.{lst} items {bad} lack some of {STATS_LIST_KEYS}"
    for i, ev in enumerate(run.events):
        missing = [k for k in EVENT_KEYS if k not in ev]
        bad = ev.get("event") not in EVENT_KINDS
        yield f"event {i} keys", (missing or bad) and f"event {i} lacks {missing} or has event {ev.get('event')!r}"


def check_conservation(run):
    totals, drops = run.stats.get("totals", {}), run.stats.get("drops", {})
    dropped = sum(drops.values())
    rx, tx = totals.get("rx_packets"), totals.get("tx_packets")
    yield "rx == tx + drops", rx != tx + dropped and (
        f"rx_packets {rx} != tx_packets {tx} + sum(drops) {dropped} {drops}")
    yield "dropped == drops", totals.get("dropped_packets") != dropped and (
        f"dropped_packets {totals.get('dropped_packets')} != sum(drops) {dropped}")
    yield "rx == frames in", rx != len(run.input) and (
        f"rx_packets {rx} but the capture has {len(run.input)} frames")
    yield "tx == frames out", tx != len(run.output) and (
        f"tx_packets {tx} but -w wrote {len(run.output)} frames")


def check_flow_fields(run):
    for flow in run.flows:
        rec, n = run.record(flow)
        if rec is None:
            yield describe(flow), f"{describe(flow)}: {n} flow records (expected 1)"
            continue
        for field in FLOW_FIELDS:
            want = flow.get(field)
            if want is None:
                continue
            got = rec.get(field)
            yield f"{describe(flow)} {field}", got != want and (
                f"{describe(flow)}: {field} is {got!r}, expected {want!r}")


def forwarded(run, flow):
    """(the flow's frames in the capture, indexes of those found in the -w output)."""
    key = record_key(flow)
    frames = run.in_flows.get(key, [])
    out = Counter(data for _, _, data, _ in run.out_flows.get(key, []))
    passed = []
    for i, (_, _, data, _) in enumerate(frames):
        if out[data] > 0:
            out[data] -= 1
            passed.append(i)
    return frames, passed


def check_verdicts(run):
    for flow in run.flows:
        frames, passed = forwarded(run, flow)
        rec, _ = run.record(flow)
        what = describe(flow)
        if flow["action"] == "allow":
            yield f"{what} all forwarded", len(passed) != len(frames) and (
                f"{what}: allowed, but {len(frames) - len(passed)} of {len(frames)} frames dropped")
        elif flow["action"] == "block":
            limit = (flow.get("classified_at") or 1) - 1 + BLOCK_PASS_SLACK
            prefix = passed == list(range(len(passed)))
            yield f"{what} blocked", (not prefix or len(passed) > limit) and (
                f"{what}: blocked, but frames {[i + 1 for i in passed]} of {len(frames)} were "
                f"forwarded (at most the first {limit}, before classification)")
        if rec is not None and flow.get("pkts_c2s") is not None and "dropped_pkts" in rec:
            total = flow["pkts_c2s"] + flow["pkts_s2c"]
            yield f"{what} dropped_pkts", rec["dropped_pkts"] != total - len(passed) and (
                f"{what}: dropped_pkts {rec['dropped_pkts']}, but {total - len(passed)} of "
                f"{total} frames are missing from the output")


def check_block_events(run):
    blocks = Counter()
    for ev in run.events:
        if ev.get("event") == "block":
            try:
                blocks[record_key(ev)] += 1
            except (KeyError, ValueError):
                pass
    expected = {record_key(f): f for f in run.flows if f["action"] == "block"}
    for key, flow in expected.items():
        yield f"{describe(flow)} block event", blocks[key] != 1 and (
            f"{describe(flow)}: {blocks[key]} block events (expected 1)")
    extra = sum(n for key, n in blocks.items() if key not in expected)
    yield "no other block events", extra and f"{extra} block events for flows that are not blocked"


def check_forward_all(run):
    same = [d for _, d in run.output] == [d for _, d in run.input]
    yield "frames forwarded unchanged", not same and (
        f"expected all {len(run.input)} frames forwarded unchanged, -w has {len(run.output)}")


def check_malformed(run):
    want = run.expected["malformed_frames"]
    got = run.stats.get("drops", {}).get(MALFORMED_DROP_REASON)
    yield "malformed counted", got != want and (
        f"drops.{MALFORMED_DROP_REASON} is {got}, expected {want} ({', '.join(run.meta['malformed'])})")
    yield "malformed not forwarded", run.output and f"{len(run.output)} malformed frames forwarded"


def check_rate(run):
    rate = run.expected["rate"]
    server, client = ipaddress.ip_address(rate["server_ip"]), ipaddress.ip_address(rate["client_ip"])
    start, end = rate["window_start"], rate["window_end"]
    bits = 0
    fragments = {}
    for ts, data in run.output:
        key, src = frame_flow(data, fragments)
        if key and src[0] == server and client in {ip for ip, _ in key[1]} and start <= ts < end:
            bits += 8 * len(data)
    bps = bits / (end - start)
    err = abs(bps - rate["limit_bps"]) / rate["limit_bps"]
    print(f"rate: {bps / 1e6:.4f} Mbit/s forwarded server->client over {end - start:g} s, "
          f"limit {rate['limit_bps'] / 1e6:g} Mbit/s ({(bps - rate['limit_bps']) / rate['limit_bps']:+.2%})")
    yield "rate", err > rate["tolerance"] and (
        f"forwarded {bps / 1e6:.4f} Mbit/s server->client over [{start:.3f}, {end:.3f}), "
        f"expected {rate['limit_bps'] / 1e6:g} Mbit/s +-{rate['tolerance']:.0%} ({err:+.2%} off)")


# (applies to a run?, check): the one place that says what is asserted where.
CHECKS = (
    (lambda run: True, check_contract_keys),
    (lambda run: True, check_conservation),
    (lambda run: bool(run.flows), check_flow_fields),
    (lambda run: bool(run.flows), check_verdicts),
    (lambda run: True, check_block_events),
    (lambda run: run.all_allowed, check_forward_all),
    (lambda run: "malformed" in run.meta, check_malformed),
    (lambda run: run.name == run.expected.get("rate", {}).get("file"), check_rate),
)


# --------------------------------------------------------------------------- driver

def replay(binary, config, run):
    for path in run.paths.values():
        if os.path.exists(path):
            os.unlink(path)
    cmd = [binary, "-c", config, "--flows", run.paths["flows"], "--stats", run.paths["stats"],
           "--events", run.paths["events"], "-w", run.paths["out"],
           os.path.join(run.outdir, run.name)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return f"{' '.join(cmd)}: no exit within {RUN_TIMEOUT_S} s"
    except OSError as e:
        return f"{binary}: {e}"
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["(no stderr)"])[-3:]
        return f"{' '.join(cmd)}: exit status {proc.returncode}: " + " | ".join(tail)
    try:
        run.load()
    except (OSError, ValueError) as e:
        return f"reading bwgate's output: {e}"
    return None


def parse_args(argv):
    if len(argv) < 4:
        return None
    args = dict(binary=argv[1], config=argv[2], outdir=argv[3], only=[], overrides={})
    rest = argv[4:]
    while rest:
        opt = rest.pop(0)
        if opt == "--only" and rest:
            args["only"].append(rest.pop(0))
        elif opt == "--action" and rest and "=" in rest[0]:
            cls, action = rest.pop(0).split("=", 1)
            args["overrides"][cls] = action
        else:
            return None
    return args


def main(argv):
    args = parse_args(argv)
    if args is None:
        print(__doc__, file=sys.stderr)
        return 2
    with open(os.path.join(args["outdir"], "expected.json")) as f:
        expected = json.load(f)
    passed, failures = 0, []
    for name, meta in expected["files"].items():
        if args["only"] and name not in args["only"]:
            continue
        files = meta.get("contains", [name])
        flows = [f for f in expected["flows"] if f["file"] in files]
        run = Run(name, args["outdir"], expected, flows, args["overrides"])
        error = replay(args["binary"], args["config"], run)
        if error:
            failures.append(f"{name}: {error}")
            print(f"FAIL {name}: {error}")
            continue
        for applies, check in CHECKS:
            if not applies(run):
                continue
            try:
                results = list(check(run))
            except Exception as e:      # bwgate's output is not shaped as the contract says
                results = [(check.__name__, f"{check.__name__}: {type(e).__name__}: {e}")]
            for what, failure in results:
                if failure:
                    failures.append(f"{name}: {failure}")
                    print(f"FAIL {name}: {failure}")
                else:
                    passed += 1
    print(f"{passed} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
