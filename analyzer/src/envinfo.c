/*
 * Interpreter facts (see envinfo.h). The interpreter prints one fact per line:
 *
 *   version <X.Y.Z>
 *   executable <path>
 *   site <site-packages directory>
 *   stdlib <top-level module name>
 *   builtin <module compiled into the interpreter: found before any sys.path entry>
 *   top <top-level importable name> <distribution or ->
 *   dist <normalised distribution name> <version>   (the first of a name on sys.path)
 *
 * The cache file is that output behind a header of stamps; it is used while every stamp
 * (interpreter binary, site directories: path, size, mtime_ns) still matches:
 *
 *   aftershock-envinfo <format version>
 *   stamp <mtime_ns> <size> <path>
 *   ...
 *   end
 */
#include "envinfo.h"

#include "hash.h"
#include "names.h"
#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ENVINFO_FORMAT 4

static const char probe[] =
    "import os, re, sys\n"
    "print('version', sys.version.split()[0])\n"
    "print('executable', sys.executable)\n"
    "sites = [p for p in sys.path if p and os.path.isdir(p) and\n"
    "         os.path.basename(p) in ('site-packages', 'dist-packages')]\n"
    "for p in sites: print('site', p)\n"
    "for n in sorted(set(sys.stdlib_module_names) | {'__main__'}): print('stdlib', n)\n"
    "for n in sorted(sys.builtin_module_names): print('builtin', n)\n"
    "seen = set()\n"
    "try:\n"
    "    import importlib.metadata as md\n"
    "    for top, dists in sorted(md.packages_distributions().items()):\n"
    "        if top.isidentifier(): seen.add(top); print('top', top, dists[0])\n"
    "    found = {}\n"
    "    for d in md.distributions():\n"
    "        name = re.sub(r'[-_.]+', '-', (d.metadata['Name'] or '')).lower()\n"
    "        if name and name not in found: found[name] = d.version\n"
    "    for name in sorted(found): print('dist', name, found[name])\n"
    "except Exception: pass\n"
    "for p in sites:\n"
    "    for e in sorted(os.listdir(p)):\n"
    "        n = e.split('.')[0]\n"
    "        if n.isidentifier() and n not in seen and not e.endswith(('.dist-info', '.egg-info', "
    "'.pth')):\n"
    "            seen.add(n); print('top', n, '-')\n";

struct ash_envinfo {
    int available;
    char *version;
    char *python;
    ash_name *stdlib;
    ash_name *builtin;
    ash_name *top;
    char *text; /* the facts, kept for the cache file */
};

int ash__envinfo_available(const ash_envinfo *env)
{
    return env && env->available;
}

const char *ash__envinfo_version(const ash_envinfo *env)
{
    return env && env->version ? env->version : "";
}

const char *ash__envinfo_facts(const ash_envinfo *env)
{
    return env && env->text ? env->text : "";
}

const char *ash__envinfo_python(const ash_envinfo *env)
{
    return env && env->python ? env->python : "";
}

void ash__envinfo_free(ash_envinfo *env)
{
    if (!env) {
        return;
    }
    ash__names_free(&env->stdlib);
    ash__names_free(&env->builtin);
    ash__names_free(&env->top);
    ash__free(env->version);
    ash__free(env->python);
    ash__free(env->text);
    ash__free(env);
}

/* Read the fact lines of `text` into env. */
static int parse_facts(ash_envinfo *env, char *text)
{
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *sp = strchr(line, ' ');
        if (!sp) {
            continue;
        }
        *sp = '\0';
        char *arg = sp + 1;
        int rc = 0;
        if (strcmp(line, "version") == 0) {
            ash__free(env->version);
            rc = (env->version = ash__strdup(arg)) ? 0 : ash__error_oom();
        } else if (strcmp(line, "stdlib") == 0) {
            rc = ash__names_add(&env->stdlib, arg, strlen(arg), NULL);
        } else if (strcmp(line, "builtin") == 0) {
            rc = ash__names_add(&env->builtin, arg, strlen(arg), NULL);
        } else if (strcmp(line, "top") == 0) {
            char *d = strchr(arg, ' ');
            if (d) {
                *d++ = '\0';
            }
            rc = ash__names_add(&env->top, arg, strlen(arg), d && strcmp(d, "-") != 0 ? d : NULL);
        }
        *sp = ' ';
        if (rc < 0) {
            return rc;
        }
    }
    return 0;
}

/* "stamp <mtime_ns> <size> <path>" for a file or directory into buf; 0 if it exists. */
static int stamp(ash_buf *buf, const char *path)
{
    struct stat st;
    if (stat(path, &st) < 0) {
        return -1;
    }
    long long ns = (long long)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
    return ash__buf_printf(buf, "stamp %lld %lld %s\n", ns, (long long)st.st_size, path) < 0 ? -2
                                                                                             : 0;
}

/* The stamp header for the facts in text (interpreter + site directories). */
static int stamps_for(ash_buf *buf, const char *python, const char *text)
{
    if (ash__buf_printf(buf, "aftershock-envinfo %d\n", ENVINFO_FORMAT) < 0 ||
        stamp(buf, python) == -2) {
        return ASH_ENOMEM;
    }
    for (const char *p = text; p && *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        if (n > 5 && memcmp(p, "site ", 5) == 0) {
            char *dir = ash__strndup(p + 5, n - 5);
            int rc = dir ? stamp(buf, dir) : -2;
            ash__free(dir);
            if (rc == -2) {
                return ASH_ENOMEM;
            }
        }
        p = nl ? nl + 1 : NULL;
    }
    return ash__buf_puts(buf, "end\n");
}

static char *cache_path(const char *cache_dir, const char *python)
{
    ash_hash h = ash__hash_bytes(python, strlen(python));
    char hex[33], name[64];
    ash__hash_hex(&h, hex);
    snprintf(name, sizeof(name), "python-%.16s.txt", hex);
    return ash__path_join(cache_dir, name);
}

/* The cached facts if every stamp still matches; owned, or NULL. */
static char *read_cache(const char *file, const char *python)
{
    char *data;
    size_t len;
    if (ash__read_file(&data, &len, file, 16 << 20) < 0) {
        return NULL;
    }
    char *end = strstr(data, "\nend\n");
    if (!end) {
        ash__free(data);
        return NULL;
    }
    char *facts = end + 5;
    ash_buf expect = ASH_BUF_INIT;
    int ok = stamps_for(&expect, python, facts) == 0 && expect.len == (size_t)(facts - data) &&
             memcmp(expect.ptr, data, expect.len) == 0;
    ash__buf_free(&expect);
    if (!ok) {
        ash__free(data);
        return NULL;
    }
    memmove(data, facts, len - (size_t)(facts - data) + 1);
    return data;
}

/* Write the cache file atomically; failures only cost the next run a probe. */
static void write_cache(const char *file, const char *python, const char *facts)
{
    ash_buf buf = ASH_BUF_INIT;
    if (stamps_for(&buf, python, facts) == 0 && ash__buf_puts(&buf, facts) == 0) {
        ash__write_atomic(file, buf.ptr, buf.len);
    }
    ash__buf_free(&buf);
}

static int probe_python(char **facts, const char *python, ash_diag_fn diag, void *payload)
{
    char *argv[] = {(char *)python, "-c", (char *)probe, NULL};
    char err[256];
    size_t len;
    int status;
    *facts = NULL;
    /* From "/": run in the project, `python -c` would put the project first on sys.path, and a
     * project module named like a stdlib one (csv.py) would be imported, and run, in its place. */
    int rc = ash__run_capture(facts, &len, &status, argv, "/", err, sizeof(err), 60000);
    if (rc == ASH_ENOMEM) {
        return rc;
    }
    if (rc < 0 || status != 0) {
        ash__diag(diag, payload, NULL,
                  "%s: cannot ask the interpreter for its modules (%s); standard-library and "
                  "third-party imports are not classified",
                  python, rc < 0 ? ash_error_last() : (err[0] ? err : "it failed"));
        ash__free(*facts);
        *facts = NULL;
    }
    return 0;
}

int ash__envinfo_load(ash_envinfo **out, const char *python, const char *cache_dir,
                      ash_diag_fn diag, void *payload)
{
    *out = NULL;
    int rc = 0;
    char *path = ash__which(python), *file = NULL, *facts = NULL;
    if (!path) {
        ash__diag(diag, payload, NULL,
                  "%s: interpreter not found; standard-library and third-party imports are not "
                  "classified",
                  python);
        goto unavailable;
    }
    file = cache_dir ? cache_path(cache_dir, path) : NULL;
    facts = file ? read_cache(file, path) : NULL;
    if (!facts) {
        if ((rc = probe_python(&facts, path, diag, payload)) < 0 || !facts) {
            goto unavailable;
        }
        if (file) {
            write_cache(file, path, facts);
        }
    }
    rc = ash__envinfo_from_facts(out, path, facts);
    goto done;
unavailable:
    /* an interpreter that cannot answer is no error: it just knows nothing */
    if (rc == 0 && !(*out = ash__calloc(1, sizeof(**out)))) {
        rc = ash__error_oom();
    }
    if (rc == 0 && path && !((*out)->python = ash__strdup(path))) {
        rc = ash__error_oom();
    }
done:
    ash__free(path);
    ash__free(file);
    ash__free(facts);
    if (rc < 0) {
        ash__envinfo_free(*out);
        *out = NULL;
    }
    return rc;
}

int ash__envinfo_from_facts(ash_envinfo **out, const char *python, const char *facts)
{
    *out = NULL;
    ash_envinfo *env = ash__calloc(1, sizeof(*env));
    char *copy = ash__strdup(facts);
    int rc = env && copy && (env->python = ash__strdup(python)) && (env->text = ash__strdup(facts))
                 ? parse_facts(env, copy)
                 : ash__error_oom();
    ash__free(copy);
    if (rc < 0) {
        ash__envinfo_free(env);
        return rc;
    }
    env->available = 1;
    *out = env;
    return 0;
}

int ash__envinfo_is_builtin(const ash_envinfo *env, const char *name, size_t len)
{
    return env && env->available && ash__names_find(env->builtin, name, len) != NULL;
}

ash_origin ash__envinfo_classify(const ash_envinfo *env, const char *name, size_t len,
                                 const char **dist)
{
    *dist = NULL;
    if (!env || !env->available) {
        return ASH_ORIGIN_UNKNOWN;
    }
    if (ash__names_find(env->stdlib, name, len)) {
        return ASH_ORIGIN_STDLIB;
    }
    ash_name *e = ash__names_find(env->top, name, len);
    if (e) {
        *dist = e->value;
        return ASH_ORIGIN_THIRD_PARTY;
    }
    return ASH_ORIGIN_UNKNOWN;
}
