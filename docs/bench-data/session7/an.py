# Issue 9's gate from gate.sh's JSON lines: exec ms per block (median, min-max) per binary,
# the paired ratio main/base per round, and a bootstrap 95% interval of the ratio of medians.
import json, sys, random, statistics as st
rows = [json.loads(l) for l in open(sys.argv[1])]
bins = sorted({r["bin"] for r in rows}, key=lambda b: (b != "base", b))
random.seed(7)
def boot(a, b, n=4000):
    rs = sorted(st.median(random.choices(b, k=len(b))) / st.median(random.choices(a, k=len(a))) for _ in range(n))
    return rs[int(0.025 * n)], rs[int(0.975 * n)]
for w in ("p2p", "hot"):
    for k in ("seq_exec_s", "par_exec_s"):
        d = {b: [r[k] * 1e3 / r["blocks"] for r in rows if r["bin"] == b and r["workload"] == w] for b in bins}
        base = d.get("base")
        for b in bins:
            v = d[b]
            if not v:
                continue
            line = f"{w:4} {k[:3]} {b:5} med {st.median(v):6.2f} [{min(v):6.2f}-{max(v):6.2f}] n={len(v)}"
            if b != "base" and base:
                pr = [m / x for x, m in zip(base, v)]
                lo, hi = boot(base, v)
                line += f"  ratio {st.median(v)/st.median(base):.3f} paired {st.median(pr):.3f} 95% [{lo:.3f}-{hi:.3f}]"
            print(line)
