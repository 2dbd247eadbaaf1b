#!/usr/bin/env python3
"""Summarises `parex bench --json` lines of the trace workload as the text
summary does: geomean and min of exec speedup (or, with --bal lines, BAL
validation speedup) and of speedup / dependency-graph bound, over all
blocks, blocks of >= 100 txs, and those without the eight essentially
sequential Ethereum blocks (../shared/data/README.md). Usage:
summarize.py FILE.jsonl..."""
import json, math, sys

SEQ = {"ethereum/%s.jsonl" % b for b in
       "5891667 11814555 12300570 12520364 13217637 13287210 14396881 15274915".split()}

def gm(xs):
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else float("nan")

for f in sys.argv[1:]:
    rows = [json.loads(l) for l in open(f) if l.strip()]
    print(f)
    for label, sel in (("all", lambda r: True),
                       (">= 100 txs", lambda r: r["txs"] >= 100),
                       (">= 100 txs, without the 8 sequential",
                        lambda r: r["txs"] >= 100 and r["name"] not in SEQ)):
        rs = [r for r in rows if sel(r)]
        sp = [r["exec_speedup"] for r in rs]
        sb = [r["speedup_over_bound"] for r in rs if r.get("speedup_over_bound")]
        lo = min(rs, key=lambda r: r["exec_speedup"])
        print("  %-40s %3d blocks  geomean %.2fx  min %.2fx (%s)  spd/bound %.2f (min %.2f)"
              % (label, len(rs), gm(sp), min(sp), lo["name"], gm(sb), min(sb) if sb else float("nan")))
    for r in rows:
        if r["name"].startswith(("solana", "bitcoin")):
            print("  %-32s %.2fx" % (r["name"], r["exec_speedup"]))
    # BAL lines: production with the BAL on over off, per chain (geomean, max)
    prod = {}
    for r in rows:
        if r.get("prod_bal_ratio"):
            prod.setdefault(r["name"].split("/")[0], []).append(r["prod_bal_ratio"])
    for chain, xs in sorted(prod.items()):
        print("  production on/off %-16s x%.3f (max x%.3f)" % (chain, gm(xs), max(xs)))
