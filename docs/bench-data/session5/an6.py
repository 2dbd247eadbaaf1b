import json,sys,statistics as st,math,os
O='/work/notes/s5bench'
def load(f):
    p=os.path.join(O,f)
    if not os.path.exists(p): return []
    out=[]
    for l in open(p):
        l=l.strip()
        if l.startswith('{'):
            try: out.append(json.loads(l))
            except Exception: pass
    return out
g=load('gate.jsonl')
print("## gate")
for w in ('p2p','hot'):
  for b in ('base','final'):
    rs=[r for r in g if r['bin']==b and r['workload']==w]
    if not rs: continue
    s=[r['seq_exec_s']*1e3 for r in rs]; p=[r['par_exec_s']*1e3 for r in rs]; x=[r['exec_speedup'] for r in rs]
    print(f"{w:4} {b:5} seq {st.median(s):6.1f} ({min(s):.1f}) par {st.median(p):6.1f} ({min(p):.1f}) speedup {st.median(x):.2f} [{' '.join('%.2f'%v for v in x)}] fb={rs[0].get('fallback_blocks')}")
for f in ('p2p.jsonl','p2p-nopipe.jsonl','hot.jsonl','p2p2.jsonl'):
  for r in load(f):
    print(f, 'exec %.2fx (min %.2fx) seq %.1f par %.1f ms e2e %.0f tx/s sigbound %.3f unpiped %s bound %s fb %s'%(r['exec_speedup'],r['exec_speedup_min'],r['seq_exec_s']*1e3,r['par_exec_s']*1e3,r['tps_e2e'],r['sig_bound_ratio'],r.get('sig_bound_ratio_unpipelined'),r.get('dag_bound'),r.get('fallback_blocks')), 'stages', r.get('stage_ns'))
def geo(v): return math.exp(sum(math.log(x) for x in v)/len(v)) if v else float('nan')
for f in ('traces.jsonl','traces-w20.jsonl'):
  rs=[r for r in load(f) if r['txs']>=100]
  if not rs: continue
  sp=[r['exec_speedup'] for r in rs]; sb=[r['speedup_over_bound'] for r in rs if r.get('speedup_over_bound')]
  print(f, 'n',len(rs),'geomean %.2f min %.2f (%s)'%(geo(sp),min(sp),min(rs,key=lambda r:r['exec_speedup'])['name']), 'sp/bound geo %.2f min %.2f'%(geo(sb),min(sb) if sb else 0), 'below0.97', sum(1 for x in sp if x<0.97), 'fallback', sum(1 for r in rs if r.get('fallback')))
  for r in sorted(rs,key=lambda r:r['exec_speedup'])[:8]:
    print('   %-40s %.2fx bound %s fb %s batches %s txs %s'%(r['name'],r['exec_speedup'],r.get('dag_bound'),r.get('fallback'),r['batches'],r['txs']))
