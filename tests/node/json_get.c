/* json-get FIELD...: for every line of stdin, which must be one JSON
 * object, print the named fields tab-separated (strings bare, anything
 * else as compact JSON). A dotted FIELD ("stage_ns.verify") walks nested
 * objects. Exit 1 naming the line and field when a line does not parse or
 * a field is missing; 2 on usage errors. Used by the shell tests to check
 * `parex bench --json` without a JSON tool outside .ci/deps. */
#include <jansson.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const json_t *lookup(const json_t *o, const char *path)
{
    char buf[256];
    char *p = buf, *dot;

    if (strlen(path) >= sizeof(buf)) {
        return NULL;
    }
    strcpy(buf, path);
    while ((dot = strchr(p, '.')) != NULL) {
        *dot = '\0';
        o = json_object_get(o, p);
        if (!json_is_object(o)) {
            return NULL;
        }
        p = dot + 1;
    }
    return json_object_get(o, p);
}

int main(int argc, char **argv)
{
    char line[1 << 16];
    unsigned long n = 0;
    int i;

    if (argc < 2) {
        fprintf(stderr, "usage: json-get FIELD...\n");
        return 2;
    }
    while (fgets(line, sizeof(line), stdin) != NULL) {
        json_error_t e;
        json_t *o;

        n++;
        o = json_loads(line, 0, &e);
        if (!json_is_object(o)) {
            fprintf(stderr, "line %lu: not a JSON object: %s\n", n, e.text);
            json_decref(o);
            return 1;
        }
        for (i = 1; i < argc; i++) {
            const json_t *v = lookup(o, argv[i]);
            char *s;
            if (v == NULL) {
                fprintf(stderr, "line %lu: no field '%s'\n", n, argv[i]);
                json_decref(o);
                return 1;
            }
            if (json_is_string(v)) {
                fputs(json_string_value(v), stdout);
            } else {
                s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT
                    | JSON_SORT_KEYS);
                fputs(s == NULL ? "?" : s, stdout);
                free(s);
            }
            fputc(i + 1 < argc ? '\t' : '\n', stdout);
        }
        json_decref(o);
    }
    if (n == 0) {
        fprintf(stderr, "no input lines\n");
        return 1;
    }
    return 0;
}
