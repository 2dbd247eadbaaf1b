/* Temporary directories and discovery of input files. */
#define _XOPEN_SOURCE 700
#include "node.h"

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

char *node_tmpdir(const char *tag)
{
    const char *base = getenv("TMPDIR");
    size_t n;
    char *p;

    if (base == NULL || base[0] == '\0') {
        base = "/tmp";
    }
    n = strlen(base) + strlen(tag) + 32;
    p = node_malloc(n);
    snprintf(p, n, "%s/parex-%s-XXXXXX", base, tag);
    if (mkdtemp(p) == NULL) {
        node_die(NODE_EXIT_RUNTIME, "cannot create a temporary directory "
            "%s: %s", p, strerror(errno));
    }
    return p;
}

int node_mkdir_fresh(const char *dir)
{
    DIR *d;
    struct dirent *de;
    int empty = 1;

    if (mkdir(dir, 0777) == 0) {
        return 0;
    }
    if (errno != EEXIST) {
        return -1;
    }
    d = opendir(dir);
    if (d == NULL) {
        return -1;
    }
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
            empty = 0;
            break;
        }
    }
    closedir(d);
    if (!empty) {
        errno = EEXIST;
        return -1;
    }
    return 0;
}

static int rm_one(const char *path, const struct stat *sb, int flag,
    struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

int node_rmtree(const char *dir)
{
    return nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void paths_push(node_paths *ps, const char *p)
{
    if (ps->n == ps->cap) {
        ps->cap = ps->cap == 0 ? 16 : ps->cap * 2;
        ps->v = node_realloc(ps->v, ps->cap * sizeof(*ps->v));
    }
    ps->v[ps->n++] = node_strdup(p);
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s);
    size_t m = strlen(suffix);

    return n >= m && strcmp(s + n - m, suffix) == 0;
}

int node_is_trace(const char *path)
{
    return ends_with(path, ".jsonl");
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Walk dir recursively, appending *.json and *.jsonl files. */
static int walk(node_paths *ps, char *err, const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    node_paths sub = {0};
    size_t i;
    int rc = 0;

    if (d == NULL) {
        return node_err(err, "%s: cannot open directory: %s", dir,
            strerror(errno));
    }
    while ((de = readdir(d)) != NULL) {
        size_t n;
        char *p;
        if (de->d_name[0] == '.') {
            continue;
        }
        n = strlen(dir) + strlen(de->d_name) + 2;
        p = node_malloc(n);
        snprintf(p, n, "%s/%s", dir, de->d_name);
        paths_push(&sub, p);
        free(p);
    }
    closedir(d);
    if (sub.n > 0) {
        qsort(sub.v, sub.n, sizeof(*sub.v), cmp_str);
    }
    for (i = 0; i < sub.n && rc == 0; i++) {
        struct stat st;
        if (stat(sub.v[i], &st) != 0) {
            rc = node_err(err, "%s: %s", sub.v[i], strerror(errno));
        } else if (S_ISDIR(st.st_mode)) {
            rc = walk(ps, err, sub.v[i]);
        } else if (S_ISREG(st.st_mode) && (ends_with(sub.v[i], ".json") ||
                       ends_with(sub.v[i], ".jsonl"))) {
            paths_push(ps, sub.v[i]);
        }
    }
    node_paths_release(&sub);
    return rc;
}

int node_paths_add(node_paths *ps, char *err, const char *path)
{
    struct stat st;
    char *p;
    size_t n;
    int rc;

    if (stat(path, &st) != 0) {
        return node_err(err, "%s: %s", path, strerror(errno));
    }
    if (!S_ISDIR(st.st_mode)) {
        paths_push(ps, path);
        return 0;
    }
    /* Strip trailing slashes so that printed names stay tidy. */
    p = node_strdup(path);
    n = strlen(p);
    while (n > 1 && p[n - 1] == '/') {
        p[--n] = '\0';
    }
    rc = walk(ps, err, p);
    free(p);
    return rc;
}

void node_paths_release(node_paths *ps)
{
    size_t i;

    for (i = 0; i < ps->n; i++) {
        free(ps->v[i]);
    }
    free(ps->v);
    ps->v = NULL;
    ps->n = 0;
    ps->cap = 0;
}
