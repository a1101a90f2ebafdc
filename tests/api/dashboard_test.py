#!/usr/bin/python3
"""The dashboard in a real browser: headless Chromium against the live appliance.

usage: dashboard_test.py BWGATE CONFIG GEN_FIXTURES OUTDIR

bwgate runs on DPDK virtual ports (net_pcap replaying the generated mixed.pcap in a loop
-> net_null), its API on a free port. Checked:
  - GET / and /dashboard.js, /dashboard.css, /chart.js (Debian's Chart.js) are served
    without a token, with their content types;
  - Chromium opens the dashboard, which refreshes from the API: after a while the page
    has made several updates without an error, the packet count it shows moved between
    its first and its latest update, the forwarded rate is not zero, the top-users table
    lists the replayed inside hosts with their units, and the recent blocks name rules;
  - a second load later shows other numbers (the page moves with the traffic);
  - a screenshot is saved in OUTDIR/dashboard.png.
Skips (exit 77), saying why, only when Chromium (Debian package chromium) is not
installed or cannot start here.
"""

import html.parser
import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "live"))
import livelib  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
WINDOW = (1400, 1300)


def skip(why):
    print("SKIP: %s" % why)
    sys.exit(77)


def get(port, path):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        c.request("GET", path)
        r = c.getresponse()
        return r.status, r.getheader("Content-Type", ""), r.read()
    except (OSError, http.client.HTTPException) as e:
        return None, "", str(e).encode()
    finally:
        c.close()


def chromium(url, what, extra, budget_ms=20000):
    """Chromium headless, bounded in time: (ok, stdout, what it said on stderr)."""
    profile = tempfile.mkdtemp(prefix="bwgate-chromium-")
    try:
        p = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
                            "--no-first-run", "--disable-background-networking",
                            "--disable-component-update", "--disable-sync",
                            "--user-data-dir=" + profile,
                            "--window-size=%d,%d" % WINDOW,
                            "--virtual-time-budget=%d" % budget_ms] + extra + [url],
                           capture_output=True, text=True, timeout=120)
        return p.returncode == 0, p.stdout, p.stderr
    except subprocess.TimeoutExpired:
        return False, "", "%s: no answer within 120 s" % what
    finally:
        shutil.rmtree(profile, ignore_errors=True)


class Page(html.parser.HTMLParser):
    """What the dumped DOM shows: text by element id, the probe's data, table rows."""

    def __init__(self):
        super().__init__()
        self.text, self.probe, self.rows = {}, {}, {}
        self.stack = []  # (tag, id) of open elements
        self.table = None
        self.row = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if a.get("id") == "probe":
            self.probe = {k[5:]: v for k, v in a.items() if k.startswith("data-")}
        if tag == "table":
            self.table = a.get("id")
        if tag == "tr" and self.table:
            self.row = []
            self.rows.setdefault(self.table, []).append(self.row)
        if tag == "td" and self.row is not None:
            self.row.append("")
        self.stack.append((tag, a.get("id")))

    def handle_endtag(self, tag):
        while self.stack:
            t, _ = self.stack.pop()
            if t == tag:
                break
        if tag == "table":
            self.table = None
        if tag == "tr":
            self.row = None

    def handle_data(self, data):
        for _, i in self.stack:
            if i:
                self.text[i] = self.text.get(i, "") + data
        if self.row is not None and self.row and self.stack and self.stack[-1][0] == "td":
            self.row[-1] += data


def load(url, ck, what):
    ok, out, err = chromium(url, what, ["--dump-dom"])
    if not ok or "<html" not in out:
        return None, err
    p = Page()
    p.feed(out)
    return p, err


def check_png(ck, png):
    with open(png, "rb") as f:
        data = f.read()
    ok = data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    w, h = (int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")) if ok \
        else (0, 0)
    ck(ok and (w, h) == WINDOW and len(data) > 40000,
       "screenshot %s (%dx%d, %d bytes)" % (png, w, h, len(data)))


def main():
    if len(sys.argv) != 5:
        print(__doc__)
        return 2
    bwgate, config, gen, out = sys.argv[1:5]
    if not os.access(CHROMIUM, os.X_OK):
        skip("%s is not installed (Debian package chromium; scripts/install-deps installs it)"
             % CHROMIUM)
    os.makedirs(out, exist_ok=True)
    ck = livelib.Check("dashboard")
    tmp = tempfile.mkdtemp(prefix="bwgate-dashboard.")
    fx = os.path.join(tmp, "fx")
    subprocess.run(["/usr/bin/python3", gen, fx], check=True, timeout=120,
                   stdout=subprocess.DEVNULL)
    mixed = os.path.join(fx, "mixed.pcap")
    cfg_path = livelib.write_config(config, tmp, "gate.json", livelib.without_schedules,
                                    inside="net_pcap0", outside="net_null0")
    with open(cfg_path) as f:
        port = int(json.load(f)["api"]["listen"].rsplit(":", 1)[1])
    cmd = [bwgate] + livelib.EAL + ["--file-prefix", f"bwg-dash-{os.getpid()}",
                                    "--vdev", f"net_pcap0,rx_pcap={mixed},infinite_rx=1",
                                    "--vdev", "net_null0,no-rx=1", "--", "-c", cfg_path]
    print("run: " + " ".join(cmd))
    sys.stdout.flush()
    err_path = os.path.join(tmp, "stderr.txt")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=open(err_path, "w"),
                            text=True)
    try:
        deadline = time.time() + 30
        st = None
        while time.time() < deadline and proc.poll() is None:
            st, _, _ = get(port, "/healthz")
            if st == 200:
                break
            time.sleep(0.2)
        if not ck(st == 200, "bwgate serves /healthz", open(err_path).read()[-2000:]):
            return ck.done()
        for path, ctype, part in (("/", "text/html", b"<canvas id=\"chart-total\""),
                                  ("/dashboard.js", "text/javascript", b"REFRESH_MS"),
                                  ("/dashboard.css", "text/css", b"--panel"),
                                  ("/chart.js", "text/javascript", b"Chart")):
            st, t, body = get(port, path)
            ck(st == 200 and t.startswith(ctype) and part in body,
               f"GET {path}: {ctype}, no token", f"{st} {t} {body[:200]!r}")
        time.sleep(2)  # a few snapshots, so the first page load has rates
        url = f"http://127.0.0.1:{port}/"
        page, said = load(url, ck, "first load")
        if page is None:
            skip("Chromium cannot be run here: %s" % said.strip()[-600:])
        p = page.probe
        ck(int(p.get("updates", "0")) >= 4 and p.get("errors") == "0",
           "the page refreshed from the API without an error", json.dumps(p))
        first, last = int(p.get("first-rx") or 0), int(p.get("last-rx") or 0)
        ck(0 < first < last, f"the packet count it shows moved ({first} -> {last})")
        fwd = page.text.get("fwd-bps", "")
        ck(fwd and not fwd.startswith("0 ") and fwd != "–", f"forwarded rate shown: {fwd}")
        ck(page.text.get("health") == "healthy", "health shown",
           page.text.get("health", ""))
        ck(page.text.get("policy", "").startswith("v"), "policy version shown")
        users = page.rows.get("top-users", [])[1:]  # past the header row
        addrs = {r[0]: r[1] for r in users if len(r) >= 2}
        want = {"10.1.0.21", "10.1.0.34", "10.2.0.38", "2001:db8:10:1::36"}
        listed = sorted(a for a in want if a in addrs)
        ck(len(users) >= 10 and len(listed) >= 3 and
           all(u in ("district-office", "finance") for u in addrs.values()),
           f"the top-users table lists the replayed hosts with their units {listed}",
           json.dumps(users)[:600])
        blocks = page.rows.get("blocks", [])[1:]
        ck(len(blocks) >= 3 and all(len(r) == 8 and r[5] for r in blocks),
           "recent blocks with their rules", json.dumps(blocks)[:400])
        apps = page.rows.get("top-apps", [])[1:]
        ck(len(apps) >= 3, "top applications listed", json.dumps(apps)[:300])

        time.sleep(1.5)
        again, _ = load(url, ck, "second load")
        ck(again is not None and int(again.probe.get("first-rx") or 0) > last,
           "a later load shows the traffic moved on")

        png = os.path.join(os.path.abspath(out), "dashboard.png")
        if os.path.exists(png):
            os.unlink(png)
        ok, _, said = chromium(url, "screenshot", ["--screenshot=" + png], 12000)
        if ck(ok and os.path.exists(png), "Chromium took a screenshot", said[-400:]):
            check_png(ck, png)
            print("screenshot: " + png)
    finally:
        livelib.stop_gate(proc)
        ck(proc.returncode == 0, "bwgate stops cleanly", f"exit {proc.returncode}")
        shutil.rmtree(tmp, ignore_errors=True)
    ck.done()


if __name__ == "__main__":
    main()
