#!/usr/bin/env python3
"""Prints the table of a scale run (bench/scale.sh, bench/scale_sqlite.sh): per call the median ms
on the empty and the seeded database, their ratio, the seeded p90 and the answers' bytes, then the
servers' RSS. Reads the JSON that bench/scale_measure.py or bench/scale_sqlite.py printed.

    python3 bench/scale_table.py result.json
"""
import json
import sys

r = json.load(open(sys.argv[1]))
e, s = r["servers"]["empty"], r["servers"]["seeded"]
width = max(len(c) for c in r["calls"]) + 2
print(f"{'call':{width}} {'empty ms':>9} {'seeded ms':>10} {'ratio':>7} {'seeded p90':>11} {'bytes e/s':>16}")
for c in r["calls"]:
    a, b = e["calls"][c], s["calls"][c]
    ratio = b["median_ms"] / a["median_ms"] if a["median_ms"] else float("nan")
    flag = "  <-- over 2x" if ratio > 2 else ""
    sizes = f"{a['bytes']}/{b['bytes']}"
    print(f"{c:{width}} {a['median_ms']:9.2f} {b['median_ms']:10.2f} {ratio:6.2f}x {b['p90_ms']:11.2f} {sizes:>16}{flag}")
print(f"RSS MB now / peak: empty {e['rss_mb']} / {e['rss_peak_mb']}, seeded {s['rss_mb']} / {s['rss_peak_mb']}")
