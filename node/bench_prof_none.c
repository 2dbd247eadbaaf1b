/* `parex bench` projection while the engine has no per-tx profile: the
 * profiled pass is skipped and the reports say so (projected_speedup is
 * null in --json). bench_prof.c replaces this file once libparex exports
 * parex_engine_profile(). */
#include "bench.h"

void px_bench_enable_profile(parex_engine_options *eo)
{
    (void)eo;
}

int px_bench_profile(bench_result *r, const bench_work *w,
    unsigned threads, const bench_opts *o)
{
    (void)r;
    (void)w;
    (void)threads;
    (void)o;
    return -1;
}
