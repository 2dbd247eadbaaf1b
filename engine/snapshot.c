/* parex_db_snapshot: a consistent copy of a store into a new directory,
 * for a node that is too far behind to replay blocks (issue 14). The
 * LMDB copy itself is state/'s (px__store_copy); here the directory is
 * made and the copy is opened back to report what it holds. */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine_int.h"

/* Make dir, or accept it as an empty directory. *created says whether
 * this call made it (and must remove it on failure). */
static int fresh_dir(parex_error_info *err, const char *dir, int *created)
{
    struct dirent *de;
    DIR *d;
    int empty = 1;

    *created = 0;
    if (mkdir(dir, 0777) == 0) {
        *created = 1;
        return PAREX_OK;
    }
    if (errno != EEXIST) {
        return px__fail(err, PAREX_E_IO, 0, -1, "dir", "snapshot %s: cannot "
            "create the directory: %s", dir, strerror(errno));
    }
    d = opendir(dir);
    if (d == NULL) {
        return px__fail(err, errno == ENOTDIR ? PAREX_E_EXISTS : PAREX_E_IO,
            0, -1, "dir", "snapshot %s: exists and is not a readable "
            "directory: %s", dir, strerror(errno));
    }
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
            empty = 0;
            break;
        }
    }
    closedir(d);
    if (!empty) {
        return px__fail(err, PAREX_E_EXISTS, 0, -1, "dir", "snapshot %s: "
            "the directory is not empty; refusing to overwrite it", dir);
    }
    return PAREX_OK;
}

/* Remove what a failed snapshot left in dir: the two LMDB files (the
 * read-back open makes lock.mdb) and dir itself when this call made it. */
static void undo(const char *dir, int created)
{
    static const char *const names[] = {"data.mdb", "lock.mdb"};
    size_t n = strlen(dir) + sizeof "/data.mdb";
    char *path = malloc(n);
    size_t i;

    if (path != NULL) {
        for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
            snprintf(path, n, "%s/%s", dir, names[i]);
            (void)unlink(path);
        }
        free(path);
    }
    if (created) {
        (void)rmdir(dir);
    }
}

/* The head of the copy, read from the copy itself: the copy's read
 * transaction is LMDB's, so only the copy knows which block it saw. */
static int read_back(parex_header *head, parex_error_info *err,
    const char *dir)
{
    px__store *st;
    px__snap *sn;
    int rc;

    rc = px__store_open(&st, err, dir, 0, 0, 1, 1);
    if (rc != PAREX_OK) {
        return rc;
    }
    rc = px__snap_begin(&sn, st);
    if (rc == PAREX_OK) {
        rc = px__read_head(sn, head);
        px__snap_end(sn);
    }
    px__store_close(st);
    if (rc == PAREX_E_NOTFOUND) {
        return px__fail(err, rc, 0, -1, "", "snapshot %s: the store has no "
            "genesis block yet; nothing to copy", dir);
    }
    if (rc != PAREX_OK) {
        return px__fail(err, rc, 0, -1, "", "snapshot %s: cannot read the "
            "copy's head block: %s", dir, parex_strerror(rc));
    }
    return PAREX_OK;
}

PAREX_API int parex_db_snapshot(const parex_db *db, parex_header *head,
    parex_error_info *err, const char *dir)
{
    parex_header h;
    int created = 0, rc;

    px__err_clear(err);
    if (db == NULL || dir == NULL) {
        return px__fail(err, PAREX_E_MISUSE, 0, -1, "", "NULL argument");
    }
    rc = fresh_dir(err, dir, &created);
    if (rc != PAREX_OK) {
        return rc;
    }
    rc = px__store_copy(db->store, err, dir);
    if (rc == PAREX_E_EXISTS) {
        /* Someone else's data.mdb appeared in the empty directory: not
         * ours to remove. */
        if (created) {
            (void)rmdir(dir);
        }
        return rc;
    }
    if (rc == PAREX_OK) {
        rc = read_back(&h, err, dir);
    }
    if (rc != PAREX_OK) {
        undo(dir, created);
        return rc;
    }
    if (head != NULL) {
        *head = h;
    }
    return PAREX_OK;
}
