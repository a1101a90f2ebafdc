#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""The HTML report in Chromium: it must open and render, and the screenshot is kept.

usage: check_screenshot.py BWGATE_PCAP BWGATE_REPORT CONFIG GEN_FIXTURES BENCH_REPORT_GEN OUTDIR

Renders two reports headless, each to a PNG in OUTDIR: the demo's audit log
(report-demo.png) and a week of synthetic log from bench_report_gen (report-week.png),
which fills both charts and every table. Skips (exit 77), saying why, only when
Chromium (Debian package `chromium`) is not installed or cannot start here.
"""

import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check_demo  # noqa: E402

CHROMIUM = "/usr/bin/chromium"


def skip(why):
    print("SKIP: %s" % why)
    sys.exit(77)


def screenshot(html, png):
    """Chromium headless, bounded in time; returns (ok, what it said)."""
    profile = tempfile.mkdtemp(prefix="bwgate-chromium-")
    try:
        if os.path.exists(png):
            os.unlink(png)
        p = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
                            "--disable-quic", "--no-first-run",
                            "--disable-background-networking", "--disable-component-update",
                            "--disable-sync", "--user-data-dir=" + profile,
                            "--screenshot=" + png, "--window-size=1200,1600",
                            "file://" + os.path.abspath(html)],
                           capture_output=True, text=True, timeout=120)
        return os.path.exists(png), p.stdout + p.stderr
    except subprocess.TimeoutExpired:
        return False, "no answer within 120 s"
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def check_png(png):
    with open(png, "rb") as f:
        data = f.read()
    # PNG signature, then the IHDR chunk: width and height, big-endian.
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        sys.exit("FAIL: %s is not a PNG" % png)
    w, h = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    if (w, h) != (1200, 1600) or len(data) < 20000:
        sys.exit("FAIL: %s is %dx%d, %d bytes: the page did not render" % (png, w, h,
                                                                           len(data)))
    print("ok: %s (%dx%d, %d bytes)" % (png, w, h, len(data)))


def main():
    pcap_tool, tool, config, gen, bench_gen, out = sys.argv[1:7]
    if not os.access(CHROMIUM, os.X_OK):
        skip("%s is not installed (Debian package chromium; scripts/install-deps installs it)"
             % CHROMIUM)
    os.makedirs(out, exist_ok=True)
    out = os.path.abspath(out)

    events = check_demo.demo_log(pcap_tool, config, gen, out)
    demo_html = os.path.join(out, "report-demo.html")
    check_demo.run([tool, "-c", config, "--format", "html", "-o", demo_html, events])
    ok, said = screenshot(demo_html, os.path.join(out, "report-demo.png"))
    if not ok:
        skip("Chromium cannot be run here: %s" % said.strip()[-600:])
    check_png(os.path.join(out, "report-demo.png"))

    week = os.path.join(out, "week-log")
    shutil.rmtree(week, ignore_errors=True)
    subprocess.run([bench_gen, "--events", "60000", "--days", "9", "--end", "2025-11-30",
                    "--jobs", "1", week], check=True)
    week_html = os.path.join(out, "report-week.html")
    check_demo.run([tool, "-c", config, "--week", "2025-11-24", "--users", "25", "--top", "5",
                    "--format", "html", "-o", week_html, week])
    ok, said = screenshot(week_html, os.path.join(out, "report-week.png"))
    if not ok:
        sys.exit("FAIL: Chromium rendered the demo report but not the week's: %s" % said)
    check_png(os.path.join(out, "report-week.png"))
    print("screenshots: %s/report-demo.png, %s/report-week.png" % (out, out))


if __name__ == "__main__":
    main()
