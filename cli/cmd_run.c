/*
 * `aftershock run [-j N] [--cov[=SOURCE]] [--no-cache] [--force] [--isolate] [--junitxml PATH]
 * [-- PYTEST_ARGS]`: the result of the whole test suite, running only the test modules whose
 * inputs changed since they last passed and replaying the others from the result cache, with
 * one merged JUnit file and one coverage report covering both. Exit statuses are pytest's.
 */
#include "affected.h"
#include "changes.h"
#include "cli.h"
#include "embedded.h"
#include "plan_file.h"
#include "project.h"
#include "rcache.h"
#include "runner.h"
#include "session.h"
#include "shard.h"
#include "share_cli.h"
#include "state.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* pytest's exit statuses */
enum { RUN_OK = 0, RUN_FAILED = 1, RUN_INTERRUPTED = 2, RUN_INTERNAL = 3, RUN_USAGE = 4 };

enum {
    OPT_COV = 1,
    OPT_FORCE,
    OPT_ISOLATE,
    OPT_JUNIT,
    OPT_COV_XML,
    OPT_STAGED,
    OPT_SINCE,
    OPT_MODULE_TIMEOUT,
    OPT_REMOTE_WRITE,
    OPT_CACHE_SUMMARY,
    OPT_SHARD,
    OPT_PLAN,
};

/* What becomes of a test module in this run. */
enum { FATE_RUN = 0, FATE_REPLAYED = 1, FATE_UNAFFECTED = 2, FATE_OTHER_SHARD = 3 };

static const cli_option options[] = {
    {OPT_COV, "cov", 0, CLI_OPTIONAL_ARG, "SOURCE",
     "measure coverage with coverage.py (of SOURCE, comma-separated; default: its config)"},
    {OPT_COV_XML, "cov-xml", 0, CLI_REQUIRED_ARG, "PATH",
     "where --cov writes its XML report (default: coverage.xml in the root)"},
    {OPT_JUNIT, "junitxml", 0, CLI_REQUIRED_ARG, "PATH",
     "write one JUnit XML file of every module, run or replayed"},
    {OPT_FORCE, "force", 0, CLI_NO_ARG, NULL, "run every module (and cache the results)"},
    {OPT_ISOLATE, "isolate", 0, CLI_NO_ARG, NULL,
     "run each module in its own pytest process (default: batches per worker)"},
    {OPT_MODULE_TIMEOUT, "module-timeout", 0, CLI_REQUIRED_ARG, "SECONDS",
     "stop a module that runs longer (collection included): it is reported crashed"},
    {OPT_STAGED, "staged", 0, CLI_NO_ARG, NULL,
     "only the modules the staged changes affect (a pre-commit hook)"},
    {OPT_SINCE, "since", 0, CLI_REQUIRED_ARG, "REF",
     "only the modules the changes since git revision REF affect"},
    {OPT_REMOTE_WRITE, "remote-write", 0, CLI_NO_ARG, NULL,
     "upload the passes and the state to the shared cache, in the own scope"},
    {OPT_CACHE_SUMMARY, "cache-summary", 0, CLI_REQUIRED_ARG, "PATH",
     "write a JSON summary of the cache hits per scope to PATH (- for stdout)"},
    {OPT_SHARD, "shard", 0, CLI_REQUIRED_ARG, "K/N",
     "run shard K of N: with --plan, the plan's; else every N-th module in path order"},
    {OPT_PLAN, "plan", 0, CLI_REQUIRED_ARG, "FILE",
     "the JSON of `aftershock plan --shards N --json`, for --shard"},
    CLI_SHARE_OPTIONS,
    CLI_PROJECT_OPTIONS,
    {0},
};

const cli_command cli_run_command = {
    .name = "run",
    .args = "[-- PYTEST_ARGS]",
    .summary = "Run the test modules whose inputs changed; replay the others' results.",
    .options = options,
    .run = cmd_run,
};

typedef struct run_args {
    ash_project_options project;
    ash_strings pytest_args;
    const char *cov; /* NULL: off */
    char *cov_source;
    const char *cov_xml;
    const char *junit;
    char *junit_arg, *cov_arg; /* taken from the pytest arguments */
    int force;
    int isolate;
    double module_timeout; /* 0: none */
    int staged;
    const char *since;
    const char *cache_summary;
    cli_share share;
    unsigned shard, shards; /* --shard K/N; 0: all */
    const char *plan_path;
} run_args;

/* What happened to each module, and the totals. */
typedef struct run_state {
    ash_session *session;
    const cli_diag *diag;
    size_t total, to_run, done, replayed, failed_modules, unaffected;
    size_t other_shards; /* of the unaffected: left to other shards */
    uint64_t counts[ASH_COUNT_KINDS];
    ash_result *results; /* per suite module */
    uint8_t *fate;       /* FATE_* per suite module */
    size_t *run_index;   /* runner item -> suite module */
    struct timespec start;
    int tty;
    int progress_shown;
} run_state;

static int parse(const cli_command *cmd, int argc, char **argv, run_args *a, cli_diag *diag)
{
    cli_parser p;
    int opt;
    cli_parser_init(&p, cmd, argc, argv);
    while ((opt = cli_next(&p)) != CLI_END) {
        switch (opt) {
        case OPT_COV:
            a->cov = p.value ? p.value : "";
            break;
        case OPT_COV_XML:
            a->cov_xml = p.value;
            break;
        case OPT_JUNIT:
            a->junit = p.value;
            break;
        case OPT_FORCE:
            a->force = 1;
            break;
        case OPT_ISOLATE:
            a->isolate = 1;
            break;
        case OPT_STAGED:
            a->staged = 1;
            break;
        case OPT_SINCE:
            a->since = p.value;
            break;
        case OPT_REMOTE_WRITE:
            a->share.write = 1;
            break;
        case OPT_CACHE_SUMMARY:
            a->cache_summary = p.value;
            break;
        case OPT_SHARD:
            if (ash__shard_parse(p.value, &a->shard, &a->shards) < 0) {
                return cli_usage_error(cmd, "--shard: %s", ash_error_last());
            }
            break;
        case OPT_PLAN:
            a->plan_path = p.value;
            break;
        case OPT_MODULE_TIMEOUT: {
            char *end;
            a->module_timeout = strtod(p.value, &end);
            if (*p.value == '\0' || *end != '\0' || !(a->module_timeout > 0) ||
                a->module_timeout > 1e6) {
                return cli_usage_error(cmd, "--module-timeout needs a number of seconds, not '%s'",
                                       p.value);
            }
            break;
        }
        case CLI_POSITIONAL:
            if (ash__strings_add(&a->pytest_args, p.value, strlen(p.value)) < 0) {
                return cli_fail(ASH_ENOMEM);
            }
            break;
        case CLI_HELP:
            return -1;
        case CLI_USAGE:
            return RUN_USAGE;
        default:
            if (cli_share_option(&a->share, opt, p.value)) {
                break;
            }
            if (cli_project_option(cmd, opt, p.value, &a->project, diag) <= 0) {
                return RUN_USAGE;
            }
        }
    }
    if (a->staged && a->since) {
        cli_usage_error(cmd, "--staged and --since cannot be used together");
        return RUN_USAGE;
    }
    if (a->plan_path && !a->shards) {
        cli_usage_error(cmd, "--plan needs --shard K/N");
        return RUN_USAGE;
    }
    /* pytest's own spellings of what run does itself: --junitxml=PATH, --cov[=SOURCE] */
    size_t kept = 0;
    for (size_t i = 0; i < a->pytest_args.count; i++) {
        char *arg = a->pytest_args.items[i];
        char **into = NULL;
        if (strncmp(arg, "--junitxml=", 11) == 0 || strncmp(arg, "--junit-xml=", 12) == 0) {
            into = &a->junit_arg;
        } else if (strcmp(arg, "--cov") == 0 || strncmp(arg, "--cov=", 6) == 0) {
            into = &a->cov_arg;
        }
        if (!into) {
            a->pytest_args.items[kept++] = arg;
            continue;
        }
        ash__free(*into);
        *into = arg; /* owned now */
    }
    a->pytest_args.count = kept;
    if (a->junit_arg) {
        a->junit = strchr(a->junit_arg, '=') + 1;
    }
    if (a->cov_arg) {
        a->cov = a->cov_arg[5] ? a->cov_arg + 6 : "";
    }
    /* coverage sources "a,b" become os.pathsep-separated, as the plugin wants them */
    if (a->cov && *a->cov) {
        if (!(a->cov_source = strdup(a->cov))) {
            return cli_fail(ASH_ENOMEM);
        }
        for (char *c = a->cov_source; *c; c++) {
            *c = *c == ',' ? ':' : *c;
        }
        a->cov = a->cov_source;
    }
    return 0;
}

/* pytest-xdist's `-n N` among the pytest arguments: aftershock's workers stand in for xdist's
 * (each worker switches xdist off, see aftershock_worker.py), so N becomes the job count. 0
 * when absent, "auto" or "logical" (all cores, the default anyway). */
static int xdist_jobs(const ash_strings *args)
{
    for (size_t i = 0; i < args->count; i++) {
        const char *arg = args->items[i], *value = NULL;
        if (strcmp(arg, "-n") == 0 || strcmp(arg, "--numprocesses") == 0) {
            value = i + 1 < args->count ? args->items[i + 1] : NULL;
        } else if (strncmp(arg, "--numprocesses=", 15) == 0) {
            value = arg + 15;
        } else if (strncmp(arg, "-n", 2) == 0 && arg[2] >= '0' && arg[2] <= '9') {
            value = arg + 2;
        }
        char *end;
        long n = value ? strtol(value, &end, 10) : 0;
        if (value && *end == '\0' && n > 0 && n <= 4096) {
            return (int)n;
        }
    }
    return 0;
}

static double elapsed(const run_state *st)
{
    return cli_elapsed(&st->start);
}

static void clear_progress(run_state *st)
{
    if (st->progress_shown) {
        fputs("\r\033[K", stderr);
        st->progress_shown = 0;
    }
}

static void show_progress(run_state *st)
{
    if (!st->tty || st->diag->quiet) {
        return;
    }
    fprintf(stderr, "\r\033[K[%zu/%zu] %zu replayed, %zu failed, %.1fs", st->done + st->replayed,
            st->total - st->unaffected, st->replayed, st->failed_modules, elapsed(st));
    fflush(stderr);
    st->progress_shown = 1;
}

static const char *outcome_name(ash_outcome o)
{
    static const char *const names[] = {"passed", "failed", "error", "crashed"};
    return names[o];
}

static void on_progress(void *payload, size_t index, const ash_result *r)
{
    run_state *st = payload;
    st->done++;
    st->failed_modules += r->outcome != ASH_OUTCOME_PASSED;
    if (st->tty) {
        show_progress(st);
    } else if (!st->diag->quiet) {
        const char *path = ash_graph_node_path(
            st->session->graph, st->session->suite.modules[st->run_index[index]].node);
        fprintf(stderr, "aftershock: %s %s (%.2fs) [%zu/%zu]\n", path, outcome_name(r->outcome),
                r->duration, st->done, st->to_run);
    }
}

/* One JUnit document of every module's <testcase> elements, run or replayed. */
static int write_junit(const run_state *st, const char *path)
{
    uint64_t tests = 0, failures = 0, errors = 0, skipped = 0;
    double seconds = 0;
    for (size_t i = 0; i < st->total; i++) {
        const ash_result *r = &st->results[i];
        if (!r->module) {
            continue;
        }
        tests += r->counts[ASH_COUNT_PASSED] + r->counts[ASH_COUNT_FAILED] +
                 r->counts[ASH_COUNT_SKIPPED] + r->counts[ASH_COUNT_XFAILED] +
                 r->counts[ASH_COUNT_XPASSED] + r->counts[ASH_COUNT_ERRORS];
        failures += r->counts[ASH_COUNT_FAILED];
        errors += r->counts[ASH_COUNT_ERRORS];
        skipped += r->counts[ASH_COUNT_SKIPPED] + r->counts[ASH_COUNT_XFAILED];
        seconds += r->duration;
    }
    ash_buf doc = ASH_BUF_INIT;
    char host[256] = "localhost", stamp[32];
    gethostname(host, sizeof(host) - 1);
    time_t now = time(NULL);
    strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", localtime(&now));
    int rc = ash__buf_printf(
        &doc,
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<testsuites name=\"pytest "
        "tests\"><testsuite name=\"pytest\" errors=\"%llu\" failures=\"%llu\" "
        "skipped=\"%llu\" tests=\"%llu\" time=\"%.3f\" timestamp=\"%s\" "
        "hostname=\"%s\">",
        (unsigned long long)errors, (unsigned long long)failures, (unsigned long long)skipped,
        (unsigned long long)tests, seconds, stamp, host);
    for (size_t i = 0; rc == 0 && i < st->total; i++) {
        const ash_result *r = &st->results[i];
        if (r->module && r->junit.len) {
            rc = ash__buf_put(&doc, r->junit.ptr, r->junit.len);
        }
    }
    if (rc == 0) {
        rc = ash__buf_puts(&doc, "</testsuite></testsuites>\n");
    }
    if (rc == 0) {
        rc = ash__write_atomic(path, doc.ptr, doc.len);
    }
    ash__buf_free(&doc);
    return rc;
}

/* Combine every module's coverage data (run or replayed) into .coverage, coverage.xml and
 * coverage's terminal report, with the embedded report script. */
static int write_coverage(const run_state *st, const run_args *a, const char *python,
                          const char *plugin_dir, const char *work_dir)
{
    const char *root = ash_project_root(st->session->project);
    ash_buf list = ASH_BUF_INIT;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < st->total; i++) {
        const ash_result *r = &st->results[i];
        if (!r->module || r->coverage.len == 0) {
            continue;
        }
        char name[48];
        snprintf(name, sizeof(name), "coverage-%zu.json", i);
        char *path = ash__path_join(work_dir, name);
        rc = path ? ash__write_atomic(path, r->coverage.ptr, r->coverage.len) : ASH_ENOMEM;
        if (rc == 0) {
            rc = ash__buf_printf(&list, "%s\n", path);
        }
        ash__free(path);
    }
    char *listfile = ash__path_join(work_dir, "coverage-files.txt");
    char *script = ash__path_join(plugin_dir, "aftershock_report.py");
    char *xml = a->cov_xml ? ash__strdup(a->cov_xml) : ash__path_join(root, "coverage.xml");
    if (rc == 0 && (!listfile || !script || !xml)) {
        rc = ASH_ENOMEM;
    }
    if (rc == 0) {
        rc = ash__write_atomic(listfile, list.ptr ? list.ptr : "", list.len);
    }
    if (rc == 0) {
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
            if (!freopen(listfile, "r", stdin) || chdir(root) != 0) {
                _exit(127);
            }
            execlp(python, python, script, "--root", root, "--xml", xml, (char *)NULL);
            _exit(127);
        }
        int status = 0;
        while (pid > 0 && waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
        if (pid < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            rc = ash__error(ASH_ECHILD, "the coverage report failed (%s)", script);
        }
    }
    ash__free(listfile);
    ash__free(script);
    ash__free(xml);
    ash__buf_free(&list);
    return rc;
}

/* Save what this run learnt: the environment's fields, and per module its inputs key,
 * outcome and duration (merged with the file on disk, so a concurrent run's modules stay). */
static void save_state(const run_state *st, const char *cache_dir, cli_diag *diag)
{
    const ash_suite *suite = &st->session->suite;
    char *path = ash__last_run_path(cache_dir);
    ash_state_update *updates = ash__calloc(st->total + 1, sizeof(*updates));
    size_t n = 0;
    for (size_t i = 0; updates && i < st->total; i++) {
        const ash_result *r = &st->results[i];
        if (r->module) {
            updates[n++] =
                (ash_state_update){r->module, suite->modules[i].inputs, r->outcome, r->duration};
        }
    }
    if (!path || !updates ||
        ash__state_merge_save(path, &suite->env, updates, n, cli_diag_print, diag) < 0) {
        cli_diag_print(NULL, ash_error_last(), diag);
    }
    ash__free(updates);
    ash__free(path);
}

/* Remove `dir` and everything below it, its entry named `last` (if any) last of all: a run
 * killed while removing its scratch directory leaves it locked until the very end. */
static void remove_tree_last(const char *dir, const char *last)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
            (last && strcmp(e->d_name, last) == 0)) {
            continue;
        }
        char *path = ash__path_join(dir, e->d_name);
        struct stat sb;
        if (path && lstat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
            remove_tree_last(path, NULL);
        } else if (path) {
            unlink(path);
        }
        ash__free(path);
    }
    if (d) {
        closedir(d);
    }
    char *path = last ? ash__path_join(dir, last) : NULL;
    if (path) {
        unlink(path);
    }
    ash__free(path);
    rmdir(dir);
}

#define WORK_PREFIX "aftershock-"
#define WORK_STALE_SECONDS 60

/* Held (flock) on DIR/.lock while the run that made DIR lives: the kernel lets it go when the
 * run ends, however it ends. A run killed by SIGKILL cannot remove its directory; a later
 * run does, in sweep_stale_work_dirs. */
static int work_lock_fd = -1;

/* Is `name` one of make_work_dir's directory names? */
static int is_work_dir_name(const char *name)
{
    return strncmp(name, WORK_PREFIX, sizeof(WORK_PREFIX) - 1) == 0 &&
           strlen(name) == sizeof(WORK_PREFIX) - 1 + 6;
}

/* Remove `path` if it is a stale scratch directory: ours (same owner), older than a minute
 * (one in the making has no lock yet), with a lock file nobody holds. A lock works across
 * PID namespaces that share the directory; a pid would not. */
static void sweep_if_stale(const char *path, time_t now)
{
    struct stat sb;
    if (lstat(path, &sb) < 0 || !S_ISDIR(sb.st_mode) || sb.st_uid != geteuid() ||
        now - sb.st_mtime < WORK_STALE_SECONDS) {
        return;
    }
    char *lock = ash__path_join(path, ".lock");
    int fd = lock ? open(lock, O_RDONLY | O_NOFOLLOW | O_CLOEXEC) : -1;
    if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0) {
        remove_tree_last(path, ".lock");
    } else if (fd < 0 && errno == ENOENT) {
        /* no lock: killed before making it, or after removing everything but the directory;
         * either way empty, and rmdir removes nothing else */
        rmdir(path);
    }
    if (fd >= 0) {
        close(fd);
    }
    ash__free(lock);
}

static void sweep_stale_work_dirs(const char *tmp)
{
    DIR *d = opendir(tmp);
    struct dirent *e;
    time_t now = time(NULL);
    while (d && (e = readdir(d))) {
        char *path = is_work_dir_name(e->d_name) ? ash__path_join(tmp, e->d_name) : NULL;
        if (path) {
            sweep_if_stale(path, now);
        }
        ash__free(path);
    }
    if (d) {
        closedir(d);
    }
}

/* A private scratch directory for one run's worker files, locked while the run lives. */
static char *make_work_dir(void)
{
    const char *tmp = getenv("TMPDIR");
    tmp = tmp && *tmp ? tmp : "/tmp";
    sweep_stale_work_dirs(tmp);
    char *dir = ash__path_join(tmp, WORK_PREFIX "XXXXXX");
    if (dir && !mkdtemp(dir)) {
        ash__error(ASH_EIO, "cannot create a temporary directory in %s: %s", tmp, strerror(errno));
        ash__free(dir);
        return NULL;
    }
    char *lock = dir ? ash__path_join(dir, ".lock") : NULL;
    if (lock) {
        work_lock_fd = open(lock, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (work_lock_fd >= 0 && flock(work_lock_fd, LOCK_EX) < 0) {
            close(work_lock_fd);
            work_lock_fd = -1;
        }
    }
    ash__free(lock);
    return dir;
}

/* Remove the run's scratch directory, then let its lock go. */
static void remove_work_dir(const char *dir)
{
    remove_tree_last(dir, ".lock");
    if (work_lock_fd >= 0) {
        close(work_lock_fd);
        work_lock_fd = -1;
    }
}

/* The cached result of module i, if it passed with the same inputs. */
static int replay(run_state *st, ash_rcache *cache, size_t i)
{
    int passed;
    const ash_test_module *m = &st->session->suite.modules[i];
    if (ash__rcache_get_pass(cache, &m->inputs, ash_graph_node_path(st->session->graph, m->node),
                             &st->results[i], &passed) < 0) {
        return ASH_ENOMEM;
    }
    if (passed) {
        st->fate[i] = FATE_REPLAYED;
        st->replayed++;
    }
    return passed;
}

static void add_counts(uint64_t *totals, const ash_result *r)
{
    for (int k = 0; k < ASH_COUNT_KINDS; k++) {
        totals[k] += r->counts[k];
    }
}

/* The suite indices of the modules to run whose results can be cached, into `*out` (owned);
 * their count, or (size_t)-1 when out of memory. */
static size_t cacheable_to_run(const run_state *st, size_t **out)
{
    size_t n = 0;
    if (!(*out = ash__calloc(st->total + 1, sizeof(size_t)))) {
        return (size_t)-1;
    }
    for (size_t i = 0; i < st->total; i++) {
        if (st->fate[i] == FATE_RUN && ash__session_cacheable(st->session, i)) {
            (*out)[n++] = i;
        }
    }
    return n;
}

/* Look up in the shared cache the modules the local one missed; hits are replayed. */
static int replay_remote(run_state *st, cli_share *sh, ash_rcache *cache)
{
    if (!sh->remote) {
        return 0;
    }
    size_t *idx;
    size_t n = cacheable_to_run(st, &idx);
    int *hit = n != (size_t)-1 ? ash__calloc(n + 1, sizeof(int)) : NULL;
    int rc =
        hit ? cli_share_lookup(sh, st->session, cache, idx, n, st->results, hit) : ash__error_oom();
    for (size_t k = 0; rc == 0 && k < n; k++) {
        if (hit[k]) {
            st->fate[idx[k]] = FATE_REPLAYED;
            st->replayed++;
            add_counts(st->counts, &st->results[idx[k]]);
        }
    }
    ash__free(hit);
    ash__free(idx);
    return rc;
}

/* With --remote-write: share what ran (passes stored, failures' entries forgotten). */
static void upload_results(const run_state *st, cli_share *sh)
{
    size_t *idx, n = 0;
    if (!sh->remote || !sh->write || (n = cacheable_to_run(st, &idx)) == (size_t)-1) {
        return;
    }
    size_t kept = 0;
    for (size_t k = 0; k < n; k++) {
        if (st->results[idx[k]].module) { /* it ran to the end */
            idx[kept++] = idx[k];
        }
    }
    cli_share_upload(sh, st->session, st->results, idx, kept);
    ash__free(idx);
}

/* Expected durations from the last run; modules never seen get the mean. */
static void expect_durations(ash_run_item *items, size_t n, const ash_run_state *state)
{
    double sum = 0;
    size_t known = 0;
    for (size_t k = 0; k < n; k++) {
        const ash_state_module *m = ash__state_find(state, items[k].path);
        items[k].expected = m ? m->duration : -1;
        if (m) {
            sum += m->duration;
            known++;
        }
    }
    for (size_t k = 0; k < n; k++) {
        if (items[k].expected < 0) {
            items[k].expected = known ? sum / (double)known : 1.0;
        }
    }
}

/* "3 passed, 1 failed, 2 skipped in 1.23s" the way pytest words it. */
static void print_summary(const run_state *st, size_t unrun)
{
    static const char *const words[ASH_COUNT_KINDS] = {"passed", "failed",  "skipped",
                                                       "errors", "xfailed", "xpassed"};
    static const int order[] = {ASH_COUNT_FAILED,  ASH_COUNT_PASSED,  ASH_COUNT_SKIPPED,
                                ASH_COUNT_XFAILED, ASH_COUNT_XPASSED, ASH_COUNT_ERRORS};
    char line[512];
    size_t n = 0;
    for (size_t k = 0; k < ASH_ARRAY_SIZE(order); k++) {
        uint64_t c = st->counts[order[k]];
        const char *word = order[k] == ASH_COUNT_ERRORS && c == 1 ? "error" : words[order[k]];
        if (c || order[k] == ASH_COUNT_PASSED) {
            n += (size_t)snprintf(line + n, sizeof(line) - n, "%s%llu %s", n ? ", " : "",
                                  (unsigned long long)c, word);
        }
    }
    n += (size_t)snprintf(line + n, sizeof(line) - n, " in %.2fs; %zu module%s run, %zu replayed",
                          elapsed(st), st->done, st->done == 1 ? "" : "s", st->replayed);
    if (unrun) {
        snprintf(line + n, sizeof(line) - n, ", %zu not run", unrun);
    }
    printf("%s\n", line);
}

/* Reports equal but for their first line (which names the module): one worker's log, shown
 * once for every module of its batch. */
static int same_report(const ash_result *a, const ash_result *b)
{
    const char *x = a->output.len ? memchr(a->output.ptr, '\n', a->output.len) : NULL;
    const char *y = b->output.len ? memchr(b->output.ptr, '\n', b->output.len) : NULL;
    if (!x || !y) {
        return 0;
    }
    size_t xl = a->output.len - (size_t)(x - a->output.ptr);
    size_t yl = b->output.len - (size_t)(y - b->output.ptr);
    return xl == yl && xl > 1 && memcmp(x, y, xl) == 0;
}

static void print_failures(const run_state *st)
{
    int header = 0;
    const ash_result *previous = NULL;
    for (size_t i = 0; i < st->total; i++) {
        const ash_result *r = &st->results[i];
        if (!r->module || st->fate[i] != FATE_RUN || r->outcome == ASH_OUTCOME_PASSED) {
            continue;
        }
        if (!header) {
            printf("%s FAILURES %s\n", "=====================================",
                   "=====================================");
            header = 1;
        }
        if (previous && same_report(previous, r)) {
            printf("%s: %s: the same as above\n", r->module, outcome_name(r->outcome));
            continue;
        }
        previous = r;
        fwrite(r->output.ptr ? r->output.ptr : "", 1, r->output.len, stdout);
        if (r->output.len && r->output.ptr[r->output.len - 1] != '\n') {
            putchar('\n');
        }
        if (r->output.len == 0) {
            printf("%s: %s\n", r->module, outcome_name(r->outcome));
        }
    }
}

/* Run the modules that were not replayed. */
static int run_rest(run_state *st, const run_args *a, int jobs, const char *python,
                    const char *plugin_dir, const char *work_dir, const ash_run_state *last,
                    int *interrupted)
{
    ash_session *s = st->session;
    ash_run_item *items = ash__calloc(st->to_run + 1, sizeof(*items));
    char **paths = ash__calloc(st->to_run + 1, sizeof(char *));
    ash_result *results = ash__calloc(st->to_run + 1, sizeof(*results));
    st->run_index = ash__calloc(st->to_run + 1, sizeof(size_t));
    if (!items || !paths || !results || !st->run_index) {
        ash__free(items);
        ash__free(paths);
        ash__free(results);
        return ash__error_oom();
    }
    size_t k = 0;
    for (size_t i = 0; i < st->total; i++) {
        if (st->fate[i] != FATE_RUN) {
            continue;
        }
        const char *path = ash_graph_node_path(s->graph, s->suite.modules[i].node);
        items[k].path = path;
        paths[k] = (char *)path;
        items[k].targets = ash__session_nodeids(s, path, &items[k].target_count);
        if (items[k].target_count == 0 && !ash__pytest_is_test_module(&s->suite.pytest, path)) {
            /* named on the command line though pytest would not collect it from its
             * directory: give pytest the file itself */
            items[k].targets = &paths[k];
            items[k].target_count = 1;
        }
        st->run_index[k++] = i;
    }
    expect_durations(items, st->to_run, last);
    ash_run_options ro = {
        .python = python,
        .root = ash_project_root(s->project),
        .plugin_dir = plugin_dir,
        .work_dir = work_dir,
        .pytest_args = s->args.items,
        .pytest_arg_count = s->args.count,
        .cov = a->cov,
        .jobs = jobs,
        .isolate = a->isolate,
        .module_timeout = a->module_timeout,
        .progress = on_progress,
        .payload = st,
    };
    int rc = ash__run_modules(&ro, items, st->to_run, results, interrupted);
    for (size_t j = 0; j < st->to_run; j++) {
        st->results[st->run_index[j]] = results[j]; /* moved */
    }
    ash__free(results);
    ash__free(items);
    ash__free(paths);
    return rc;
}

/* Store the passing results of modules that ran, unless their inputs cannot be keyed. */
static void store_results(const run_state *st, ash_rcache *cache, cli_diag *diag)
{
    int warned = 0;
    for (size_t i = 0; cache && i < st->total; i++) {
        const ash_result *r = &st->results[i];
        const ash_test_module *m = &st->session->suite.modules[i];
        if (!r->module || st->fate[i] != FATE_RUN) {
            continue;
        }
        /* a failure forgets a pass cached under the same inputs (a flaky module, --force);
         * node ids ran part of the module: that is no pass of all of it */
        if (ash__rcache_record(cache, &m->inputs, r, ash__session_cacheable(st->session, i)) < 0 &&
            !warned) {
            cli_diag_print(NULL, ash_error_last(), diag);
            warned = 1;
        }
    }
}

/* --staged / --since: modules no changed file reaches are left out of this run. */
static int restrict_to_affected(run_state *st, const run_args *a, const ash_run_state *last,
                                cli_diag *diag)
{
    ash_strings changed = {0}, added = {0};
    ash_affected aff = {0};
    int all = 0;
    int rc = ash__changed_files(&changed, &added, &all, ash_project_root(st->session->project),
                                a->staged ? ASH_CHANGES_STAGED : ASH_CHANGES_WORKTREE, a->since,
                                cli_diag_print, diag);
    if (rc == 0) {
        rc = ash__affected(&aff, st->session, &changed, &added, all, last);
    }
    for (size_t i = 0; rc == 0 && i < st->total; i++) {
        if (aff.why[i] == ASH_REASON_NONE) {
            st->fate[i] = FATE_UNAFFECTED;
            st->unaffected++;
        }
    }
    if (rc == 0 && !diag->quiet) {
        fprintf(stderr, "aftershock: %zu of %zu test module%s affected by the %s\n",
                st->total - st->unaffected, st->total, st->total == 1 ? "" : "s",
                a->staged ? "staged changes" : "changes since the revision");
    }
    ash__affected_free(&aff);
    ash__strings_free(&changed);
    ash__strings_free(&added);
    return rc;
}

/* --shard K/N: leave out the modules of other shards. With a plan, shard K's cold modules
 * are K's, and every module the plan gives no shard (the warm ones) is shard 1's: replayed,
 * or run if it is no longer cached. Without one, every N-th module in suite (path) order. */
static int keep_shard(run_state *st, const run_args *a, cli_diag *diag)
{
    plan p = {0};
    int rc = a->plan_path ? plan_file_read(&p, a->plan_path) : 0;
    if (rc == 0 && a->plan_path && p.shards != a->shards) {
        rc = ash__error(ASH_EINVAL, "%s: a plan of %u shards, not %u", a->plan_path, p.shards,
                        a->shards);
    }
    for (size_t i = 0, k = 0; rc == 0 && i < st->total; i++) {
        if (st->fate[i] == FATE_UNAFFECTED) {
            continue;
        }
        const char *path =
            ash_graph_node_path(st->session->graph, st->session->suite.modules[i].node);
        unsigned mine;
        if (a->plan_path) {
            int planned = plan_shard_of(&p, path);
            mine = planned ? (unsigned)planned : 1;
        } else {
            mine = ash__shard_round_robin(k++, a->shards) + 1;
        }
        if (mine != a->shard) {
            st->fate[i] = FATE_OTHER_SHARD;
            st->unaffected++;
            st->other_shards++;
        }
    }
    if (rc == 0 && !diag->quiet) {
        fprintf(stderr, "aftershock: shard %u/%u: %zu of %zu test modules%s\n", a->shard, a->shards,
                st->total - st->unaffected, st->total - st->unaffected + st->other_shards,
                a->plan_path ? " (from the plan)" : "");
    }
    plan_free(&p);
    return rc;
}

static int exit_status_of(int rc)
{
    return rc == ASH_ENOTFOUND || rc == ASH_EINVAL ? RUN_USAGE : RUN_INTERNAL;
}

int cmd_run(const cli_command *cmd, int argc, char **argv)
{
    cli_diag diag = {0};
    run_args a = {0};
    run_state st = {.diag = &diag, .tty = isatty(2)};
    clock_gettime(CLOCK_MONOTONIC, &st.start);
    a.project.diag = cli_diag_print;
    a.project.payload = &diag;
    a.project.prepare = cli_share_prepare;
    a.project.prepare_payload = &a.share;
    a.share.diag = &diag;
    int rc = parse(cmd, argc, argv, &a, &diag), status = RUN_OK;
    if (rc != 0) {
        ash__strings_free(&a.pytest_args);
        return rc < 0 ? RUN_OK : RUN_USAGE;
    }
    ash_session s;
    ash_session_options so = {a.pytest_args.items, a.pytest_args.count, a.cov};
    ash_rcache *cache = NULL;
    ash_run_state last = {0};
    char *cache_dir = NULL, *work_dir = NULL, *plugin_dir = NULL;
    if ((rc = ash__session_open(&s, &a.project, &so)) < 0) {
        cli_fail(rc);
        status = exit_status_of(rc);
        goto free_args;
    }
    st.session = &s;
    st.total = s.suite.count;
    st.results = ash__calloc(st.total + 1, sizeof(ash_result));
    st.fate = ash__calloc(st.total + 1, 1);
    if (!st.results || !st.fate) {
        status = (cli_fail(ash__error_oom()), RUN_INTERNAL);
        goto done;
    }
    if (st.total == 0) {
        printf("aftershock: no test modules found (pytest would collect nothing)\n");
        status = 5;
        goto done;
    }
    int private_dir = 0;
    if (!a.project.no_cache) {
        cache_dir = ash__result_cache_dir(s.project, &private_dir);
        if (!cache_dir ||
            ash__rcache_open(&cache, cache_dir, private_dir, cli_diag_print, &diag) < 0) {
            cli_diag_print(NULL, ash_error_last(), &diag);
            cli_diag_print(NULL, "running without the result cache", &diag);
            cache = NULL;
        } else {
            ash__last_run_load(&last, s.project, cli_diag_print, &diag);
        }
    }
    if ((a.staged || a.since) && restrict_to_affected(&st, &a, &last, &diag) < 0) {
        status = (cli_fail(ASH_ENOMEM), RUN_INTERNAL);
        goto done;
    }
    if (a.shards && (rc = keep_shard(&st, &a, &diag)) < 0) {
        status = (cli_fail(rc), exit_status_of(rc == ASH_ERROR ? ASH_EINVAL : rc));
        goto done;
    }
    for (size_t i = 0; i < st.total; i++) {
        if (st.fate[i] >= FATE_UNAFFECTED) {
            continue;
        }
        if (cache && !a.force && ash__session_cacheable(&s, i) && replay(&st, cache, i) < 0) {
            status = (cli_fail(ASH_ENOMEM), RUN_INTERNAL);
            goto done;
        }
        if (st.fate[i] == FATE_REPLAYED) {
            add_counts(st.counts, &st.results[i]);
        }
    }
    a.share.local_hits = st.replayed;
    if (!a.force && replay_remote(&st, &a.share, cache) < 0) {
        status = (cli_fail(ASH_ENOMEM), RUN_INTERNAL);
        goto done;
    }
    st.to_run = st.total - st.replayed - st.unaffected;
    if (!diag.quiet) {
        fprintf(stderr, "aftershock: %zu test module%s: %zu to run, %zu replayed from the cache\n",
                st.total - st.unaffected, st.total - st.unaffected == 1 ? "" : "s", st.to_run,
                st.replayed);
    }
    int interrupted = 0;
    if (st.to_run) {
        const char *python = ash__envinfo_python(ash__project_envinfo(s.project));
        if (!python || !*python) {
            fprintf(stderr, "aftershock: no Python interpreter to run pytest with "
                            "(set --python or [tool.aftershock] python)\n");
            status = RUN_INTERNAL;
            goto done;
        }
        if (!(work_dir = make_work_dir()) || ash__embedded_install(&plugin_dir, work_dir) < 0) {
            status = (cli_fail(ASH_EIO), RUN_INTERNAL);
            goto done;
        }
        int jobs = a.project.jobs > 0           ? a.project.jobs
                   : xdist_jobs(&a.pytest_args) ? xdist_jobs(&a.pytest_args)
                                                : (int)sysconf(_SC_NPROCESSORS_ONLN);
        rc = run_rest(&st, &a, jobs > 0 ? jobs : 1, python, plugin_dir, work_dir, &last,
                      &interrupted);
        clear_progress(&st);
        if (rc < 0) {
            cli_fail(rc);
            status = RUN_INTERNAL;
        }
        store_results(&st, cache, &diag);
        if (!interrupted) {
            upload_results(&st, &a.share);
        }
    } else if (!diag.quiet) {
        fprintf(stderr, "aftershock: nothing to run: %s\n",
                st.replayed ? "every test module is unchanged since it passed"
                            : "no test module is affected");
    }
    size_t unrun = 0;
    for (size_t i = 0; i < st.total; i++) {
        const ash_result *r = &st.results[i];
        if (st.fate[i] >= FATE_UNAFFECTED) {
            continue;
        }
        if (!r->module) {
            unrun++;
        } else if (st.fate[i] == FATE_RUN) {
            add_counts(st.counts, r);
        }
    }
    print_failures(&st);
    if (a.junit && write_junit(&st, a.junit) < 0) {
        cli_diag_print(NULL, ash_error_last(), &diag);
        status = status ? status : RUN_INTERNAL;
    }
    if (a.cov && !interrupted) {
        const char *python = ash__envinfo_python(ash__project_envinfo(s.project));
        if (!work_dir && !(work_dir = make_work_dir())) {
            cli_diag_print(NULL, ash_error_last(), &diag);
        } else if (!plugin_dir && ash__embedded_install(&plugin_dir, work_dir) < 0) {
            cli_diag_print(NULL, ash_error_last(), &diag);
        } else if (write_coverage(&st, &a, python, plugin_dir, work_dir) < 0) {
            cli_diag_print(NULL, ash_error_last(), &diag);
            status = status ? status : RUN_INTERNAL;
        }
    }
    if (cache && ash__rcache_writable(cache)) { /* else put said why, once */
        save_state(&st, cache_dir, &diag);
        if (!interrupted) {
            cli_share_push_state(&a.share, s.project);
        }
        ash_rcache_stats stats;
        uint64_t cap = ash__result_cache_cap(s.project);
        if (ash__rcache_stats(cache, &stats) == 0 && stats.bytes > cap) {
            ash__rcache_prune(cache, cap, &stats);
        }
    }
    print_summary(&st, unrun);
    if (a.cache_summary) {
        cli_share_counts counts = {st.total, st.done, st.replayed, st.unaffected};
        if (cli_share_summary(&a.share, &counts, a.cache_summary) < 0) {
            cli_diag_print(NULL, ash_error_last(), &diag);
        }
    }
    if (status == RUN_OK) {
        status = interrupted ? RUN_INTERRUPTED : st.failed_modules ? RUN_FAILED : RUN_OK;
    }
done:
    fflush(stdout);
    for (size_t i = 0; st.results && i < st.total; i++) {
        ash__result_free(&st.results[i]);
    }
    ash__free(st.results);
    ash__free(st.fate);
    ash__free(st.run_index);
    ash__rcache_close(cache);
    ash__state_free(&last);
    if (work_dir) {
        remove_work_dir(work_dir);
    }
    ash__free(work_dir);
    ash__free(plugin_dir);
    ash__free(cache_dir);
    ash__session_close(&s);
free_args:
    cli_share_free(&a.share);
    ash__strings_free(&a.pytest_args);
    ash__free(a.junit_arg);
    ash__free(a.cov_arg);
    free(a.cov_source);
    return status;
}
