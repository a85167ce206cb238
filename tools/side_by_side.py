#!/usr/bin/env python3
"""rendan and PyVRP side by side on a folder of benchmark instances, at the same time limit,
one thread each, at the same moment: rendan pinned to one core, PyVRP to the other. Every
solution of both goes through `rendan route check` (the independent checker, which shares no
code with the solver) and is compared with the best known: the `.sol` file beside the instance
(re-scored by the same checker), else the folder's table (`bks_dimacs.csv` for `--distances
dimacs`, `bks_distance_only.csv` otherwise).

Results are appended to a CSV as they come; running again with the same CSV skips the instances
already in it, so a long benchmark resumes where it stopped. `--summary` prints the per-group
mean gaps of a CSV (groups: HFVRP variant, Gehring-Homberger class and size, Solomon class, and
per number of customers).

usage: side_by_side.py DIR --time-limit S --csv OUT.csv [--include PATTERN ...]
                       [--distances exact|dimacs] [--seed N] [--rendan BIN] [--python BIN]
       side_by_side.py --summary OUT.csv [OUT2.csv ...]
"""
import argparse
import csv
import fnmatch
import os
import re
import subprocess
import sys
import tempfile
from collections import defaultdict

HERE = os.path.dirname(os.path.abspath(__file__))
COLUMNS = ["instance", "family", "jobs", "time_limit", "bks", "rendan_cost", "rendan_ok",
           "rendan_vehicles", "rendan_iterations", "pyvrp_cost", "pyvrp_ok", "pyvrp_vehicles",
           "pyvrp_iterations", "rendan_wall_s", "rendan_max_rss_mib", "rendan_commit"]


def check(rendan, problem, solution, distances):
    """(feasible, vehicles, cost) from `rendan route check`."""
    p = subprocess.run([rendan, "route", "check", problem, solution, "--distances", distances],
                       capture_output=True, text=True)
    m = re.search(r"^(feasible|INFEASIBLE): vehicles (\d+) distance \S+ cost (\S+)", p.stdout, re.M)
    if not m:
        return False, 0, float("nan")
    return m.group(1) == "feasible", int(m.group(2)), float(m.group(3))


def bks_of(rendan, path, distances):
    sol = os.path.splitext(path)[0] + ".sol"
    if os.path.exists(sol):
        ok, _, cost = check(rendan, path, sol, distances)
        return cost if ok else float("nan")
    folder = os.path.dirname(path)
    if os.path.basename(folder) in ("200", "400", "600", "800", "1000"):
        folder = os.path.dirname(os.path.dirname(folder))
    table = os.path.join(folder, "bks_dimacs.csv" if distances == "dimacs" else "bks_distance_only.csv")
    name = os.path.splitext(os.path.basename(path))[0]
    if os.path.exists(table):
        for row in csv.DictReader(open(table)):
            if row["instance"].upper() == name.upper():
                return float(row["distance"])
    return float("nan")


def instances(root, include):
    txt = os.path.join(root, "txt")
    base = txt if os.path.isdir(txt) else root
    out = []
    for d, _, files in os.walk(base):
        for f in files:
            stem, ext = os.path.splitext(f)
            if ext.lower() in (".txt", ".vrp") and (not include or any(
                    fnmatch.fnmatch(stem.lower(), p.lower()) for p in include)):
                out.append(os.path.join(d, f))
    return sorted(out, key=lambda p: (os.path.basename(p)))


def jobs_of(path):
    if path.endswith(".vrp"):
        text = open(path).read()
        dim = int(re.search(r"DIMENSION\s*:\s*(\d+)", text).group(1))
        # `^` so that VEHICLES_DEPOT_SECTION (multi-depot files) is not taken for it.
        dep = re.search(r"^DEPOT_SECTION\s*\n(.*?)(?:-1|EOF|\n[A-Z])", text, re.S | re.M)
        return dim - len(dep.group(1).split()) if dep else dim - 1
    rows = [ln for ln in open(path) if re.match(r"\s*\d+\s+-?\d", ln)]
    return len(rows) - 2  # the vehicle line and the depot


def group_of(name, jobs):
    up = name.upper()
    if "-" in up:
        return up.split("-", 1)[1]
    if "_" in up:
        return up.rsplit("_", 1)[0]
    m = re.match(r"([A-Z]+\d)", up)
    return m.group(1) if m else up


def summary(paths):
    rows = [r for p in paths for r in csv.DictReader(open(p))]
    groups = defaultdict(list)
    for r in rows:
        groups[(r["family"], group_of(r["instance"], int(r["jobs"])))].append(r)
        groups[(r["family"], f"{r['jobs']} jobs")].append(r)
        groups[(r["family"], "all")].append(r)

    def gap(r, who):
        b, c = float(r["bks"]), float(r[f"{who}_cost"])
        if r[f"{who}_ok"] != "True" or not (b == b and c == c):
            return None
        return 100 * (c - b) / b

    print("| family | group | instances | rendan mean gap % | PyVRP mean gap % | rendan infeasible | PyVRP infeasible |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for (fam, g), rs in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1] == "all", kv[0][1])):
        out = []
        for who in ("rendan", "pyvrp"):
            gs = [gap(r, who) for r in rs]
            ok = [x for x in gs if x is not None]
            out.append((sum(ok) / len(ok) if ok else float("nan"), len(gs) - len(ok)))
        print(f"| {fam} | {g} | {len(rs)} | {out[0][0]:+.2f} | {out[1][0]:+.2f} | {out[0][1]} | {out[1][1]} |")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir", nargs="?")
    ap.add_argument("--time-limit", type=float)
    ap.add_argument("--csv")
    ap.add_argument("--include", action="append", default=[])
    ap.add_argument("--distances", default="exact", choices=["exact", "dimacs"])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--rendan", default=os.path.join(HERE, "..", "target", "release", "rendan"))
    ap.add_argument("--python", default=sys.executable)
    ap.add_argument("--summary", nargs="+")
    o = ap.parse_args()
    if o.summary:
        summary(o.summary)
        return
    if not (o.dir and o.time_limit and o.csv):
        ap.error("DIR, --time-limit and --csv are required")
    # The commit the rendan binary was built from (the working tree's HEAD, "+dirty" when it
    # has changes): a resumed run must not mix binaries.
    commit = subprocess.run(["git", "-C", HERE, "describe", "--always", "--dirty=+dirty"],
                            capture_output=True, text=True).stdout.strip()
    done = set()
    if os.path.exists(o.csv):
        old = list(csv.DictReader(open(o.csv)))
        done = {r["instance"] for r in old}
        others = {r.get("rendan_commit") for r in old} - {commit}
        if others:
            sys.exit(f"{o.csv} holds results of {sorted(map(str, others))}, not {commit}: "
                     "use another CSV")
    else:
        with open(o.csv, "w", newline="") as fh:
            csv.writer(fh).writerow(COLUMNS)
    family = os.path.basename(os.path.normpath(o.dir))
    todo = [p for p in instances(o.dir, o.include)
            if os.path.splitext(os.path.basename(p))[0] not in done]
    for k, path in enumerate(todo):
        name = os.path.splitext(os.path.basename(path))[0]
        with tempfile.TemporaryDirectory() as tmp:
            rs, ps = os.path.join(tmp, "rendan.json"), os.path.join(tmp, "pyvrp.json")
            started = __import__("time").monotonic()
            a = subprocess.Popen(["taskset", "-c", "0", o.rendan, "route", "solve", path,
                                  "--objective", "distance", "--distances", o.distances,
                                  "--time-limit", str(o.time_limit), "--seed", str(o.seed),
                                  "--out", rs], stderr=subprocess.DEVNULL)
            b = subprocess.Popen(["taskset", "-c", "1", o.python, os.path.join(HERE, "pyvrp_ref.py"),
                                  path, "--out", ps, "--time-limit", str(o.time_limit),
                                  "--seed", str(o.seed), "--distances", o.distances])
            # wait4 gives the whole process's wall time and peak memory (issue 8: at most 2%
            # over the limit and below 1 GiB at 1,000 customers).
            _, _, usage = os.wait4(a.pid, 0)
            wall = __import__("time").monotonic() - started
            a.returncode = 0
            b.wait()
            r = check(o.rendan, path, rs, o.distances) if os.path.exists(rs) else (False, 0, float("nan"))
            p = check(o.rendan, path, ps, o.distances) if os.path.exists(ps) else (False, 0, float("nan"))
            iters = lambda f: __import__("json").load(open(f)).get("iterations", "") if os.path.exists(f) else ""  # noqa: E731
            bks = bks_of(o.rendan, path, o.distances)
            row = [name, family, jobs_of(path), o.time_limit, bks, r[2], r[0], r[1], iters(rs),
                   p[2], p[0], p[1], iters(ps), f"{wall:.3f}", f"{usage.ru_maxrss / 1024:.1f}",
                   commit]
        with open(o.csv, "a", newline="") as fh:
            csv.writer(fh).writerow(row)
        g = lambda c: 100 * (c - bks) / bks  # noqa: E731
        print(f"[{k + 1}/{len(todo)}] {name}: rendan {r[2]:.2f} ({g(r[2]):+.2f}%{'' if r[0] else ' INFEASIBLE'}) "
              f"PyVRP {p[2]:.2f} ({g(p[2]):+.2f}%{'' if p[0] else ' INFEASIBLE'})", flush=True)


if __name__ == "__main__":
    main()
