#!/usr/bin/env python3
"""Rewrites the key tables of jobs/README.md from `seal <domain> config` (the schema in the code is the truth).
Usage: scripts/jobs-readme.py [SEAL_BINARY]   (default .build/release/seal); --check exits 1 when out of date."""
import subprocess, sys, re
args = [a for a in sys.argv[1:] if a != "--check"]
seal = args[0] if args else ".build/release/seal"
path = "jobs/README.md"
text = open(path).read()
out = []
lines = text.split("\n")
i = 0
domain = None
while i < len(lines):
    line = lines[i]
    m = re.match(r"^## .*\(`seal (\w+)`\)", line)
    if m:
        domain = m.group(1)
    if line.startswith("| key | type | default | meaning |") and domain:
        table = subprocess.run([seal, domain, "config"], check=True, capture_output=True, text=True).stdout.rstrip("\n")
        out.extend(table.split("\n"))
        i += 1
        while i < len(lines) and lines[i].startswith("|"):
            i += 1
        continue
    out.append(line)
    i += 1
new = "\n".join(out)
if "--check" in sys.argv:
    sys.exit(0 if new == text else 1)
open(path, "w").write(new)
