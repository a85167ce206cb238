#!/usr/bin/env python3
"""Markdown tables of side-by-side CSVs (tools/side_by_side.py): mean gap to the best known per
family and size band for rendan and PyVRP, wins, and rendan's worst wall-time overshoot and peak
memory.

usage: bench_table.py LABEL=FILE.csv [LABEL=FILE.csv ...]
"""
import csv
import statistics
import sys
from collections import defaultdict


def gap(r, who):
    b, c = float(r["bks"]), float(r[f"{who}_cost"])
    if r[f"{who}_ok"] != "True" or b != b or c != c:
        return None
    return 100 * (c - b) / b


def band(jobs):
    jobs = int(jobs)
    if jobs < 300:
        return "< 300"
    if jobs < 600:
        return "300–599"
    return "≥ 600"


def main():
    groups = defaultdict(list)
    for arg in sys.argv[1:]:
        label, path = arg.split("=", 1)
        rows = list(csv.DictReader(open(path)))
        for r in rows:
            groups[(label, "all")].append(r)
            if label.startswith(("HFVRP", "MDVRPTW")):
                groups[(label, "jobs " + band(r["jobs"]))].append(r)
            if label.startswith("HFVRP"):
                groups[(label, r["instance"].split("-", 1)[1])].append(r)
    print("| family, size | group | instances | rendan mean gap % | PyVRP mean gap % | rendan better | infeasible (rendan / PyVRP) | rendan worst wall / limit | rendan peak memory |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    order = {"all": 0}
    for (label, g), rs in sorted(groups.items(), key=lambda kv: (list(dict.fromkeys(k[0] for k in groups)).index(kv[0][0]), order.get(kv[0][1], 1), kv[0][1])):
        rg = [gap(r, "rendan") for r in rs]
        pg = [gap(r, "pyvrp") for r in rs]
        ok = lambda xs: [x for x in xs if x is not None]  # noqa: E731
        wins = sum(1 for a, b in zip(rg, pg) if a is not None and (b is None or a < b - 1e-9))
        over = max(float(r["rendan_wall_s"]) / float(r["time_limit"]) for r in rs)
        mem = max(float(r["rendan_max_rss_mib"]) for r in rs)
        print(f"| {label} | {g} | {len(rs)} | {statistics.mean(ok(rg)):+.2f} | {statistics.mean(ok(pg)):+.2f} | "
              f"{wins}/{len(rs)} | {len(rs) - len(ok(rg))} / {len(rs) - len(ok(pg))} | {over:.3f} | {mem:.0f} MiB |")


if __name__ == "__main__":
    main()
