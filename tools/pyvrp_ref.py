#!/usr/bin/env python3
"""Solve one instance with PyVRP, the reference solver, and write the solution in rendan's JSON
format, so that `rendan route check` scores it by the same rules as rendan's own solutions.

Formats: Solomon text (Solomon, Gehring-Homberger; `--distances exact` or `dimacs`) and VRPLIB in
PyVRP's dialect (multi-depot VRPTW, heterogeneous fleet; PyVRP's `exact` scaling). Each route
names the vehicle that drives it: for VRPLIB the 0-based row of the vehicle sections, matched to
PyVRP's vehicle types (rows with identical attributes, in order of first appearance, which is how
`pyvrp.read` builds its types).

PyVRP works on integers: Solomon data is scaled by 100 (exact; durations rounded up so any
schedule it accepts also holds exactly) or, for DIMACS, distances are 10 x the truncated-to-one-
decimal arc lengths, times x 10. PyVRP's `MaxRuntime` starts after its set-up (neighbour lists,
initial solution), so its wall time is somewhat longer than the limit; rendan's limit includes
everything. One thread.

Needs a Python environment with `pyvrp` (0.14), `numpy` and `vrplib`:
  python3 -m venv .venv-ref && .venv-ref/bin/pip install 'pyvrp==0.14.*' numpy vrplib

usage: pyvrp_ref.py FILE --out SOLUTION.json [--time-limit S] [--seed N] [--distances exact|dimacs]
"""
import argparse
import json
import math
import re
import sys
import time

import numpy as np
import pyvrp
import vrplib
from pyvrp.stop import MaxRuntime


def solomon(path, distances):
    lines = [ln.strip() for ln in open(path) if ln.strip()]
    i = next(k for k, ln in enumerate(lines) if ln.upper().startswith("NUMBER"))
    fleet, cap = (int(float(v)) for v in lines[i + 1].split()[:2])
    rows = [[float(p) for p in ln.split()] for ln in lines[i + 2:]
            if len(ln.split()) == 7 and all(re.fullmatch(r"-?\d+(\.\d+)?", p) for p in ln.split())]
    a = np.array(rows)
    n = len(a) - 1
    D = np.hypot(a[:, None, 1] - a[None, :, 1], a[:, None, 2] - a[None, :, 2])
    if distances == "dimacs":
        scale = 10
        dist = np.floor(D * 10 + 1e-9).astype(np.int64)
        dur = dist.copy()
    else:
        scale = 100
        dist = np.rint(D * scale).astype(np.int64)
        dur = np.ceil(D * scale - 1e-9).astype(np.int64)
    np.fill_diagonal(dur, 0)
    S = lambda v: int(round(v * scale))  # noqa: E731
    locs = [pyvrp.Location(x=int(a[k, 1]), y=int(a[k, 2])) for k in range(n + 1)]
    depot = pyvrp.Depot(location=0, tw_early=S(a[0, 4]), tw_late=S(a[0, 5]))
    clients = [pyvrp.Client(location=k, delivery=[int(a[k, 3])], service_duration=S(a[k, 6]),
                            tw_early=S(a[k, 4]), tw_late=S(a[k, 5])) for k in range(1, n + 1)]
    vt = pyvrp.VehicleType(num_available=fleet, capacity=[cap], tw_early=S(a[0, 4]),
                           tw_late=S(a[0, 5]))
    data = pyvrp.ProblemData(locs, clients, [depot], [vt], [dist], [dur])
    # PyVRP numbers clients from 0; rendan's job ids are the customer numbers 1..n. Vehicle k of
    # the one type is row k.
    return data, lambda c: c + 1, [list(range(fleet))]


def vrplib_file(path):
    data = pyvrp.read(path, round_func="exact")
    inst = vrplib.read_instance(path)
    nveh = int(inst.get("vehicles", 0)) or sum(vt.num_available for vt in data.vehicle_types())

    def col(key, default):
        v = inst.get(key)
        if v is None:
            return [default] * nveh
        v = np.atleast_1d(v)
        return list(v) if len(v) == nveh else [v[0]] * nveh

    attrs = list(zip(col("vehicles_depot", 1), map(str, col("capacity", 0)),
                     col("vehicles_fixed_cost", 0), col("vehicles_unit_distance_cost", 100),
                     col("vehicles_max_duration", -1)))
    groups, seen = [], {}
    for row, key in enumerate(attrs):
        if key not in seen:
            seen[key] = len(groups)
            groups.append([])
        groups[seen[key]].append(row)
    if [len(g) for g in groups] != [vt.num_available for vt in data.vehicle_types()]:
        sys.exit(f"{path}: cannot match PyVRP's vehicle types to the file's vehicle rows")
    depots = data.num_depots
    # PyVRP numbers clients from 0 after the depots (the first rows of these files); rendan's
    # job id is the 1-based node row.
    return data, lambda c: c + depots + 1, groups


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("file")
    ap.add_argument("--out", required=True)
    ap.add_argument("--time-limit", type=float, default=10)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--distances", default="exact", choices=["exact", "dimacs"])
    o = ap.parse_args()
    if o.file.lower().endswith(".vrp"):
        data, job_id, groups = vrplib_file(o.file)
    else:
        data, job_id, groups = solomon(o.file, o.distances)
    t0 = time.perf_counter()
    res = pyvrp.solve(data, stop=MaxRuntime(o.time_limit), seed=o.seed, collect_stats=False,
                      display=False)
    elapsed = time.perf_counter() - t0
    nxt = [0] * len(groups)
    routes = []
    for r in res.best.routes():
        jobs = [job_id(act.idx) for act in r if act.is_client()]
        if not jobs:
            continue
        t = r.vehicle_type()
        routes.append({"vehicle": int(groups[t][nxt[t]]), "jobs": [int(j) for j in jobs]})
        nxt[t] += 1
    doc = {"instance": o.file, "objective": "distance", "vehicles": len(routes),
           "distance": 0.0, "feasible": bool(res.best.is_feasible()),
           "elapsed_s": round(elapsed, 3), "iterations": int(res.num_iterations),
           "routes": routes}
    with open(o.out, "w") as fh:
        json.dump(doc, fh)


if __name__ == "__main__":
    main()
