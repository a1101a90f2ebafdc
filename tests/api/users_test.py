#!/usr/bin/python3
"""Per-user accounting of the live appliance, end to end.

usage: users_test.py BWGATE CONFIG GEN_FIXTURES

bwgate runs on DPDK virtual ports (net_pcap -> net_null) with the default policy (no
schedules). Checked, each request bounded in time:
  - mixed.pcap in a loop: /api/v1/top?by=hosts lists the fixture's inside hosts with
    their units and moving rates, largest first; ?unit= and ?class= narrow it;
    /api/v1/hosts/10.1.0.21 (the BitTorrent client) shows its blocked p2p attempt with
    time, rule and host, its classes and its active flow; /api/v1/units/finance has its
    top users and recent blocks; /api/v1/blocks lists blocks newest first; bad addresses
    and names are refused; /metrics has no per-user series;
  - mixed.pcap once: when the traffic is over, the users add up exactly to every class
    and unit total of /api/v1/stats (bytes, packets, flows), and the blocked flows of
    the users to the block events of the audit log;
  - users.hosts = 4: the table holds 4 users and counts the others as evictions.
"""

import http.client
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "live"))
import livelib  # noqa: E402


def get(port, path, timeout=5):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request("GET", path)
        r = c.getresponse()
        body = r.read()
        try:
            return r.status, json.loads(body)
        except ValueError:
            return r.status, body.decode(errors="replace")
    except (OSError, http.client.HTTPException) as e:
        return None, str(e)
    finally:
        c.close()


class Gate:
    """bwgate on net_pcap (pcap, looping or not) -> net_null with the test's config."""

    def __init__(self, bwgate, config, tmp, name, pcap, loop, mutate=None):
        def adjust(cfg):
            livelib.without_schedules(cfg)
            if mutate:
                mutate(cfg)
        self.cfg_path = livelib.write_config(config, tmp, name + ".json", adjust,
                                             inside="net_pcap0", outside="net_null0")
        with open(self.cfg_path) as f:
            cfg = json.load(f)
        self.port = int(cfg["api"]["listen"].rsplit(":", 1)[1])
        self.events = cfg["events"]["file"]
        rx = f"net_pcap0,rx_pcap={pcap}" + (",infinite_rx=1" if loop else "")
        cmd = [bwgate] + livelib.EAL + ["--file-prefix", f"bwg-users-{name}-{os.getpid()}",
                                        "--vdev", rx, "--vdev", "net_null0,no-rx=1",
                                        "--", "-c", self.cfg_path]
        print("run: " + " ".join(cmd))
        sys.stdout.flush()
        self.err_path = os.path.join(tmp, name + ".stderr")
        self.err = open(self.err_path, "w")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.err, text=True)

    def wait_ready(self, ck):
        deadline = time.time() + 30
        while time.time() < deadline and self.proc.poll() is None:
            st, _ = get(self.port, "/healthz", timeout=2)
            if st == 200:
                return True
            time.sleep(0.2)
        ck(False, "bwgate serves /healthz", open(self.err_path).read()[-2000:])
        return False

    def stop(self, ck):
        livelib.stop_gate(self.proc)
        ck(self.proc.returncode == 0, "bwgate stops cleanly", f"exit {self.proc.returncode}")


def looping(ck, bwgate, config, tmp, mixed):
    g = Gate(bwgate, config, tmp, "loop", mixed, True)
    try:
        if not g.wait_ready(ck):
            return
        time.sleep(2)
        st, top = get(g.port, "/api/v1/top?by=hosts&limit=5")
        ok = st == 200 and top["by"] == "hosts" and len(top["top"]) == 5
        ck(ok, "top?by=hosts&limit=5 lists 5 users", json.dumps(top)[:600])
        if not ok:
            return
        units = {t["name"]: t["unit"] for t in top["top"]}
        ck(all(u in ("district-office", "finance") for u in units.values()),
           "each user has its unit", json.dumps(units))
        rates = [t["interval_bytes"] for t in top["top"]]
        ck(rates == sorted(rates, reverse=True) and rates[0] > 0,
           "largest first, by the last interval's bytes", str(rates))
        ck(all(t["up_bps"] + t["down_bps"] > 0 for t in top["top"]),
           "the top users have rates")
        # totals move
        b0 = {t["name"]: t["bytes"] for t in top["top"]}
        time.sleep(1.5)
        _, top2 = get(g.port, "/api/v1/top?by=hosts&limit=1000")
        b1 = {t["name"]: t["bytes"] for t in top2["top"]}
        ck(all(b1.get(n, 0) > b for n, b in b0.items()), "their totals move")
        hosts = set(b1)
        want = {"10.1.0.21", "10.2.0.38", "10.1.0.34", "2001:db8:10:1::36"}
        ck(want <= hosts, "the fixture's inside hosts are users", str(sorted(hosts)))
        ck(not any(h.startswith(("198.51.100.", "203.0.113.")) for h in hosts),
           "no outside address is a user")

        st, fin = get(g.port, "/api/v1/top?by=hosts&unit=finance&limit=1000")
        ck(st == 200 and fin["top"] and all(t["unit"] == "finance" for t in fin["top"]),
           "?unit=finance keeps finance's users")
        st, p2p = get(g.port, "/api/v1/top?by=hosts&class=p2p")
        ck(st == 200 and [t["name"] for t in p2p["top"]][:1] == ["10.1.0.21"] and
           p2p["top"][0]["blocked_flows"] >= 1, "?class=p2p: the BitTorrent client, blocked",
           json.dumps(p2p)[:600])

        st, h = get(g.port, "/api/v1/hosts/10.1.0.21")
        ok = st == 200 and h["name"] == "10.1.0.21" and h["unit"] == "district-office"
        ck(ok, "GET /api/v1/hosts/10.1.0.21", json.dumps(h)[:600])
        if ok:
            blocks = h["recent_blocks"]
            ck(any(b["class"] == "p2p" and b["action"] == "block" and b["rule"] and
                   b["time"] > time.time() - 600 for b in blocks),
               "its blocked BitTorrent attempt: class, rule, time", json.dumps(blocks))
            cls = {c["name"]: c for c in h["classes"]}
            ck("p2p" in cls and cls["p2p"]["blocked_flows"] >= 1 and
               cls["p2p"]["dropped_packets"] > 0, "its p2p class: blocked, dropped",
               json.dumps(h["classes"]))
            ck(sum(c["bytes"] for c in h["classes"]) == h["bytes"],
               "its classes add up to its total")
            ck(h["active_flows"] >= 1 and h["top_apps"] and
               any("BitTorrent" in a["name"] for a in h["top_apps"]),
               "its active flows and top apps (BitTorrent)", json.dumps(h["top_apps"]))
        st, v = get(g.port, "/api/v1/hosts/2001:db8:10:1::36")
        ck(st == 200 and any(b["class"] == "video" for b in v["recent_blocks"]),
           "an IPv6 user's blocked video attempt", json.dumps(v)[:400])

        st, u = get(g.port, "/api/v1/units/finance?limit=3")
        ok = st == 200 and u["name"] == "finance" and 0 < len(u["top_users"]) <= 3
        ck(ok, "GET /api/v1/units/finance", json.dumps(u)[:600])
        if ok:
            ck(all(t["unit"] == "finance" for t in u["top_users"]) and u["hosts"] >= 3,
               "its top users are its own")
            ck(any(b["class"] == "stock" for b in u["recent_blocks"]),
               "its recent blocks (stock)", json.dumps(u["recent_blocks"]))
        st, bl = get(g.port, "/api/v1/blocks?limit=50")
        times = [b["time"] for b in bl["blocks"]] if st == 200 else []
        ck(st == 200 and len(times) >= 5 and times == sorted(times, reverse=True),
           "GET /api/v1/blocks: newest first", json.dumps(bl)[:400])

        for path, code in (("/api/v1/hosts/10.1.0.999", 400), ("/api/v1/hosts/10.9.9.9", 404),
                           ("/api/v1/units/nowhere", 404),
                           ("/api/v1/top?by=hosts&class=nothing", 400),
                           ("/api/v1/top?by=hosts&unit=nowhere", 400),
                           ("/api/v1/top?by=classes&unit=finance", 400)):
            st, e = get(g.port, path)
            ck(st == code and isinstance(e, dict) and "error" in e, f"{path}: {code}",
               f"{st} {e}")
        st, m = get(g.port, "/metrics")
        ck(st == 200 and "10.1.0.21" not in m, "/metrics has no per-user series")
    finally:
        g.stop(ck)


def exact(ck, bwgate, config, tmp, mixed):
    g = Gate(bwgate, config, tmp, "once", mixed, False)
    try:
        if not g.wait_ready(ck):
            return
        # The capture plays once; wait until the counters stand still.
        last, still = None, 0
        deadline = time.time() + 30
        while time.time() < deadline and still < 3:
            _, s = get(g.port, "/api/v1/stats")
            key = s["totals"]["rx_packets"] if isinstance(s, dict) else None
            still = still + 1 if key and key == last else 0
            last = key
            time.sleep(0.5)
        time.sleep(1)
        _, s = get(g.port, "/api/v1/stats")
        _, top = get(g.port, "/api/v1/top?by=hosts&limit=1000")
        users = top["top"]
        hosts = {}
        for t in users:
            _, hosts[t["name"]] = get(g.port, "/api/v1/hosts/" + t["name"])
        ck(len(users) >= 15, f"the capture's users are listed ({len(users)})")
        by_class = {}
        for h in hosts.values():
            for c in h["classes"]:
                a = by_class.setdefault(c["name"], [0, 0, 0])
                a[0] += c["bytes"]
                a[1] += c["packets"]
                a[2] += c["dropped_bytes"]
                ck(c["forwarded_bytes"] + c["dropped_bytes"] == c["bytes"],
                   f'{h["name"]} {c["name"]}: forwarded and dropped bytes make its bytes')
        classes = {c["name"]: [c["bytes"], c["packets"], c["dropped_bytes"]]
                   for c in s["classes"] if c["packets"]}
        ck(by_class == classes,
           "the users add up to every class (bytes, packets, dropped bytes)",
           f"users {by_class} classes {classes}")
        by_unit = {}
        for t in users:
            a = by_unit.setdefault(t["unit"], [0, 0, 0])
            a[0] += t["bytes"]
            a[1] += t["packets"]
            a[2] += t["flows"]
        units = {u["name"]: [u["bytes"], u["packets"], u["flows"]] for u in s["units"]
                 if u["packets"]}
        ck(by_unit == units, "the users add up to every unit (bytes, packets, flows)",
           f"users {by_unit} units {units}")
        for name in ("finance", "district-office"):
            _, u = get(g.port, "/api/v1/units/" + name)
            ck(sum(c["bytes"] for c in u["classes"]) == u["bytes"],
               f"unit {name}: its classes add up to its total")
        with open(g.events) as f:
            blocks = sum(1 for line in f if json.loads(line)["event"] == "block")
        ck(blocks > 0 and sum(t["blocked_flows"] for t in users) == blocks,
           f"the users' blocked flows are the audit log's block events ({blocks})")
        ck(top["users"]["evictions"] == 0 and top["users"]["deltas_lost"] == 0,
           "nothing evicted, nothing lost")
    finally:
        g.stop(ck)


def evict(ck, bwgate, config, tmp, mixed):
    def small(cfg):
        cfg["users"] = {"hosts": 4}
    g = Gate(bwgate, config, tmp, "small", mixed, True, small)
    try:
        if not g.wait_ready(ck):
            return
        time.sleep(2)
        st, top = get(g.port, "/api/v1/top?by=hosts&limit=100")
        ck(st == 200 and len(top["top"]) == 4 and top["users"]["hosts"] == 4 and
           top["users"]["capacity"] == 4 and top["users"]["evictions"] > 0,
           "users.hosts = 4: four kept, the others evicted and counted",
           json.dumps(top.get("users") if isinstance(top, dict) else top))
    finally:
        g.stop(ck)


def main():
    if len(sys.argv) != 4:
        print(__doc__)
        return 2
    bwgate, config, gen = sys.argv[1:4]
    ck = livelib.Check("users")
    tmp = tempfile.mkdtemp(prefix="bwgate-users.")
    fx = os.path.join(tmp, "fx")
    subprocess.run(["/usr/bin/python3", gen, fx], check=True, timeout=120,
                   stdout=subprocess.DEVNULL)
    mixed = os.path.join(fx, "mixed.pcap")
    looping(ck, bwgate, config, tmp, mixed)
    exact(ck, bwgate, config, tmp, mixed)
    evict(ck, bwgate, config, tmp, mixed)
    ck.done()


if __name__ == "__main__":
    main()
