#!/usr/bin/env python3
"""Where a process's resident memory is: /proc/PID/smaps summed by mapping.

    smaps.py PID [PID ...]

For each PID: VmRSS and VmHWM from /proc/PID/status, then one line per mapped file (all its
segments together) or anonymous kind ([heap], [stack], anonymous), largest first, with Rss,
the private-dirty part (written by this process: relocations, heap, data), the clean part
(shared pages of the file, cheap and reclaimable), and Swap. Standard library only.
"""

import re
import sys

FIELDS = ("Rss", "Private_Dirty", "Private_Clean", "Shared_Clean", "Shared_Dirty", "Swap")
HEADER = re.compile(r"^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$")


def summarize(pid):
    totals, name = {}, None
    with open(f"/proc/{pid}/smaps") as smaps:
        for line in smaps:
            header = HEADER.match(line)
            if header:
                name = header.group(1).strip() or "anonymous"
                totals.setdefault(name, dict.fromkeys(FIELDS, 0))
                continue
            key, _, rest = line.partition(":")
            if key in FIELDS:
                totals[name][key] += int(rest.split()[0])
    return totals


def status(pid):
    values = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
                values[key] = int(rest.split()[0])
    return values


def main():
    for pid in sys.argv[1:]:
        st = status(pid)
        print(f"pid {pid}: " + ", ".join(f"{k} {v / 1024:.1f} MB" for k, v in st.items()))
        print(f"  {'Rss kB':>8} {'priv dirty':>10} {'clean':>8} {'swap':>6}  mapping")
        totals = summarize(pid)
        for name, t in sorted(totals.items(), key=lambda kv: -kv[1]["Rss"]):
            if t["Rss"] == 0 and t["Swap"] == 0:
                continue
            clean = t["Private_Clean"] + t["Shared_Clean"]
            dirty = t["Private_Dirty"]
            print(f"  {t['Rss']:>8} {dirty:>10} {clean:>8} {t['Swap']:>6}  {name}")
        print()


if __name__ == "__main__":
    main()
