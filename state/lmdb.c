/* The LMDB state store behind state_int.h.
 *
 * The only file that includes <lmdb.h>; MDB_* codes become PAREX_E_* in
 * map_mdb() and nowhere else. One environment (a directory holding LMDB's
 * data.mdb and lock.mdb) with four named databases, opened with MDB_NOTLS
 * so that a read snapshot belongs to its px__snap rather than to the thread
 * that began it.
 *
 * Nothing here prints, exits or aborts: a damaged or foreign file is an
 * error code (PAREX_E_CORRUPT) and a message in parex_error_info.
 */
/* flock(2) is BSD, not POSIX; glibc declares it under _DEFAULT_SOURCE. It
 * is used rather than fcntl(F_SETLK) because POSIX record locks belong to
 * the process: a second open of the same store in one process would get
 * the lock again, and closing either descriptor would drop it. */
#define _DEFAULT_SOURCE 1

#include "state_int.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <lmdb.h>

/* Named databases, indexed by px__dbi. */
static const char *const db_names[PX_DB_COUNT] = {
    "state", "headers", "meta", "receipts", "blocks", "hashes", "blockrcpt",
};

/* meta "format": written once when a store is created and checked on every
 * open, so that a foreign LMDB environment is refused before we write. */
static const char format_key[] = "format";
static const char format_val[] = "parex-state-2";

/* More named databases than we use, so that a later format can add some
 * without the old binary failing with MDB_DBS_FULL on open. */
#define MAX_DBS 8
/* One reader slot per live px__snap (MDB_NOTLS): every engine worker holds
 * one, plus the node's readers. The lock file grows by 64 bytes a slot. */
#define MAX_READERS 1024

struct px__store {
    MDB_env *env;
    MDB_dbi dbi[PX_DB_COUNT];
    int read_only;
    int lock_fd; /* DIR/writer.lock, flock'd; -1 for read-only stores */
    int lock_created; /* this open created it: removed if the open fails,
                       * so that a failed open leaves the directory as it
                       * was */
    /* Set while a px__wtxn is open. LMDB's writer lock is not recursive:
     * a second begin from the thread that holds it would deadlock, so it is
     * refused instead. */
    atomic_flag writing;
};

struct px__snap {
    px__store *s;
    MDB_txn *txn;
    int reset; /* mdb_txn_reset done, no mdb_txn_renew yet */
};

struct px__wtxn {
    px__store *s;
    MDB_txn *txn;
    int failed; /* first PAREX_E_* of a failed put/del; LMDB then refuses
                 * every further write and the commit */
    /* One write cursor per database, opened at its first put and closed
     * by LMDB when the txn ends. mdb_put opens a fresh cursor per call
     * and descends from the root every time; a kept cursor that is
     * already on the right leaf skips the descent (mdb_cursor_set), and
     * a block's writes come in key order (its change set is sorted). */
    MDB_cursor *cur[PX_DB_COUNT];
};

/* The one place where MDB_* and errno codes become PAREX_E_* codes. */
#if PAREX_CHECKED
static void lmdb_assert(MDB_env *env, const char *msg)
{
    (void)env;
    px__assert_fail(msg, "lmdb", 0);
}
#endif

static int map_mdb(int rc)
{
    switch (rc) {
    case MDB_SUCCESS:
        return PAREX_OK;
    case MDB_NOTFOUND:
        return PAREX_E_NOTFOUND;
    case MDB_MAP_FULL:
        return PAREX_E_MAPFULL;
    case MDB_INVALID:
    case MDB_VERSION_MISMATCH:
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
    case MDB_INCOMPATIBLE:
        return PAREX_E_CORRUPT;
    case MDB_BAD_VALSIZE:
        /* A key of length 0 or over 511 bytes: a caller bug, not a store
         * failure. */
        return PAREX_E_INVALID;
    case ENOMEM:
        return PAREX_E_NOMEM;
    case EROFS:
        return PAREX_E_READONLY;
    case ENOENT:
    case ENOTDIR:
    case EACCES:
    case EPERM:
    case EIO:
    case ENOSPC:
        return PAREX_E_IO;
    default:
        return PAREX_E_STORAGE;
    }
}

static void err_clear(parex_error_info *err)
{
    if (err != NULL) {
        memset(err, 0, sizeof *err);
        err->tx_index = -1;
    }
}

/* Fill err (may be NULL) and return code. The message names the directory
 * and why, e.g. "state store /x: cannot open LMDB environment
 * (MDB_INVALID: File is not an LMDB file)". */
static int open_fail(parex_error_info *err, int code, const char *dir,
    const char *what, const char *why)
{
    if (err != NULL) {
        err_clear(err);
        err->code = code;
        snprintf(err->message, sizeof err->message, "state store %s: %s (%s)",
            dir, what, why);
    }
    return code;
}

static int dbi_ok(px__dbi dbi)
{
    return (int)dbi >= 0 && (int)dbi < PX_DB_COUNT;
}

static MDB_val mval(const void *p, size_t n)
{
    MDB_val v;

    v.mv_size = n;
    v.mv_data = (void *)p; /* LMDB does not write through key/data in */
    return v;
}

/* Create the databases of a new store and write its format, in txn. */
static int create_dbs(px__store *s, parex_error_info *err, const char *dir,
    MDB_txn *txn)
{
    MDB_dbi main_dbi;
    MDB_stat st;
    MDB_val k, v;
    int rc;
    int i;

    /* No "meta": a new environment, or somebody else's. Only an empty one
     * may become ours (named databases are entries of the main DB). */
    rc = mdb_dbi_open(txn, NULL, 0, &main_dbi);
    if (rc == MDB_SUCCESS) {
        rc = mdb_stat(txn, main_dbi, &st);
    }
    if (rc != MDB_SUCCESS) {
        return open_fail(err, map_mdb(rc), dir, "cannot read main database",
            mdb_strerror(rc));
    }
    if (st.ms_entries != 0) {
        return open_fail(err, PAREX_E_CORRUPT, dir,
            "not a parex state store",
            "LMDB environment holds data but no \"meta\" database");
    }
    for (i = 0; i < PX_DB_COUNT; i++) {
        rc = mdb_dbi_open(txn, db_names[i], MDB_CREATE, &s->dbi[i]);
        if (rc != MDB_SUCCESS) {
            return open_fail(err, map_mdb(rc), dir, "cannot create database",
                mdb_strerror(rc));
        }
    }
    k = mval(format_key, sizeof format_key - 1);
    v = mval(format_val, sizeof format_val - 1);
    rc = mdb_put(txn, s->dbi[PX_DB_META], &k, &v, 0);
    if (rc != MDB_SUCCESS) {
        return open_fail(err, map_mdb(rc), dir, "cannot write format",
            mdb_strerror(rc));
    }
    return PAREX_OK;
}

/* Check the format of an existing store and open its databases, in txn. */
static int check_dbs(px__store *s, parex_error_info *err, const char *dir,
    MDB_txn *txn)
{
    MDB_val k, v;
    int rc;
    int i;

    k = mval(format_key, sizeof format_key - 1);
    rc = mdb_get(txn, s->dbi[PX_DB_META], &k, &v);
    if (rc == MDB_NOTFOUND) {
        return open_fail(err, PAREX_E_CORRUPT, dir, "not a parex state store",
            "meta \"format\" is missing");
    }
    if (rc != MDB_SUCCESS) {
        return open_fail(err, map_mdb(rc), dir, "cannot read meta \"format\"",
            mdb_strerror(rc));
    }
    if (v.mv_size != sizeof format_val - 1 ||
        memcmp(v.mv_data, format_val, sizeof format_val - 1) != 0) {
        char why[128];
        size_t j, n = v.mv_size < 40 ? v.mv_size : 40;
        char got[41];

        /* Name both formats; the stored one printably. */
        for (j = 0; j < n; j++) {
            char c = ((const char *)v.mv_data)[j];
            got[j] = c >= 0x20 && c < 0x7f ? c : '?';
        }
        got[n] = '\0';
        snprintf(why, sizeof why, "store format \"%s\", this library "
            "reads \"%s\"", got, format_val);
        return open_fail(err, PAREX_E_CORRUPT, dir,
            "not a store of this format", why);
    }
    for (i = 0; i < PX_DB_COUNT; i++) {
        if (i == PX_DB_META) {
            continue;
        }
        rc = mdb_dbi_open(txn, db_names[i], 0, &s->dbi[i]);
        if (rc == MDB_NOTFOUND) {
            return open_fail(err, PAREX_E_CORRUPT, dir, "damaged state store",
                "a database is missing");
        }
        if (rc != MDB_SUCCESS) {
            return open_fail(err, map_mdb(rc), dir, "cannot open database",
                mdb_strerror(rc));
        }
    }
    return PAREX_OK;
}

/* Open (and on a new store create) the databases. Handles opened in a
 * transaction survive only if it commits, so even the read-only check
 * ends in mdb_txn_commit. */
static int open_dbs(px__store *s, parex_error_info *err, const char *dir)
{
    MDB_txn *txn = NULL;
    int rc;
    int ret;

    rc = mdb_txn_begin(s->env, NULL, s->read_only ? MDB_RDONLY : 0, &txn);
    if (rc != MDB_SUCCESS) {
        return open_fail(err, map_mdb(rc), dir, "cannot begin transaction",
            mdb_strerror(rc));
    }
    rc = mdb_dbi_open(txn, db_names[PX_DB_META], 0, &s->dbi[PX_DB_META]);
    if (rc == MDB_NOTFOUND && s->read_only) {
        MDB_dbi main_dbi;
        MDB_stat st;

        /* An environment with nothing in it is a store whose creation was
         * cut short (a crash between LMDB's file set-up and our first
         * commit): say so, it is not somebody else's data. */
        if (mdb_dbi_open(txn, NULL, 0, &main_dbi) == MDB_SUCCESS &&
            mdb_stat(txn, main_dbi, &st) == MDB_SUCCESS &&
            st.ms_entries == 0) {
            ret = open_fail(err, PAREX_E_CORRUPT, dir,
                "not a parex state store yet", "empty LMDB environment: its "
                "creation was interrupted; a read-write open sets it up");
        } else {
            ret = open_fail(err, PAREX_E_CORRUPT, dir,
                "not a parex state store", "no \"meta\" database, and a "
                "read-only open cannot create one");
        }
        goto err_txn;
    } else if (rc == MDB_NOTFOUND) {
        ret = create_dbs(s, err, dir, txn);
    } else if (rc != MDB_SUCCESS) {
        ret = open_fail(err, map_mdb(rc), dir, "cannot open \"meta\"",
            mdb_strerror(rc));
    } else {
        ret = check_dbs(s, err, dir, txn);
    }
    if (ret != PAREX_OK) {
        goto err_txn;
    }
    rc = mdb_txn_commit(txn);
    if (rc != MDB_SUCCESS) {
        return open_fail(err, map_mdb(rc), dir, "cannot commit set-up",
            mdb_strerror(rc));
    }
    return PAREX_OK;

err_txn:
    mdb_txn_abort(txn);
    return ret;
}

/* A read-only open cannot create data.mdb, and LMDB would still create
 * lock.mdb before finding that out; refuse first so that a mistyped
 * directory is left as it was. Such a directory is reported as
 * PAREX_E_CORRUPT ("not a parex state store"), the code for every other
 * directory that holds no store of ours. */
static int check_data_file(parex_error_info *err, const char *dir,
    int read_only)
{
    struct stat st;
    size_t n = strlen(dir) + sizeof "/data.mdb";
    char *path = malloc(n);
    int ret = PAREX_OK;

    if (path == NULL) {
        return open_fail(err, PAREX_E_NOMEM, dir, "cannot open",
            strerror(ENOMEM));
    }
    snprintf(path, n, "%s/data.mdb", dir);
    if (stat(path, &st) != 0) {
        if (errno == ENOENT && read_only) {
            ret = open_fail(err, PAREX_E_CORRUPT, dir,
                "not a parex state store",
                "no data.mdb, and a read-only open cannot create one");
        } else if (errno == ENOENT) {
            ret = open_fail(err, PAREX_E_NOTFOUND, dir, "no state store",
                "no data.mdb, and the open was told not to create one");
        } else {
            ret = open_fail(err, map_mdb(errno), dir, "cannot stat data.mdb",
                strerror(errno));
        }
    } else if (st.st_size == 0 && read_only) {
        /* LMDB creates data.mdb, then writes its meta pages: a crash in
         * between leaves an empty file, which a read-only open would try
         * to initialise through a read-only descriptor (EBADF). It is a
         * store whose creation was cut short, as in open_dbs(). */
        ret = open_fail(err, PAREX_E_CORRUPT, dir,
            "not a parex state store yet", "empty data.mdb: its "
            "creation was interrupted; a read-write open sets it up");
    }
    free(path);
    return ret;
}

/* LMDB reads pages through its memory map and trusts the meta page's
 * last page number. A data.mdb cut short (a copy that stopped early, a full
 * disk in a copy tool) would make such a read raise SIGBUS, so the file
 * must reach at least to the end of the last page the meta page names. */
static int check_size(px__store *s, parex_error_info *err, const char *dir)
{
    MDB_envinfo info;
    MDB_stat st;
    struct stat fst;
    size_t n = strlen(dir) + sizeof "/data.mdb";
    char *path;
    uint64_t need;
    int rc;
    int ret = PAREX_OK;

    rc = mdb_env_info(s->env, &info);
    if (rc == MDB_SUCCESS) {
        rc = mdb_env_stat(s->env, &st);
    }
    if (rc != MDB_SUCCESS) {
        return open_fail(err, map_mdb(rc), dir, "cannot read the meta page",
            mdb_strerror(rc));
    }
    path = malloc(n);
    if (path == NULL) {
        return open_fail(err, PAREX_E_NOMEM, dir, "cannot open",
            strerror(ENOMEM));
    }
    snprintf(path, n, "%s/data.mdb", dir);
    need = ((uint64_t)info.me_last_pgno + 1) * st.ms_psize;
    if (stat(path, &fst) != 0) {
        ret = open_fail(err, map_mdb(errno), dir, "cannot stat data.mdb",
            strerror(errno));
    } else if ((uint64_t)fst.st_size < need) {
        char why[96];

        snprintf(why, sizeof why, "data.mdb has %llu bytes, its last "
            "page ends at %llu", (unsigned long long)fst.st_size,
            (unsigned long long)need);
        ret = open_fail(err, PAREX_E_CORRUPT, dir,
            "damaged state store: data.mdb is truncated", why);
    }
    free(path);
    return ret;
}

/* Take the store's writer lock: an exclusive, non-blocking flock(2) on
 * DIR/writer.lock, held until px__store_close(). The file keeps the
 * holder's pid so that the refusal can name it; the kernel drops the lock
 * when the holder exits, however it exits, so a stale file never blocks. */
static int take_writer_lock(int *fd_out, int *created,
    parex_error_info *err, const char *dir)
{
    size_t n = strlen(dir) + sizeof "/writer.lock";
    char *path = malloc(n);
    char pid[32];
    int fd, len;

    *fd_out = -1;
    *created = 0;
    if (path == NULL) {
        return open_fail(err, PAREX_E_NOMEM, dir, "cannot open",
            strerror(ENOMEM));
    }
    snprintf(path, n, "%s/writer.lock", dir);
    fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd >= 0) {
        *created = 1;
    } else if (errno == EEXIST) {
        fd = open(path, O_RDWR | O_CLOEXEC);
    }
    if (fd < 0) {
        int e = errno;
        free(path);
        return open_fail(err, map_mdb(e), dir, "cannot open writer.lock",
            strerror(e));
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        char why[96];
        ssize_t r;

        free(path);
        if (e != EWOULDBLOCK) {
            close(fd);
            return open_fail(err, PAREX_E_IO, dir, "cannot lock writer.lock",
                strerror(e));
        }
        r = pread(fd, pid, sizeof pid - 1, 0);
        pid[r > 0 ? r : 0] = '\0';
        pid[strcspn(pid, "\n")] = '\0';
        snprintf(why, sizeof why, "writer.lock is held by process %s; "
            "read-only opens are allowed", pid[0] != '\0' ? pid : "?");
        close(fd);
        *created = 0; /* not ours to remove */
        return open_fail(err, PAREX_E_LOCKED, dir,
            "in use by another writer", why);
    }
    free(path);
    len = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    /* The pid is only for messages: failing to record it is harmless. */
    if (ftruncate(fd, 0) == 0 && pwrite(fd, pid, (size_t)len, 0) < 0) {
        (void)0;
    }
    *fd_out = fd;
    return PAREX_OK;
}

int px__store_open(px__store **out, parex_error_info *err, const char *dir,
    uint64_t map_size, int sync, int read_only, int no_create)
{
    /* 16 GiB of address space costs nothing until pages are written;
     * 32-bit hosts cannot map that much. */
    const uint64_t def_map =
        sizeof(size_t) >= 8 ? (uint64_t)16 << 30 : (uint64_t)1 << 30;
    unsigned int flags = MDB_NOTLS;
    struct stat st;
    px__store *s;
    int rc;
    int ret;

    *out = NULL;
    err_clear(err);
    if (sync < 0 || sync > 2) {
        return open_fail(err, PAREX_E_MISUSE, dir, "cannot open",
            "sync mode must be 0, 1 or 2");
    }
    if (map_size == 0) {
        map_size = def_map;
    }
    if (map_size > SIZE_MAX) {
        return open_fail(err, PAREX_E_MISUSE, dir, "cannot open",
            "map_size exceeds the address space");
    }
    if (stat(dir, &st) != 0) {
        return open_fail(err, map_mdb(errno), dir, "cannot open directory",
            strerror(errno));
    }
    if (!S_ISDIR(st.st_mode)) {
        return open_fail(err, PAREX_E_IO, dir, "cannot open directory",
            strerror(ENOTDIR));
    }
    if (read_only || no_create) {
        ret = check_data_file(err, dir, read_only);
        if (ret != PAREX_OK) {
            return ret;
        }
    }
    if (read_only) {
        flags |= MDB_RDONLY;
    }
    if (sync == 1) {
        flags |= MDB_NOMETASYNC;
    } else if (sync == 2) {
        flags |= MDB_NOSYNC;
    }

    s = calloc(1, sizeof *s);
    if (s == NULL) {
        return open_fail(err, PAREX_E_NOMEM, dir, "cannot open",
            strerror(ENOMEM));
    }
    s->read_only = read_only != 0;
    s->lock_fd = -1;
    atomic_flag_clear(&s->writing);
    if (!s->read_only) {
        ret = take_writer_lock(&s->lock_fd, &s->lock_created, err, dir);
        if (ret != PAREX_OK) {
            goto err_store;
        }
    }
    rc = mdb_env_create(&s->env);
    if (rc != MDB_SUCCESS) {
        ret = open_fail(err, map_mdb(rc), dir, "cannot create environment",
            mdb_strerror(rc));
        goto err_store;
    }
#if PAREX_CHECKED
    /* LMDB's own assertions (where it was built with them) report like
     * ours. */
    (void)mdb_env_set_assert(s->env, lmdb_assert);
#endif
    rc = mdb_env_set_maxdbs(s->env, MAX_DBS);
    if (rc == MDB_SUCCESS) {
        rc = mdb_env_set_maxreaders(s->env, MAX_READERS);
    }
    if (rc == MDB_SUCCESS) {
        rc = mdb_env_set_mapsize(s->env, (size_t)map_size);
    }
    if (rc != MDB_SUCCESS) {
        ret = open_fail(err, map_mdb(rc), dir, "cannot configure environment",
            mdb_strerror(rc));
        goto err_env;
    }
    /* A foreign or damaged data.mdb fails here with MDB_INVALID or
     * MDB_VERSION_MISMATCH before LMDB writes to it. */
    rc = mdb_env_open(s->env, dir, flags, 0644);
    if (rc != MDB_SUCCESS) {
        ret = open_fail(err, map_mdb(rc), dir,
            "cannot open LMDB environment", mdb_strerror(rc));
        goto err_env;
    }
    if (!s->read_only) {
        int dead;

        /* Free reader slots left by crashed processes; they would pin old
         * pages forever. Failure only means the slots stay taken. */
        (void)mdb_reader_check(s->env, &dead);
    }
    ret = check_size(s, err, dir);
    if (ret != PAREX_OK) {
        goto err_env;
    }
    ret = open_dbs(s, err, dir);
    if (ret != PAREX_OK) {
        goto err_env;
    }
    *out = s;
    return PAREX_OK;

err_env:
    mdb_env_close(s->env);
err_store:
    if (s->lock_fd >= 0) {
        if (s->lock_created) {
            size_t n = strlen(dir) + sizeof "/writer.lock";
            char *path = malloc(n);

            if (path != NULL) {
                snprintf(path, n, "%s/writer.lock", dir);
                (void)unlink(path); /* still locked: nobody else has it */
                free(path);
            }
        }
        close(s->lock_fd); /* releases the flock */
    }
    free(s);
    return ret;
}

void px__store_close(px__store *s)
{
    if (s == NULL) {
        return;
    }
    mdb_env_close(s->env);
    if (s->lock_fd >= 0) {
        close(s->lock_fd); /* after LMDB: the next writer finds it done */
    }
    free(s);
}

int px__store_read_only(const px__store *s)
{
    return s->read_only;
}

int px__store_copy(px__store *s, parex_error_info *err, const char *dir)
{
    size_t n = strlen(dir) + sizeof "/data.mdb";
    char *path = malloc(n);
    struct stat st;
    int rc, ret, fd;

    err_clear(err);
    if (path == NULL) {
        return open_fail(err, PAREX_E_NOMEM, dir, "cannot copy the store",
            strerror(ENOMEM));
    }
    snprintf(path, n, "%s/data.mdb", dir);
    if (lstat(path, &st) == 0) {
        free(path);
        return open_fail(err, PAREX_E_EXISTS, dir, "cannot copy the store",
            "data.mdb already exists");
    }
    /* mdb_env_copy2 creates DIR/data.mdb (O_CREAT | O_EXCL) and walks the
     * trees of one read transaction it begins itself; compaction drops
     * free pages, so the copy is no larger than the live data. */
    rc = mdb_env_copy2(s->env, dir, MDB_CP_COMPACT);
    if (rc == EEXIST) {
        /* Created since the check above, by someone else: not ours. */
        free(path);
        return open_fail(err, PAREX_E_EXISTS, dir, "cannot copy the store",
            "data.mdb already exists");
    }
    if (rc != MDB_SUCCESS) {
        ret = open_fail(err, map_mdb(rc), dir, "cannot copy the store",
            mdb_strerror(rc));
        goto err_file;
    }
    /* LMDB does not sync the copy: a snapshot reported written must
     * survive a crash. */
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) != 0) {
        int e = errno;

        if (fd >= 0) {
            close(fd);
        }
        ret = open_fail(err, PAREX_E_IO, dir, "cannot sync the copy",
            strerror(e));
        goto err_file;
    }
    close(fd);
    free(path);
    return PAREX_OK;

err_file:
    (void)unlink(path); /* created by this call (O_EXCL above) or absent */
    free(path);
    return ret;
}

int px__snap_begin(px__snap **out, px__store *s)
{
    px__snap *sn;
    int rc;

    *out = NULL;
    sn = calloc(1, sizeof *sn);
    if (sn == NULL) {
        return PAREX_E_NOMEM;
    }
    sn->s = s;
    rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &sn->txn);
    if (rc != MDB_SUCCESS) {
        free(sn);
        return map_mdb(rc);
    }
    *out = sn;
    return PAREX_OK;
}

void px__snap_end(px__snap *sn)
{
    if (sn == NULL) {
        return;
    }
    /* Valid on a reset txn too: it releases the reader slot. */
    mdb_txn_abort(sn->txn);
    free(sn);
}

void px__snap_reset(px__snap *sn)
{
    if (sn == NULL || sn->reset) {
        return;
    }
    mdb_txn_reset(sn->txn);
    sn->reset = 1;
}

int px__snap_renew(px__snap *sn)
{
    int rc;

    /* Renewing a live snapshot is taken to mean "move it to the newest
     * commit" rather than an error. */
    px__snap_reset(sn);
    PAREX_ASSERT(sn->reset);
    rc = mdb_txn_renew(sn->txn);
    if (rc != MDB_SUCCESS) {
        return map_mdb(rc);
    }
    sn->reset = 0;
    return PAREX_OK;
}

static int get_in(MDB_txn *txn, MDB_dbi dbi, const uint8_t **val,
    size_t *len, const void *key, size_t key_len)
{
    MDB_val k = mval(key, key_len);
    MDB_val v;
    int rc;

    rc = mdb_get(txn, dbi, &k, &v);
    if (rc != MDB_SUCCESS) {
        return map_mdb(rc);
    }
    *val = v.mv_data;
    *len = v.mv_size;
    return PAREX_OK;
}

int px__snap_get(px__snap *sn, px__dbi dbi, const uint8_t **val, size_t *len,
    const void *key, size_t key_len)
{
    if (!dbi_ok(dbi) || sn->reset) {
        return PAREX_E_MISUSE;
    }
    return get_in(sn->txn, sn->s->dbi[dbi], val, len, key, key_len);
}

int px__snap_foreach(px__snap *sn, px__dbi dbi, px__visit_fn fn, void *user)
{
    return px__snap_range(sn, dbi, NULL, 0, NULL, 0, fn, user);
}

static int below(const MDB_val *k, const void *hi, size_t hi_len)
{
    size_t n = k->mv_size < hi_len ? k->mv_size : hi_len;
    int c = n > 0 ? memcmp(k->mv_data, hi, n) : 0;

    return c < 0 || (c == 0 && k->mv_size < hi_len);
}

int px__snap_range(px__snap *sn, px__dbi dbi, const void *lo, size_t lo_len,
    const void *hi, size_t hi_len, px__visit_fn fn, void *user)
{
    MDB_cursor *cur;
    MDB_val k, v;
    int rc;
    int ret = PAREX_OK;

    if (!dbi_ok(dbi) || sn->reset || (lo != NULL && lo_len == 0)) {
        return PAREX_E_MISUSE;
    }
    rc = mdb_cursor_open(sn->txn, sn->s->dbi[dbi], &cur);
    if (rc != MDB_SUCCESS) {
        return map_mdb(rc);
    }
    if (lo != NULL) {
        k = mval(lo, lo_len);
        rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    } else {
        rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    }
    for (; rc == MDB_SUCCESS; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        int r;

        if (hi != NULL && !below(&k, hi, hi_len)) {
            rc = MDB_NOTFOUND;
            break;
        }
        r = fn(k.mv_data, k.mv_size, v.mv_data, v.mv_size, user);
        if (r != 0) {
            /* A stop is not an error, but a visitor that fails may say
             * why with a negative PAREX_E_* code, which is passed on. */
            ret = r < 0 ? r : PAREX_STOPPED;
            goto err_cursor;
        }
    }
    if (rc != MDB_NOTFOUND) {
        ret = map_mdb(rc);
    }

err_cursor:
    /* Cursors of read-only txns are not freed by the txn's end. */
    mdb_cursor_close(cur);
    return ret;
}

int px__snap_count(px__snap *sn, px__dbi dbi, uint64_t *out)
{
    MDB_stat st;
    int rc;

    if (!dbi_ok(dbi) || sn->reset) {
        return PAREX_E_MISUSE;
    }
    rc = mdb_stat(sn->txn, sn->s->dbi[dbi], &st);
    if (rc != MDB_SUCCESS) {
        return map_mdb(rc);
    }
    *out = st.ms_entries;
    return PAREX_OK;
}

int px__wtxn_begin(px__wtxn **out, px__store *s)
{
    px__wtxn *w;
    int rc;

    *out = NULL;
    if (s->read_only) {
        return PAREX_E_READONLY;
    }
    if (atomic_flag_test_and_set(&s->writing)) {
        return PAREX_E_MISUSE;
    }
    w = calloc(1, sizeof *w);
    if (w == NULL) {
        atomic_flag_clear(&s->writing);
        return PAREX_E_NOMEM;
    }
    w->s = s;
    rc = mdb_txn_begin(s->env, NULL, 0, &w->txn);
    if (rc != MDB_SUCCESS) {
        free(w);
        atomic_flag_clear(&s->writing);
        return map_mdb(rc);
    }
    *out = w;
    return PAREX_OK;
}

/* w's cursor on dbi, opened on first use; LMDB codes. */
static int wcursor(px__wtxn *w, px__dbi dbi, MDB_cursor **out)
{
    int rc = MDB_SUCCESS;

    if (w->cur[dbi] == NULL) {
        rc = mdb_cursor_open(w->txn, w->s->dbi[dbi], &w->cur[dbi]);
    }
    *out = w->cur[dbi];
    return rc;
}

int px__wtxn_put(px__wtxn *w, px__dbi dbi, const void *key, size_t key_len,
    const void *val, size_t len)
{
    MDB_cursor *c;
    MDB_val k = mval(key, key_len);
    MDB_val v = mval(val, len);
    int rc;

    PAREX_ASSERT(w->txn != NULL && (len == 0 || val != NULL));

    if (!dbi_ok(dbi)) {
        return PAREX_E_MISUSE;
    }
    if (w->failed != PAREX_OK) {
        return w->failed;
    }
    rc = wcursor(w, dbi, &c);
    if (rc == MDB_SUCCESS) {
        rc = mdb_cursor_put(c, &k, &v, 0);
    }
    if (rc != MDB_SUCCESS) {
        /* A bad key length leaves the txn usable; anything else (map full,
         * I/O) poisons it in LMDB, so remember why for the commit. */
        if (rc != MDB_BAD_VALSIZE) {
            w->failed = map_mdb(rc);
        }
        return map_mdb(rc);
    }
    return PAREX_OK;
}

int px__wtxn_reserve(px__wtxn *w, px__dbi dbi, uint8_t **out,
    const void *key, size_t key_len, size_t len)
{
    MDB_val k = mval(key, key_len);
    MDB_val v;
    MDB_cursor *c;
    int rc;

    *out = NULL;
    if (!dbi_ok(dbi)) {
        return PAREX_E_MISUSE;
    }
    if (w->failed != PAREX_OK) {
        return w->failed;
    }
    v.mv_size = len;
    v.mv_data = NULL;
    rc = wcursor(w, dbi, &c);
    if (rc == MDB_SUCCESS) {
        rc = mdb_cursor_put(c, &k, &v, MDB_RESERVE);
    }
    if (rc != MDB_SUCCESS) {
        if (rc != MDB_BAD_VALSIZE) {
            w->failed = map_mdb(rc);
        }
        return map_mdb(rc);
    }
    *out = v.mv_data;
    return PAREX_OK;
}

int px__wtxn_del(px__wtxn *w, px__dbi dbi, const void *key, size_t key_len)
{
    MDB_val k = mval(key, key_len);
    int rc;

    if (!dbi_ok(dbi)) {
        return PAREX_E_MISUSE;
    }
    if (w->failed != PAREX_OK) {
        return w->failed;
    }
    rc = mdb_del(w->txn, w->s->dbi[dbi], &k, NULL);
    if (rc == MDB_NOTFOUND) {
        return PAREX_OK;
    }
    if (rc != MDB_SUCCESS) {
        if (rc != MDB_BAD_VALSIZE) {
            w->failed = map_mdb(rc);
        }
        return map_mdb(rc);
    }
    return PAREX_OK;
}

int px__wtxn_get(px__wtxn *w, px__dbi dbi, const uint8_t **val, size_t *len,
    const void *key, size_t key_len)
{
    if (!dbi_ok(dbi)) {
        return PAREX_E_MISUSE;
    }
    return get_in(w->txn, w->s->dbi[dbi], val, len, key, key_len);
}

static void wtxn_free(px__wtxn *w)
{
    /* One write txn at a time: this one holds the flag. */
    (void)PAREX_ALWAYS(atomic_flag_test_and_set(&w->s->writing));
    atomic_flag_clear(&w->s->writing);
    free(w);
}

int px__wtxn_commit(px__wtxn *w)
{
    int ret;

    if (w->failed != PAREX_OK) {
        /* LMDB would refuse with MDB_BAD_TXN; report the cause instead. */
        mdb_txn_abort(w->txn);
        ret = w->failed;
    } else {
        /* mdb_txn_commit frees the txn whether or not it succeeds. */
        ret = map_mdb(mdb_txn_commit(w->txn));
    }
    wtxn_free(w);
    return ret;
}

void px__wtxn_abort(px__wtxn *w)
{
    if (w == NULL) {
        return;
    }
    mdb_txn_abort(w->txn);
    wtxn_free(w);
}
