/* Regression driver for the fuzz targets when libFuzzer is not linked:
 * runs LLVMFuzzerTestOneInput once per file. Arguments are files or
 * directories (their regular files, sorted by name, not recursive).
 * Output is TAP, one line per file, so a crash names the input that
 * caused it; a failed invariant aborts the process.
 *
 * Same idea as systemd's src/fuzz/fuzz-main.c and git's oss-fuzz
 * replayer: corpora found by fuzzing stay as regression tests in every
 * build, with gcc and without sanitizers too. */
#define _XOPEN_SOURCE 700
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

typedef struct list {
    char **v;
    size_t n, cap;
} list;

static void die(const char *what, const char *path)
{
    fprintf(stderr, "fuzz-driver: %s: %s: %s\n", path, what, strerror(errno));
    exit(2);
}

static void push(list *l, const char *path)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 64;
        l->v = realloc(l->v, l->cap * sizeof(*l->v));
        if (l->v == NULL) {
            die("out of memory", path);
        }
    }
    l->v[l->n] = strdup(path);
    if (l->v[l->n] == NULL) {
        die("out of memory", path);
    }
    l->n++;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void add_path(list *l, const char *path)
{
    struct stat st;
    DIR *d;
    struct dirent *de;
    size_t first = l->n;

    if (stat(path, &st) != 0) {
        die("cannot stat", path);
    }
    if (!S_ISDIR(st.st_mode)) {
        push(l, path);
        return;
    }
    d = opendir(path);
    if (d == NULL) {
        die("cannot open directory", path);
    }
    while ((de = readdir(d)) != NULL) {
        size_t n = strlen(path) + strlen(de->d_name) + 2;
        char *p;
        if (de->d_name[0] == '.') {
            continue; /* ".", "..", and hidden files such as .gitkeep */
        }
        p = malloc(n);
        if (p == NULL) {
            die("out of memory", path);
        }
        snprintf(p, n, "%s/%s", path, de->d_name);
        if (stat(p, &st) == 0 && S_ISREG(st.st_mode)) {
            push(l, p);
        }
        free(p);
    }
    closedir(d);
    qsort(l->v + first, l->n - first, sizeof(*l->v), cmp_str);
}

static uint8_t *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    size_t cap = 0, n = 0;

    if (f == NULL) {
        die("cannot open", path);
    }
    for (;;) {
        size_t got;
        if (n == cap) {
            cap = cap ? 2 * cap : 4096;
            buf = realloc(buf, cap);
            if (buf == NULL) {
                die("out of memory", path);
            }
        }
        got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) {
            break;
        }
    }
    if (ferror(f)) {
        die("read error", path);
    }
    fclose(f);
    *len = n;
    return buf;
}

int main(int argc, char **argv)
{
    list l = { NULL, 0, 0 };
    size_t i;
    int a;

    for (a = 1; a < argc; a++) {
        add_path(&l, argv[a]);
    }
    if (l.n == 0) {
        /* An empty corpus would make this test pass without testing. */
        fprintf(stderr, "fuzz-driver: no input files\n");
        return 2;
    }
    printf("1..%zu\n", l.n);
    fflush(stdout);
    for (i = 0; i < l.n; i++) {
        size_t len;
        uint8_t *data = read_all(l.v[i], &len);
        /* Exact size so ASan sees reads past the end, as under libFuzzer. */
        uint8_t *exact = malloc(len ? len : 1);
        if (exact == NULL) {
            die("out of memory", l.v[i]);
        }
        memcpy(exact, data, len);
        free(data);
        LLVMFuzzerTestOneInput(exact, len);
        free(exact);
        printf("ok %zu - %s\n", i + 1, l.v[i]);
        fflush(stdout);
        free(l.v[i]);
    }
    free(l.v);
    return 0;
}
