/* The execution stage: choose an executor for the block and run it.
 *
 * Which executor runs a block is decided here, in px__exec_choose(), and
 * nowhere else. */
#include "engine_int.h"

px__exec_kind px__exec_choose(const px__exec_env *env,
    const px__exec_shape *prefix)
{
    uint32_t width;

    if (prefix == NULL) {
        if (env->sequential) {
            return PX__EXEC_SEQUENTIAL;
        }
        /* One thread and the default width: nothing to gain from an
         * analysis, and the reference counts batches on its own map. */
        if (env->threads < 2 && env->min_width == 0) {
            return PX__EXEC_COUNTED;
        }
        return PX__EXEC_ANALYSE;
    }
    width = env->min_width != 0 ? env->min_width : 16 * env->threads;
    if (prefix->batches > 0 && prefix->txs / prefix->batches < width) {
        /* Too narrow to pay for the synchronisation. */
        return PX__EXEC_NARROW;
    }
    return PX__EXEC_PARALLEL;
}

int px__exec_block(const px__exec_env *env, px__result *res)
{
    px__exec_env se;
    int rc;

    switch (px__exec_choose(env, NULL)) {
    case PX__EXEC_SEQUENTIAL:
        return px__exec_sequential(env, res);
    case PX__EXEC_COUNTED:
        se = *env;
        se.count_batches = 1;
        rc = px__exec_sequential(&se, res);
        res->fallback = 1;
        return rc;
    default:
        return px__exec_parallel(env, res);
    }
}
