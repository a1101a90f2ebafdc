#!/usr/bin/python3
"""The policy's modes and extras, offline: bwgate-pcap on generated traffic.

usage: check_policy.py BWGATE_PCAP CONFIG GEN_FIXTURES

CONFIG is the shipped policy; each check derives a variant of it (written beside the
captures, with lists_dir pointing back at CONFIG's folder), replays captures through
BWGATE_PCAP with packet timestamps as the clock and asserts what came out:

  monitor   every block and limit rule in "mode": "monitor" forwards everything and
            counts, rule by rule, exactly what the same rules in force drop
            (would_block_* / would_limit_* against dropped_*), flows included; its
            flow records and events say "monitor".
  quota     a user downloading past a 100 MB daily quota is held to the quota's rate
            (within 2%) or blocked from the crossing on, unthrottled the next day; a
            restart between two captures (the state_file) keeps the usage.
  penalty   a user above 1 Mbit/s for two minutes in a row enters the penalty lane
            (256 Kbit/s for two minutes, within 2%) and leaves it: both logged, at the
            minute boundary and two minutes later; unthrottled before and after.
  notice    a block rule with "notice" answers the client's plain-HTTP request with
            its 403 page (Chinese and English: rule, reason, contact), sequenced as
            the server's next segment, with FIN, and resets the server (--replies);
            a TLS flow under the same rule gets only its RSTs.

Prints each failure, then `N passed, M failed`; exits 0 when nothing failed.
"""

import calendar
import json
import os
import struct
import subprocess
import sys
import tempfile

from scapy.layers.inet import IP, TCP
from scapy.layers.l2 import Ether
from scapy.utils import RawPcapReader

RUN_TIMEOUT_S = 120


class Checks:
    def __init__(self):
        self.passed, self.failures = 0, []

    def check(self, ok, what):
        if ok:
            self.passed += 1
        else:
            self.failures.append(what)
            print(f"FAIL {what}")

    def equal(self, got, want, what):
        self.check(got == want, f"{what}: {got!r}, want {want!r}")

    def near(self, got, want, tol, what):
        """got within tol (a fraction) of want; the figure is printed either way, as
        doc/performance.md quotes it."""
        off = (got - want) / want
        line = f"{what}: {got} B of {want:.0f} ({off:+.3%}, allowed +-{tol:.0%})"
        print(line)
        self.check(abs(off) <= tol, line)


def read_frames(path):
    reader = RawPcapReader(path)
    try:
        return [bytes(data) for data, _ in reader]
    finally:
        reader.close()


def frames(path):
    return len(read_frames(path))


def derive(config, outdir, name, change):
    """CONFIG as JSON, changed by change(doc), written to OUTDIR/NAME.json."""
    with open(config) as f:
        doc = json.load(f)
    doc["lists_dir"] = os.path.dirname(os.path.abspath(config))
    for key in ("events", "history", "api"):     # the appliance's; nothing offline
        doc.pop(key, None)
    change(doc)
    path = os.path.join(outdir, name + ".json")
    with open(path, "w") as f:
        json.dump(doc, f, indent=1)
    return path


def replay(binary, config, captures, outdir, tag, extra=()):
    """Run bwgate-pcap; returns dict(stats, flows, events, out frames) or raises."""
    stem = os.path.join(outdir, tag)
    paths = dict(flows=stem + ".flows.jsonl", stats=stem + ".stats.json",
                 events=stem + ".events.jsonl", out=stem + ".out.pcap")
    cmd = [binary, "-c", config, "--flows", paths["flows"], "--stats", paths["stats"],
           "--events", paths["events"], "-w", paths["out"], *extra, *captures]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: exit {proc.returncode}: {proc.stderr.strip()}")

    def jsonl(path):
        with open(path) as f:
            return [json.loads(line) for line in f if line.strip()]
    with open(paths["stats"]) as f:
        stats = json.load(f)
    res = dict(stats=stats, flows=jsonl(paths["flows"]), events=jsonl(paths["events"]),
               out=frames(paths["out"]), stderr=proc.stderr)
    if "--replies" in extra:
        res["replies"] = read_frames(extra[list(extra).index("--replies") + 1])
    return res


def flow_key(rec):
    return (rec["proto"], rec["src_ip"], rec["src_port"], rec["dst_ip"], rec["dst_port"],
            rec["vlan"])


# --------------------------------------------------------------------------- monitor

def monitor_all(doc):
    for rule in doc["rules"]:
        if rule["action"] in ("block", "limit"):
            rule["mode"] = "monitor"


def check_monitor(c, binary, config, fixtures, outdir):
    mon = derive(config, outdir, "monitor", monitor_all)
    captures = [os.path.join(fixtures, "mixed.pcap"), os.path.join(fixtures, "rate.pcap")]
    for cap in captures:
        name = os.path.basename(cap)
        enf = replay(binary, config, [cap], outdir, "enforce-" + name)
        mo = replay(binary, mon, [cap], outdir, "monitor-" + name)
        es, ms = enf["stats"], mo["stats"]
        policy_drops = es["drops"]["policy_block"] + es["drops"]["policy_limit"]
        c.check(policy_drops > 0, f"{name}: the policy in force drops something")
        c.equal(ms["drops"]["policy_block"] + ms["drops"]["policy_limit"], 0,
                f"{name}: monitor drops by policy")
        c.equal(mo["out"], enf["out"] + policy_drops,
                f"{name}: monitor forwards what enforce forwards and what it dropped")
        erules = {r["name"]: r for r in es["rules"]}
        c.equal(sum(r["dropped_packets"] for r in es["rules"]), policy_drops,
                f"{name}: rules' dropped_packets add up to the policy drops")
        for r in ms["rules"]:
            e = erules[r["name"]]
            c.equal(r["mode"], "monitor" if e["action"] in ("block", "limit") else e["mode"],
                    f"{name}: rules[{r['name']}].mode")
            if e["action"] not in ("block", "limit"):
                continue
            verb = e["action"]
            c.equal((r[f"would_{verb}_packets"], r[f"would_{verb}_flows"]),
                    (e["dropped_packets"], e["dropped_flows"]),
                    f"{name}: rule {r['name']}: monitor's would_{verb} (packets, flows) vs "
                    "the rule in force's dropped")
            c.equal(r["dropped_packets"], 0, f"{name}: monitor rule {r['name']} dropped")
        # Flow by flow: the records of the flows enforce dropped say monitor, forwarded.
        mrec = {flow_key(r): r for r in mo["flows"]}
        dropped = [r for r in enf["flows"] if r["dropped_pkts"]]
        c.equal(sum(1 for r in dropped if flow_key(r) in mrec), len(dropped),
                f"{name}: every flow enforce dropped has a monitor record")
        c.equal(sum(e["dropped_flows"] for e in es["rules"]), len(dropped),
                f"{name}: rules' dropped_flows is the flows with drops")
        bad = [r for r in dropped if flow_key(r) in mrec and
               (mrec[flow_key(r)].get("mode") != "monitor" or
                mrec[flow_key(r)]["dropped_pkts"] != 0 or
                mrec[flow_key(r)]["action"] != r["action"] or
                mrec[flow_key(r)]["rule"] != r["rule"])]
        c.equal([flow_key(r) for r in bad], [],
                f"{name}: monitor records with mode monitor, same rule and action, no drops")
        evs = [e for e in mo["events"] if e["event"] in ("block", "limit")]
        c.check(evs and all(e.get("mode") == "monitor" for e in evs),
                f"{name}: monitor's block/limit events say mode monitor")
        c.check(all("mode" not in e for e in enf["events"]),
                f"{name}: events of rules in force carry no mode")


# --------------------------------------------------------------------------- penalty

PEN_BPS = 256_000


def with_penalty(doc):
    doc["rules"].insert(0, {"name": "penalty-web", "classes": ["web"], "action": "allow",
                            "penalty": {"above": "1Mbit", "for": 2,
                                        "then": {"rate": "256Kbit"}, "lasts": 2}})


def check_penalty(c, binary, config, fixtures, outdir):
    # 5.5 minutes at 2 Mbit/s from half a second past a minute boundary.
    dl = Download(DAY1 + 0.5, 40010).run(330, 2e6)
    cap = dl.write(os.path.join(outdir, "penalty.pcap"))
    cfg = derive(config, outdir, "penalty", with_penalty)
    run = replay(binary, cfg, [cap], outdir, "penalty")
    out = frames_ts(os.path.join(outdir, "penalty.out.pcap"))
    starts = [e for e in run["events"] if e["event"] == "penalty_start"]
    ends = [e for e in run["events"] if e["event"] == "penalty_end"]
    c.check(len(starts) == 1 and len(ends) == 1,
            f"penalty: one entry and one exit logged ({len(starts)}, {len(ends)})")
    if len(starts) != 1 or len(ends) != 1:
        return
    t_in, t_out = starts[0]["time"], ends[0]["time"]
    # Minute m0 (partly) and m0 + 1 above the rate: judged at the first packet after
    # the second boundary, two minutes after the start.
    c.check(DAY1 + 120 <= t_in < DAY1 + 120.1,
            f"penalty: entry at the end of the second minute above 1 Mbit/s ({t_in - DAY1:.3f} "
            "s after the first boundary, want 120)")
    c.check(abs(t_out - t_in - 120) < 0.001,
            f"penalty: exit two minutes after the entry ({t_out - t_in:.3f} s)")
    p = starts[0]["penalty"]
    c.equal((p["user"], p["above_bps"], p["for_minutes"], p["rate_bps"], p["lasts_minutes"]),
            (QUOTA_USER, 1_000_000, 2, PEN_BPS, 2), "penalty: the entry event's lane")
    c.check(abs(p["until"] - t_out) < 0.001, "penalty: the entry event says when it ends")
    before = sum(1 for t, _, _ in dl.frames if t < t_in - 0.001)
    c.equal(sum(1 for t, _ in out if t < t_in - 0.001), before,
            "penalty: everything forwarded before the entry")
    got = s2c_bytes(out, t_in + 1, t_out - 1)
    want = PEN_BPS / 8 * (t_out - t_in - 2)
    c.near(got, want, 0.02, f"penalty: toward the user inside the lane ({t_out - t_in - 2:.0f} s)")
    after = sum(1 for t, _, _ in dl.frames if t > t_out + 0.001)
    c.equal(sum(1 for t, _ in out if t > t_out + 0.001), after,
            "penalty: everything forwarded after the exit")
    cnt = run["stats"]["counters"]
    c.equal((cnt["penalties"], cnt["penalties_ended"]), (1, 1),
            "penalty: counters penalties, penalties_ended")
    pens = [x for x in run["stats"]["penalties"] if x["host"] == QUOTA_USER]
    c.check(len(pens) == 1 and not pens[0]["active"], f"penalty: --stats penalties ({pens})")


# --------------------------------------------------------------------------- notice

NOTICE_CONTACT = "信息中心 IT service desk, tel. 8000"
NOTICE_RULE = "notice-example"


def with_notice(doc):
    doc["notice"] = {"contact": NOTICE_CONTACT}
    doc["rules"].insert(0, {"name": NOTICE_RULE, "hosts": ["www.example.org", "www.example.com"],
                            "action": "block", "notice": True, "reset": True})


def checksums_ok(frame):
    """Whether the IPv4 and TCP checksums of frame are what scapy computes."""
    p = Ether(frame)
    q = p.copy()
    del q[IP].chksum
    del q[TCP].chksum
    q = Ether(bytes(q))
    return q[IP].chksum == p[IP].chksum and q[TCP].chksum == p[TCP].chksum


def http_request(frames_in):
    """The first frame of a capture that carries an HTTP request, as scapy sees it."""
    for fr in frames_in:
        p = Ether(fr)
        if TCP in p and bytes(p[TCP].payload).startswith(b"GET "):
            return p
    return None


def check_page(c, what, page, req):
    """page (scapy) answers request req as its server's next segment, with the page."""
    t, r = page[TCP], req[TCP]
    c.equal((page[IP].src, page[IP].dst, t.sport, t.dport),
            (req[IP].dst, req[IP].src, r.dport, r.sport), f"{what}: page toward the client")
    c.equal((t.seq, t.ack), (r.ack, (r.seq + len(r.payload)) & 0xffffffff),
            f"{what}: page seq = the request's ack, ack = the request's end")
    c.equal(str(t.flags), "FPA", f"{what}: page flags")
    data = bytes(t.payload)
    head, _, body = data.partition(b"\r\n\r\n")
    c.check(head.startswith(b"HTTP/1.1 403 Forbidden\r\n"), f"{what}: status line 403")
    c.check(f"Content-Length: {len(body)}".encode() in head, f"{what}: Content-Length right")
    text = body.decode("utf-8")
    for want in ("访问已被阻止", "Access blocked", NOTICE_RULE, "host: www.example.org",
                 NOTICE_CONTACT):
        c.check(text.count(want) >= 1, f"{what}: page says {want!r}")


def check_notice(c, binary, config, fixtures, outdir):
    cfg = derive(config, outdir, "notice", with_notice)
    http = os.path.join(fixtures, "http_example.pcap")
    tls = os.path.join(fixtures, "tls_example.pcap")
    rpath = os.path.join(outdir, "notice.replies.pcap")
    run = replay(binary, cfg, [http], outdir, "notice-http", ("--replies", rpath))
    req = http_request(read_frames(http))
    c.check(req is not None, "notice: the HTTP fixture has a request")
    reps = [Ether(f) for f in run["replies"]]
    c.equal([str(p[TCP].flags) for p in reps], ["FPA", "RA"],
            "notice: replies are the page, then a RST")
    c.equal(run["stats"]["counters"]["notices"], 1, "notice: counters.notices")
    c.equal(run["stats"]["counters"]["resets"], 0, "notice: no reset pair besides")
    if len(reps) == 2 and req is not None:
        check_page(c, "notice", reps[0], req)
        rst, r = reps[1][TCP], req[TCP]
        c.equal((reps[1][IP].dst, rst.dport, rst.seq), (req[IP].dst, r.dport, r.seq),
                "notice: RST toward the server with the request's seq")
        c.check(all(checksums_ok(f) for f in run["replies"]), "notice: checksums right")
    rec = [f for f in run["flows"] if f["rule"] == NOTICE_RULE]
    c.check(len(rec) == 1 and rec[0]["action"] == "block" and rec[0]["dropped_pkts"] > 0,
            "notice: the HTTP flow is blocked")
    # TLS under the same rule: no page, no interception; its RST pair only.
    run = replay(binary, cfg, [tls], outdir, "notice-tls", ("--replies", rpath))
    reps = [Ether(f) for f in run["replies"]]
    c.check(reps and all(p[TCP].flags & 0x04 and not bytes(p[TCP].payload) for p in reps),
            f"notice: the TLS flow gets RSTs only ({len(reps)} frames)")
    c.equal(run["stats"]["counters"]["notices"], 0, "notice: no page for TLS")


# --------------------------------------------------------------------------- quota

QUOTA_USER, QUOTA_SERVER = "10.1.0.50", "203.0.113.80"
QUOTA_BYTES = 100 * 1024 * 1024          # "100MB"
THEN_BPS = 2_000_000                     # "2Mbit"
DATA = 1454                              # frame bytes of a full data segment
# Wednesday 2026-11-25 20:00 in Shanghai (UTC+8): outside working hours.
DAY1 = calendar.timegm((2026, 11, 25, 12, 0, 0))
DAY2 = DAY1 + 86400


def ip4(a):
    return bytes(int(x) for x in a.split("."))


class Download:
    """An HTTP download from QUOTA_SERVER to QUOTA_USER, as raw Ethernet frames: the
    handshake, a GET for www.example.org, then full segments at the rates of `phases`
    [(seconds, bit/s)], the client acknowledging every tenth."""

    def __init__(self, t0, cport):
        self.t, self.cport, self.frames = float(t0), cport, []
        self.seq = {True: 1000, False: 5000}
        self.frame(True, 0x02, b"")
        self.frame(False, 0x12, b"")
        self.frame(True, 0x10, b"")
        self.frame(True, 0x18, b"GET /big.iso HTTP/1.1\r\nHost: www.example.org\r\n"
                   b"User-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n")
        self.frame(False, 0x18, b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream"
                   b"\r\nContent-Length: 900000000\r\n\r\n")

    def frame(self, from_client, flags, payload):
        src, dst = (QUOTA_USER, QUOTA_SERVER) if from_client else (QUOTA_SERVER, QUOTA_USER)
        sport, dport = (self.cport, 80) if from_client else (80, self.cport)
        tcp = struct.pack("!HHIIBBHHH", sport, dport, self.seq[from_client],
                          self.seq[not from_client], 5 << 4, flags, 65535, 0, 0)
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp) + len(payload), 0, 0x4000,
                         64, 6, 0, ip4(src), ip4(dst))
        eth = bytes.fromhex("020000000001020000000002" if from_client
                            else "020000000002020000000001") + b"\x08\x00"
        self.seq[from_client] = (self.seq[from_client] + len(payload) +
                                 (1 if flags & 0x03 else 0)) & 0xffffffff
        self.frames.append((self.t, from_client, eth + ip + tcp + payload))
        self.t += 0.0002

    def run(self, seconds, bps):
        gap = DATA * 8 / bps
        end = self.t + seconds
        n = 0
        while self.t < end:
            t = self.t
            self.frame(False, 0x10, b"\0" * (DATA - 54))
            self.t = t + gap
            n += 1
            if n % 10 == 0:
                self.frame(True, 0x10, b"")
                self.t = t + gap
        return self

    def write(self, path):
        with open(path, "wb") as f:
            f.write(struct.pack("<IHHiIII", 0xa1b23c4d, 2, 4, 0, 0, 65535, 1))
            for t, _, fr in self.frames:
                sec = int(t)
                f.write(struct.pack("<IIII", sec, int(round((t - sec) * 1e9)), len(fr), len(fr)))
                f.write(fr)
        return path


def frames_ts(path):
    """[(time in s, frame)] of a nanosecond pcap bwgate-pcap wrote."""
    reader = RawPcapReader(path)
    out = []
    try:
        for data, meta in reader:
            out.append((meta.sec + meta.usec / (1e9 if reader.nano else 1e6), bytes(data)))
    finally:
        reader.close()
    return out


def with_quota(then):
    def change(doc):
        doc["rules"].insert(0, {"name": "quota-web", "classes": ["web"], "action": "allow",
                                "quota": {"period": "day", "bytes": "100MB", "then": then}})
    return change


def crossing(downloads, used=0):
    """The time of the frame that takes the user's counted bytes to the quota: bytes of
    every frame from the request on (nDPI names the flow there), in time order."""
    for d in downloads:
        for t, _, fr in d.frames[3:]:
            used += len(fr)
            if used >= QUOTA_BYTES:
                return t, used
    return None, used


def s2c_bytes(frames_out, t_from, t_to):
    return sum(len(fr) for t, fr in frames_out
               if t_from <= t < t_to and fr[26:30] == ip4(QUOTA_SERVER))


def check_quota(c, binary, config, fixtures, outdir):
    # One capture: 9 s at 100 Mbit/s (about 107 MB), then 20 s at 10 Mbit/s.
    whole = Download(DAY1, 40001).run(9, 100e6).run(20, 10e6)
    cap = whole.write(os.path.join(outdir, "quota-day1.pcap"))
    t_cross, _ = crossing([whole])
    c.check(t_cross is not None, "quota: the download passes 100 MB")
    for then in ({"rate": "2Mbit"}, "block"):
        tag = "limit" if isinstance(then, dict) else "block"
        state = os.path.join(outdir, f"quota-{tag}.state")
        cfg = derive(config, outdir, f"quota-{tag}", with_quota(then))
        run = replay(binary, cfg, [cap], outdir, f"quota-{tag}", ("--state", state))
        out = frames_ts(os.path.join(outdir, f"quota-{tag}.out.pcap"))
        before = sum(1 for t, _, _ in whole.frames if t < t_cross - 0.01)
        c.equal(sum(1 for t, _ in out if t < t_cross - 0.01), before,
                f"quota {tag}: everything forwarded before the crossing")
        got = s2c_bytes(out, t_cross + 1, t_cross + 16)
        if tag == "limit":
            want = THEN_BPS / 8 * 15
            c.near(got, want, 0.02,
                   "quota limit: toward the user in the 15 s from 1 s after the crossing")
        else:
            c.equal(sum(1 for t, _ in out if t > t_cross + 0.01), 0,
                    "quota block: nothing forwarded after the crossing")
        evs = [e for e in run["events"] if e["event"] == "quota"]
        c.check(len(evs) == 1 and evs[0]["quota"]["user"] == QUOTA_USER and
                evs[0]["quota"]["used_bytes"] >= QUOTA_BYTES and
                abs(evs[0]["time"] - t_cross) < 0.01,
                f"quota {tag}: one quota event at the crossing ({[e['time'] for e in evs]} "
                f"vs {t_cross})")
        q = [x for x in run["stats"]["quotas"] if x["host"] == QUOTA_USER]
        c.check(len(q) == 1 and q[0]["over"] and q[0]["remaining_bytes"] == 0 and
                q[0]["period_start"] == "2026-11-25",
                f"quota {tag}: --stats quotas show the user over ({q})")
        # The next day: the same user, 10 s at 40 Mbit/s, unthrottled.
        nxt = Download(DAY2, 40002).run(10, 40e6)
        cap2 = nxt.write(os.path.join(outdir, "quota-day2.pcap"))
        run2 = replay(binary, cfg, [cap2], outdir, f"quota-{tag}-day2", ("--state", state))
        c.equal(run2["out"], len(nxt.frames),
                f"quota {tag}: the next day everything is forwarded again")
        q = [x for x in run2["stats"]["quotas"] if x["host"] == QUOTA_USER]
        c.check(len(q) == 1 and not q[0]["over"] and q[0]["period_start"] == "2026-11-26",
                f"quota {tag}: the next day's usage starts from zero ({q})")

    # A restart between two captures keeps the usage: 60 MB, then the rest.
    first = Download(DAY1, 40003).run(5, 100e6)
    second = Download(first.t + 60, 40004).run(4, 100e6).run(20, 10e6)
    state = os.path.join(outdir, "quota-restart.state")
    cfg = derive(config, outdir, "quota-restart", with_quota({"rate": "2Mbit"}))
    replay(binary, cfg, [first.write(os.path.join(outdir, "quota-a.pcap"))], outdir, "quota-a",
           ("--state", state))
    with open(state) as f:
        saved = json.load(f)
    used_a = sum(len(fr) for _, _, fr in first.frames[3:])
    c.equal([(q["host"], q["used_bytes"]) for q in saved["quotas"]], [(QUOTA_USER, used_a)],
            "quota restart: the state file holds the first capture's usage")
    run = replay(binary, cfg, [second.write(os.path.join(outdir, "quota-b.pcap"))], outdir,
                 "quota-b", ("--state", state))
    t_cross, _ = crossing([second], used_a)
    out = frames_ts(os.path.join(outdir, "quota-b.out.pcap"))
    got = s2c_bytes(out, t_cross + 1, t_cross + 16)
    want = THEN_BPS / 8 * 15
    c.check(t_cross is not None, "quota restart: the two captures together cross the quota")
    c.near(got, want, 0.02, "quota restart: throttled from the crossing, 15 s from 1 s after")
    evs = [e for e in run["events"] if e["event"] == "quota"]
    c.check(len(evs) == 1 and abs(evs[0]["time"] - t_cross) < 0.01,
            "quota restart: the crossing event in the second capture")
    # A corrupt state file is reported and the gate starts with no usage.
    with open(state, "w") as f:
        f.write("{not json")
    proc = subprocess.run([binary, "-c", cfg, "--stats", os.path.join(outdir, "q.json"),
                           "--state", state, os.path.join(outdir, "quota-a.pcap")],
                          capture_output=True,
                          text=True, timeout=RUN_TIMEOUT_S)
    c.check(proc.returncode == 0 and "starting with no quota usage" in proc.stderr,
            f"quota: a corrupt state file is reported, not fatal ({proc.stderr.strip()})")


def main(argv):
    if len(argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    binary, config, gen = argv[1:]
    c = Checks()
    with tempfile.TemporaryDirectory(prefix="bwgate-policy.") as tmp:
        fixtures = os.path.join(tmp, "fixtures")
        subprocess.run(["/usr/bin/python3", gen, fixtures], check=True,
                       stdout=subprocess.DEVNULL, timeout=120)
        for check in (check_monitor, check_notice, check_quota, check_penalty):
            try:
                check(c, binary, config, fixtures, tmp)
            except (RuntimeError, subprocess.TimeoutExpired, OSError, KeyError) as e:
                c.check(False, f"{check.__name__}: {type(e).__name__}: {e}")
    print(f"{c.passed} passed, {len(c.failures)} failed")
    return 1 if c.failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
