#!/usr/bin/env python3
"""Check zmaplat's output against the workload's own report.

    zm_check.py json WORKLOAD_JSON ZMAPLAT_JSONL [--class] [--mode] [--hold]
    zm_check.py text WORKLOAD_JSON ZMAPLAT_TEXT
    zm_check.py hist EXPECTED_TOTAL OUTPUT [MAP_NAME_PREFIX]

json: every line must parse; the histograms summed over all intervals must
count exactly the map and unmap calls the allocator counted, per class and
per mode when asked; each histogram must be self-consistent.
text: the "count N" summaries of the map latency histograms add up to the
allocator's map count, and every line fits 80 columns.
hist: the bucket counts of bpftrace/funclatency style histograms add up to
EXPECTED_TOTAL (only histograms whose name starts with the prefix).
"""
import json
import re
import sys
from collections import Counter


def die(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def expect(what, got, want):
    if got != want:
        die(f"{what}: zmaplat says {got}, the allocator counted {want}")
    print(f"ok: {what} = {got}")


def check_hist(h):
    buckets = h["buckets"]
    total = sum(b["count"] for b in buckets)
    if total != h["count"]:
        die(f"histogram {h} counts {h['count']} but its buckets hold {total}")
    for b in buckets:
        if not (b["low"] < b["high"] and b["count"] > 0):
            die(f"bad bucket {b}")
    if h["count"]:
        lo, hi = buckets[0]["low"], buckets[-1]["high"]
        if not (lo <= h["p50"] <= h["p90"] <= h["p99"] <= hi):
            die(f"percentiles out of order or range: {h}")


def check_json(wl, lines, per_class, per_mode, hold):
    kinds = Counter()
    by_class = Counter()
    by_mode = Counter()
    events = Counter()
    for n, line in enumerate(lines, 1):
        try:
            doc = json.loads(line)
        except ValueError as e:
            die(f"line {n} is not JSON ({e}): {line!r}")
        if doc.get("version") != 1 or "histograms" not in doc or "events" not in doc:
            die(f"line {n} lacks version/histograms/events: {line!r}")
        for h in doc["histograms"]:
            check_hist(h)
            if h["backend"] != wl["backend"]:
                die(f"backend {h['backend']} in a {wl['backend']} workload")
            kinds[h["kind"]] += h["count"]
            if h["kind"] == "map":
                if per_class:
                    by_class[str(h["class"])] += h["count"]
                if per_mode:
                    by_mode[h["mode"]] += h["count"]
        events.update(doc["events"])
    print(f"ok: {len(lines)} JSON lines parse")
    expect("map histogram total", kinds["map"], wl["maps"])
    expect("unmap histogram total", kinds["unmap"], wl["unmaps"])
    expect("maps event counter", events["maps"], wl["maps"])
    for k in ("map_unmatched", "unmap_unmatched", "lost"):
        expect(k, events[k], 0)
    if per_class:
        expect("map counts per class", dict(by_class), wl["by_class"])
    if per_mode:
        expect("map counts per mode", dict(by_mode), wl["by_mode"])
    if hold:
        expect("hold histogram total", kinds["hold"], wl["maps"])
        expect("hold_unmatched", events["hold_unmatched"], 0)
    elif kinds["hold"]:
        die("hold histograms without -H")


def check_text(wl, text):
    for line in text.splitlines():
        if len(line) > 80:
            die(f"line wider than 80 columns: {line!r}")
    total = 0
    title = None
    for line in text.splitlines():
        if line.endswith(":") and "latency" in line:
            title = line
        m = re.match(r"count (\d+), avg", line)
        if m and title and " map latency" in title:
            total += int(m.group(1))
    if not re.search(r"^\[\d+K?, \d+K?\)\s+\d+ \|@+ *\|$", text, re.M):
        die("no histogram bar line in the text output")
    expect("text map histogram total", total, wl["maps"])


def check_hists(want, text, prefix):
    total = 0
    name = None
    for line in text.splitlines():
        m = re.match(r"^(@\S*?)(\[.*\])?: *$", line)
        if m:
            name = m.group(1)
            continue
        # bpftrace: "[1K, 2K)   123 |@@@|"; funclatency: "1024 -> 2047 : 123 |***|"
        m = re.match(r"^\[[^\]]*[\])]\s+(\d+) \|", line) or \
            re.match(r"^\s*\d+ -> \d+\s*: (\d+)\s", line)
        if m and (name is None or name.startswith(prefix)):
            total += int(m.group(1))
    expect(f"histogram total ({prefix or 'all'})", total, want)


def main():
    if len(sys.argv) < 4:
        die(__doc__)
    mode = sys.argv[1]
    if mode == "hist":
        prefix = sys.argv[4] if len(sys.argv) > 4 else ""
        check_hists(int(sys.argv[2]), open(sys.argv[3]).read(), prefix)
        return
    wl = json.load(open(sys.argv[2]))
    if wl["calls"] != wl["maps"] or wl["data_errors"]:
        die(f"the workload itself is inconsistent: {wl}")
    if mode == "json":
        lines = [l for l in open(sys.argv[3]).read().splitlines() if l.strip()]
        if not lines:
            die("zmaplat printed no JSON")
        opts = sys.argv[4:]
        check_json(wl, lines, "--class" in opts, "--mode" in opts, "--hold" in opts)
    elif mode == "text":
        check_text(wl, open(sys.argv[3]).read())
    else:
        die(__doc__)


if __name__ == "__main__":
    main()
