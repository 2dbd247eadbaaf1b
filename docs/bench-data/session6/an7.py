import json,sys,statistics as st
rows=[json.loads(l) for l in open(sys.argv[1]) if l.startswith('{')]
g={}
for d in rows:
    k=(d['workload'],d['bin']); b=d['blocks']
    g.setdefault(k,[]).append((d['seq_exec_s']*1e3/b,d['par_exec_s']*1e3/b,d['seq_exec_s']/d['par_exec_s']))
for k,v in sorted(g.items()):
    s=[x[0] for x in v]; p=[x[1] for x in v]; r=[x[2] for x in v]
    print('%-4s %-6s seq med %6.2f (min %6.2f)  par med %6.2f (min %6.2f)  speedup med %.2f [%s]'%(k[0],k[1],st.median(s),min(s),st.median(p),min(p),st.median(r),' '.join('%.2f'%x for x in r)))
