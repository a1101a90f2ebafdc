#!/usr/bin/python3
"""The default policy against the egress rules on real traffic (../shared/egress).

usage: check_egress.py BWGATE_PCAP DEFAULT_CONFIG SHARED_DIR

Runs SHARED_DIR/tools/egress_score.py (captures labelled by a newer nDPI than the one
bwgate links; see SHARED_DIR/egress/README.md) with bwgate-pcap and the shipped policy,
prints its report, and checks: at least 97% of the scored flows it found get the verdict
the egress rules demand, every business flow is passed, and all ordinary traffic of
captures of no forbidden application is passed.

Exits 77 (skipped) with the reason when SHARED_DIR has no egress captures.
Prints one line per check and `N passed, M failed` at the end.
"""
import os
import re
import subprocess
import sys

RIGHT_VERDICTS = 97.0
TIMEOUT_S = 600


def main():
    if len(sys.argv) != 4:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    tool, config, shared = sys.argv[1:4]
    scorer = os.path.join(shared, "tools", "egress_score.py")
    captures = os.path.join(shared, "egress", "pcap")
    if not os.path.isfile(scorer) or not os.path.isdir(captures):
        print("skipped: no egress captures at %s (../shared is not beside the repository)"
              % os.path.join(shared, "egress"))
        return 77
    p = subprocess.run([sys.executable, scorer, tool, config], capture_output=True, text=True,
                       timeout=TIMEOUT_S, env=dict(os.environ, SHOW="50"))
    print(p.stdout, end="")
    if p.returncode != 0:
        print("FAIL the scorer exited %d: %s" % (p.returncode, p.stderr.strip()[-500:]))
        return 1
    passed = failed = 0

    def check(ok, what):
        nonlocal passed, failed
        passed += ok
        failed += not ok
        print(("ok   " if ok else "FAIL ") + what)

    total = re.search(r"egress verdicts: (\d+) flows scored, (\d+) found, right class "
                      r"([\d.]+)%, right verdict ([\d.]+)% of found", p.stdout)
    check(total is not None, "the scorer printed its totals")
    if total:
        verdict = float(total.group(4))
        check(verdict >= RIGHT_VERDICTS, "right verdicts %.1f%% (need %.0f%%)"
              % (verdict, RIGHT_VERDICTS))
        check(int(total.group(2)) >= int(total.group(1)) - 2,
              "found %s of %s scored flows" % (total.group(2), total.group(1)))
    business = re.search(r"^business\s+scored\s+(\d+)\s+found\s+(\d+)\s+class\s+\d+\s+"
                         r"action\s+(\d+)", p.stdout, re.M)
    check(business is not None and business.group(2) == business.group(3),
          "every business flow passed (%s of %s)" % (business.group(3), business.group(2))
          if business else "the scorer reported business flows")
    ordinary = re.search(r"ordinary traffic passed: (\d+) of (\d+)", p.stdout)
    check(ordinary is not None and ordinary.group(1) == ordinary.group(2),
          "ordinary traffic passed (%s of %s)" % (ordinary.group(1), ordinary.group(2))
          if ordinary else "the scorer reported ordinary traffic")
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
