#!/usr/bin/python3
"""Check bwgate's application pack: the host lists and the address lists.

usage: check_lists.py [REPO_ROOT]       check REPO_ROOT/config (default: this checkout)
       check_lists.py --self-test       check that every fault below is caught

Host lists are config/hosts/<class>.txt, address lists config/addresses/<class>.txt; the
class is the file name. Every fault is printed as FILE:LINE: fault and makes the exit
status 1; a clean pack prints the entry count of each file and exits 0.

Host list lines: '#' starts a comment (whole line or after an entry), a line starting with
'!' is a comment, blank lines are ignored. An entry is one of
    example.com                 the domain and every subdomain
    *.example.com               the subdomains only
    0.0.0.0 a.example b.example a hosts-file line (0.0.0.0, 127.0.0.1, ::1 or ::)
    ||example.com^              an Adblock line
Names are lower-case ASCII (IDNs in xn-- form): no IP addresses, URLs, paths or ports.
Hosts-file boilerplate names (localhost and the like) are skipped.

Address list lines: one IPv4 or IPv6 CIDR (a bare address is a /32 or /128), '#' comments.

Faults: a bad line; a domain listed in two different classes (the same domain, or x in one
and *.x in another; inline "hosts" of classes in config/bwgate.json count too); a CIDR with
host bits set; the same prefix in two classes; a file without a header comment (the
comment lines before its first entry) naming its sources ("Sources:" followed by at least
one source) and its date ("Date: YYYY-MM-DD").
"""
import ipaddress
import json
import os
import re
import shutil
import sys
import tempfile

HOSTS_IPS = {"0.0.0.0", "127.0.0.1", "::1", "::"}
HOSTS_BOILERPLATE = {"localhost", "localhost.localdomain", "local", "broadcasthost",
                     "ip6-localhost", "ip6-loopback", "ip6-localnet", "ip6-mcastprefix",
                     "ip6-allnodes", "ip6-allrouters", "ip6-allhosts", "0.0.0.0"}
LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")
DATE = re.compile(r"\bDate:\s*(\d{4})-(\d{2})-(\d{2})\b")


class Faults:
    def __init__(self):
        self.items = []

    def add(self, where, line, msg):
        self.items.append("%s:%d: %s" % (where, line, msg))


def strip_comment(raw, host_list):
    """The entry text of a line ('' for a comment or blank line)."""
    s = raw.strip()
    if host_list and s.startswith("!"):
        return ""
    if "#" in s:
        s = s[:s.index("#")]
    return s.strip()


def header_fault(lines, host_list):
    """None if the comment block before the first entry names sources and a date."""
    block = []
    for raw in lines:
        s = raw.strip()
        if not s:
            continue
        if s.startswith("#") or (host_list and s.startswith("!")):
            block.append(s.lstrip("#!").strip())
            continue
        break
    text = "\n".join(block)
    if not block:
        return "no header comment (what the class is, its format, Sources:, Date:)"
    m = re.search(r"\bSources?:(.*)", text, re.S)
    if not m:
        return "header names no sources (a 'Sources:' line)"
    sources = re.split(r"\bDate:", m.group(1))[0]
    if not re.search(r"[A-Za-z0-9]", sources):
        return "header 'Sources:' names no source"
    d = DATE.search(text)
    if not d:
        return "header has no date ('Date: YYYY-MM-DD')"
    y, mo, da = (int(x) for x in d.groups())
    if not (1 <= mo <= 12 and 1 <= da <= 31 and y >= 2000):
        return "header date %s is not a date" % d.group(0)
    return None


def name_fault(name):
    """None if name is a valid lower-case ASCII domain name."""
    if not name:
        return "empty name"
    if any(ord(c) > 127 for c in name):
        return '"%s" is not ASCII (write IDNs in xn-- form)' % name
    if name != name.lower():
        return '"%s" is not lower-case' % name
    if "/" in name or ":" in name or "?" in name or "@" in name:
        return '"%s" is not a host name (no URLs, paths or ports)' % name
    if len(name) > 253:
        return '"%s" is longer than 253 characters' % name
    try:
        ipaddress.ip_address(name)
        return '"%s" is an IP address (addresses go in config/addresses)' % name
    except ValueError:
        pass
    labels = name.split(".")
    if len(labels) < 2:
        return '"%s" is not a domain name (one label)' % name
    for lab in labels:
        if not LABEL.match(lab):
            return '"%s" is not a domain name (bad label "%s")' % (name, lab)
    if labels[-1].isdigit():
        return '"%s" is not a domain name (numeric top-level label)' % name
    return None


def parse_host_line(s):
    """[(pattern, error)] for one entry text: pattern is 'x' or '*.x'."""
    if s.startswith("||"):
        if not s.endswith("^") or len(s) < 4:
            return [(None, '"%s" is not an Adblock host line ("||example.com^")' % s)]
        name = s[2:-1]
        err = name_fault(name)
        return [(None if err else name, err)]
    parts = s.split()
    if len(parts) > 1:
        if parts[0] not in HOSTS_IPS:
            return [(None, '"%s" is not a hosts-file line (address 0.0.0.0, 127.0.0.1, ::1 '
                     'or :: and names)' % s)]
        out = []
        for name in parts[1:]:
            if name in HOSTS_BOILERPLATE:
                continue
            err = name_fault(name)
            out.append((None if err else name, err))
        return out
    if parts[0] in HOSTS_IPS:
        return [(None, '"%s" is a hosts-file line without names' % s)]
    if s.startswith("*."):
        err = name_fault(s[2:])
        return [(None if err else s, err)]
    err = name_fault(s)
    return [(None if err else s, err)]


def check(root):
    """Faults and per-file counts for the pack under root/config."""
    faults = Faults()
    counts = []
    hosts_dir = os.path.join(root, "config", "hosts")
    addr_dir = os.path.join(root, "config", "addresses")

    def rel(path):
        return os.path.relpath(path, root)

    # domain -> (class, where, line, pattern)
    domains = {}

    def claim(dom, cls, where, line, pat):
        prev = domains.get(dom)
        if prev is None:
            domains[dom] = (cls, where, line, pat)
        elif prev[0] != cls:
            faults.add(where, line, '"%s" is in class "%s" and in class "%s" (%s:%d: "%s"); a '
                       'domain belongs to one class' % (pat, cls, prev[0], prev[1], prev[2],
                                                        prev[3]))

    for f in sorted(os.listdir(hosts_dir)) if os.path.isdir(hosts_dir) else []:
        if not f.endswith(".txt"):
            continue
        path = os.path.join(hosts_dir, f)
        cls = f[:-4]
        with open(path, encoding="utf-8", errors="replace") as fh:
            lines = fh.read().split("\n")
        err = header_fault(lines, True)
        if err:
            faults.add(rel(path), 1, err)
        n = 0
        for i, raw in enumerate(lines, 1):
            s = strip_comment(raw, True)
            if not s:
                continue
            for pat, e in parse_host_line(s):
                if e:
                    faults.add(rel(path), i, e)
                    continue
                n += 1
                claim(pat[2:] if pat.startswith("*.") else pat, cls, rel(path), i, pat)
        counts.append((rel(path), n))

    # Inline host patterns of bwgate.json classes share the namespace.
    cfg = os.path.join(root, "config", "bwgate.json")
    if os.path.isfile(cfg):
        with open(cfg, encoding="utf-8") as fh:
            text = fh.read()
        try:
            doc = json.loads(text)
        except ValueError as e:
            faults.add(rel(cfg), 1, "not JSON: %s" % e)
            doc = {}
        for cls, body in (doc.get("classes") or {}).items():
            for j, pat in enumerate((body or {}).get("hosts") or []):
                if not isinstance(pat, str):
                    continue
                line = text[:text.find('"%s"' % pat)].count("\n") + 1 if pat in text else 1
                p = pat.lower()
                claim(p[2:] if p.startswith("*.") else p, cls,
                      "%s (classes.%s.hosts[%d])" % (rel(cfg), cls, j), line, pat)

    prefixes = {}
    for f in sorted(os.listdir(addr_dir)) if os.path.isdir(addr_dir) else []:
        if not f.endswith(".txt"):
            continue
        path = os.path.join(addr_dir, f)
        cls = f[:-4]
        with open(path, encoding="utf-8", errors="replace") as fh:
            lines = fh.read().split("\n")
        err = header_fault(lines, False)
        if err:
            faults.add(rel(path), 1, err)
        n = 0
        for i, raw in enumerate(lines, 1):
            s = strip_comment(raw, False)
            if not s:
                continue
            if " " in s or "\t" in s:
                faults.add(rel(path), i, '"%s" is not one CIDR' % s)
                continue
            try:
                net = ipaddress.ip_network(s, strict=False)
            except ValueError:
                faults.add(rel(path), i, '"%s" is not an IPv4 or IPv6 address or CIDR' % s)
                continue
            if "/" in s and not s.split("/", 1)[1].isdigit():
                faults.add(rel(path), i, '"%s": the prefix length is not a number' % s)
                continue
            if ipaddress.ip_address(s.split("/")[0]) != net.network_address:
                faults.add(rel(path), i, '"%s" has host bits set beyond /%d (the prefix is %s)'
                           % (s, net.prefixlen, net))
                continue
            n += 1
            prev = prefixes.get(net)
            if prev is None:
                prefixes[net] = (cls, rel(path), i)
            elif prev[0] != cls:
                faults.add(rel(path), i, '%s is in class "%s" and in class "%s" (%s:%d); a prefix '
                           'belongs to one class' % (net, cls, prev[0], prev[1], prev[2]))
        counts.append((rel(path), n))
    return faults, counts


SELF_TEST_HEADER = "# test list\n# Sources: a test\n# Date: 2026-11-29\n"
SELF_TEST = [
    # (file, content, expected message fragment or None for clean)
    ("hosts/a.txt", SELF_TEST_HEADER + "example.com\n*.cdn.example.net\n||ads.example.org^\n"
     "0.0.0.0 x.example y.example\n127.0.0.1 localhost\n! adblock comment\nz.example # c\n", None),
    ("hosts/a.txt", SELF_TEST_HEADER + "http://www.example.com/path\n", "not a host name"),
    ("hosts/a.txt", SELF_TEST_HEADER + "Example.com\n", "not lower-case"),
    ("hosts/a.txt", SELF_TEST_HEADER + "example.com:443\n", "not a host name"),
    ("hosts/a.txt", SELF_TEST_HEADER + "192.0.2.1\n", "is an IP address"),
    ("hosts/a.txt", SELF_TEST_HEADER + "b\u00fccher.example\n", "not ASCII"),
    ("hosts/a.txt", SELF_TEST_HEADER + "-bad.example\n", "bad label"),
    ("hosts/a.txt", SELF_TEST_HEADER + "||example.com\n", "Adblock"),
    ("hosts/a.txt", SELF_TEST_HEADER + "10.0.0.1 example.com\n", "hosts-file line"),
    ("hosts/a.txt", "example.com\n", "no header comment"),
    ("hosts/a.txt", "# test list\n# Date: 2026-11-29\nexample.com\n", "no sources"),
    ("hosts/a.txt", "# test list\n# Sources:\n# Date: 2026-11-29\nexample.com\n",
     "names no source"),
    ("hosts/a.txt", "# test list\n# Sources: x\nexample.com\n", "no date"),
    ("addresses/a.txt", SELF_TEST_HEADER + "192.0.2.0/24\n192.0.2.7\n2001:db8::/32\n", None),
    ("addresses/a.txt", SELF_TEST_HEADER + "192.0.2.1/24\n", "host bits set"),
    ("addresses/a.txt", SELF_TEST_HEADER + "2001:db8::1/32\n", "host bits set"),
    ("addresses/a.txt", SELF_TEST_HEADER + "192.0.2.0/33\n", "not an IPv4"),
    ("addresses/a.txt", SELF_TEST_HEADER + "example.com\n", "not an IPv4"),
    ("addresses/a.txt", SELF_TEST_HEADER + "192.0.2.0/24 198.51.100.0/24\n", "not one CIDR"),
]
SELF_TEST_PAIRS = [
    # two files: the second entry conflicts with the first
    ("hosts/a.txt", "example.com\n", "hosts/b.txt", "example.com\n", "is in class"),
    ("hosts/a.txt", "example.com\n", "hosts/b.txt", "*.example.com\n", "is in class"),
    ("hosts/a.txt", "||example.com^\n", "hosts/b.txt", "0.0.0.0 example.com\n", "is in class"),
    ("hosts/a.txt", "example.com\n", "hosts/b.txt", "www.example.com\n", None),
    ("hosts/a.txt", "example.com\n", "hosts/a2.txt", "", None),
    ("addresses/a.txt", "192.0.2.0/24\n", "addresses/b.txt", "192.0.2.0/24\n", "is in class"),
    ("addresses/a.txt", "192.0.2.7/32\n", "addresses/b.txt", "192.0.2.7\n", "is in class"),
    ("addresses/a.txt", "192.0.2.0/24\n", "addresses/b.txt", "192.0.2.0/25\n", None),
]


def self_test():
    bad = 0

    def run(files, want):
        nonlocal bad
        d = tempfile.mkdtemp(prefix="check-lists-")
        try:
            for name, content in files:
                p = os.path.join(d, "config", name)
                os.makedirs(os.path.dirname(p), exist_ok=True)
                with open(p, "w", encoding="utf-8") as fh:
                    fh.write(content)
            faults, _ = check(d)
            got = faults.items
            if want is None and got:
                bad += 1
                print("self-test: clean case faulted: %r -> %s" % (files, got))
            elif want is not None and not any(want in g for g in got):
                bad += 1
                print("self-test: fault %r not caught in %r (got %s)" % (want, files, got))
        finally:
            shutil.rmtree(d)

    for name, content, want in SELF_TEST:
        run([(name, content)], want)
    for n1, c1, n2, c2, want in SELF_TEST_PAIRS:
        run([(n1, SELF_TEST_HEADER + c1), (n2, SELF_TEST_HEADER + c2)], want)
    total = len(SELF_TEST) + len(SELF_TEST_PAIRS)
    print("%d passed, %d failed" % (total - bad, bad))
    return 1 if bad else 0


def main(argv):
    if len(argv) > 1 and argv[1] == "--self-test":
        return self_test()
    root = argv[1] if len(argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                      "..", "..")
    root = os.path.abspath(root)
    faults, counts = check(root)
    for f in faults.items:
        print(f)
    if faults.items:
        print("%d fault(s) in the application pack" % len(faults.items))
        return 1
    for path, n in counts:
        print("%-36s %7d entries" % (path, n))
    print("application pack: %d files, %d entries, no faults" % (len(counts),
                                                               sum(n for _, n in counts)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
