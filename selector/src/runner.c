/*
 * Worker processes (see runner.h). One poll loop watches every worker's event pipe and a
 * self-pipe for SIGINT/SIGTERM; a worker's end of file means it exited, and its batch is then
 * settled: modules done are kept, the module it died in is blamed, modules it never reached
 * are queued again (after a crash) or left unrun (after pytest stopped on its own, e.g. -x).
 */
#include "runner.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* How much of a worker's log is shown when it dies or cannot start. */
#define LOG_TAIL_BYTES 8192
/* Grace given to workers to stop after an interrupt before they are killed. */
#define STOP_GRACE_MS 5000

enum { PENDING = 0, STARTED = 1, DONE = 2 };

typedef struct batch {
    uint32_t *items;
    size_t count;
} batch;

typedef struct worker {
    pid_t pid;
    int fd; /* read end of the event pipe; -1 when free */
    batch work;
    unsigned seq;
    long current;            /* the module last started (collected or run), -1 for none */
    ash_buf line;            /* partial event line */
    struct timespec since;   /* when `current` started (or the worker, before any) */
    int timed_out;           /* SIGINT sent for overrunning the module timeout */
    struct timespec kill_at; /* ... and SIGKILL due then */
} worker;

typedef struct runner {
    const ash_run_options *o;
    const ash_run_item *items;
    size_t n;
    ash_result *results;
    uint8_t *state;
    batch *queue; /* batches waiting for a worker, run from the back */
    size_t queued, queue_cap;
    worker *workers;
    int jobs;
    unsigned seq;
    char *results_dir;
} runner;

static volatile sig_atomic_t stop_signal;
static int wake_pipe[2] = {-1, -1};

static void on_signal(int sig)
{
    int saved = errno;
    stop_signal = sig;
    if (wake_pipe[1] >= 0) {
        ssize_t ignored = write(wake_pipe[1], "x", 1);
        (void)ignored;
    }
    errno = saved;
}

/* Milliseconds from `a` to `b`. */
static long ms_between(const struct timespec *a, const struct timespec *b)
{
    return (b->tv_sec - a->tv_sec) * 1000 + (b->tv_nsec - a->tv_nsec) / 1000000;
}

static int cmp_expected_desc(const void *a, const void *b, void *items)
{
    const ash_run_item *it = items;
    double x = it[*(const uint32_t *)a].expected, y = it[*(const uint32_t *)b].expected;
    return x < y ? 1 : x > y ? -1 : 0;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static int push_batch(runner *r, batch b)
{
    if (ash__grow((void **)&r->queue, &r->queue_cap, r->queued + 1, sizeof(*r->queue)) < 0) {
        ash__free(b.items);
        return ash__error_oom();
    }
    r->queue[r->queued++] = b;
    return 0;
}

/* Longest expected duration first, each onto the least loaded batch; or one module each. */
static int plan_batches(runner *r)
{
    size_t nb = r->o->isolate ? r->n : (r->n < (size_t)r->jobs ? r->n : (size_t)r->jobs);
    uint32_t *order = ash__malloc((r->n ? r->n : 1) * sizeof(uint32_t));
    double *load = ash__calloc(nb ? nb : 1, sizeof(double));
    batch *plan = ash__calloc(nb ? nb : 1, sizeof(batch));
    int rc = order && load && plan ? 0 : ash__error_oom();
    for (size_t i = 0; rc == 0 && i < nb; i++) {
        if (!(plan[i].items = ash__malloc(r->n * sizeof(uint32_t)))) {
            rc = ash__error_oom();
        }
    }
    if (rc == 0) {
        for (size_t i = 0; i < r->n; i++) {
            order[i] = (uint32_t)i;
        }
        qsort_r(order, r->n, sizeof(uint32_t), cmp_expected_desc, (void *)r->items);
        for (size_t i = 0; i < r->n; i++) {
            size_t best = 0;
            for (size_t b = 1; b < nb; b++) {
                best = load[b] < load[best] ? b : best;
            }
            plan[best].items[plan[best].count++] = order[i];
            load[best] += r->items[order[i]].expected > 0 ? r->items[order[i]].expected : 0.001;
        }
        /* queued from the back: the first batch (in path order) starts first */
        for (size_t b = nb; rc == 0 && b-- > 0;) {
            qsort(plan[b].items, plan[b].count, sizeof(uint32_t), cmp_u32);
            rc = push_batch(r, plan[b]);
            plan[b].items = NULL;
        }
    }
    for (size_t b = 0; plan && b < nb; b++) {
        ash__free(plan[b].items);
    }
    ash__free(plan);
    ash__free(load);
    ash__free(order);
    return rc;
}

static char *work_path(const runner *r, unsigned seq, const char *ext)
{
    char name[64];
    snprintf(name, sizeof(name), "batch-%u.%s", seq, ext);
    return ash__path_join(r->o->work_dir, name);
}

/* "INDEX\0PATH\0" per module, for the plugin. */
static int write_list(const runner *r, const batch *b, const char *path)
{
    ash_buf buf = ASH_BUF_INIT;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < b->count; i++) {
        rc = ash__buf_printf(&buf, "%u", b->items[i]);
        if (rc == 0) {
            rc = ash__buf_put(&buf, "", 1);
        }
        if (rc == 0) {
            rc = ash__buf_put(&buf, r->items[b->items[i]].path,
                              strlen(r->items[b->items[i]].path) + 1);
        }
    }
    if (rc == 0) {
        rc = ash__write_atomic(path, buf.ptr ? buf.ptr : "", buf.len);
    }
    ash__buf_free(&buf);
    return rc;
}

static void free_env(char **env);

/* NULL-terminated environment: ours, with PYTHONPATH and the AFTERSHOCK_* variables set. */
static char **worker_env(const runner *r, const char *list, int fd)
{
    size_t n = 0;
    while (environ[n]) {
        n++;
    }
    char **env = ash__calloc(n + 8, sizeof(char *));
    if (!env) {
        return NULL;
    }
    size_t k = 0;
    const char *pythonpath = getenv("PYTHONPATH");
    for (size_t i = 0; i < n; i++) {
        if (strncmp(environ[i], "PYTHONPATH=", 11) != 0 &&
            strncmp(environ[i], "AFTERSHOCK_", 11) != 0) {
            env[k++] = environ[i];
        }
    }
    ash_buf vars[6] = {ASH_BUF_INIT, ASH_BUF_INIT, ASH_BUF_INIT,
                       ASH_BUF_INIT, ASH_BUF_INIT, ASH_BUF_INIT};
    int rc = ash__buf_printf(&vars[0], "PYTHONPATH=%s%s%s", r->o->plugin_dir,
                             pythonpath && *pythonpath ? ":" : "", pythonpath ? pythonpath : "");
    rc |= ash__buf_printf(&vars[1], "AFTERSHOCK_ROOT=%s", r->o->root);
    rc |= ash__buf_printf(&vars[2], "AFTERSHOCK_MODULES=%s", list);
    rc |= ash__buf_printf(&vars[3], "AFTERSHOCK_RESULTS=%s", r->results_dir);
    rc |= ash__buf_printf(&vars[4], "AFTERSHOCK_FD=%d", fd);
    if (r->o->cov) {
        rc |= ash__buf_printf(&vars[5], "AFTERSHOCK_COV=%s", r->o->cov);
    }
    for (size_t i = 0; i < 6; i++) {
        if (vars[i].len) {
            env[k++] = ash__buf_detach(&vars[i]);
        }
        ash__buf_free(&vars[i]);
    }
    if (rc != 0) {
        free_env(env);
        return NULL;
    }
    return env;
}

static void free_env(char **env)
{
    for (size_t i = 0; env && env[i]; i++) {
        if (strncmp(env[i], "PYTHONPATH=", 11) == 0 || strncmp(env[i], "AFTERSHOCK_", 11) == 0) {
            ash__free(env[i]);
        }
    }
    ash__free(env);
}

/* Do the user's pytest arguments use pytest's cache (--lf, --ff, --nf, --sw, ...)? */
static int wants_cacheprovider(const ash_run_options *o)
{
    static const char *const options[] = {"--lf",
                                          "--last-failed",
                                          "--ff",
                                          "--failed-first",
                                          "--nf",
                                          "--new-first",
                                          "--sw",
                                          "--stepwise",
                                          "--sw-skip",
                                          "--cache-show",
                                          "--cache-clear",
                                          "--lfnf",
                                          "--last-failed-no-failures",
                                          "--stepwise-skip"};
    for (size_t i = 0; i < o->pytest_arg_count; i++) {
        for (size_t k = 0; k < ASH_ARRAY_SIZE(options); k++) {
            size_t n = strlen(options[k]);
            const char *arg = o->pytest_args[i];
            if (strncmp(arg, options[k], n) == 0 && (arg[n] == '\0' || arg[n] == '=')) {
                return 1;
            }
        }
        if (strstr(o->pytest_args[i], "cacheprovider")) {
            return 1;
        }
    }
    return 0;
}

/* What pytest is given for a batch: the directories of its modules (the plugin leaves out
 * the files not listed), none below another; or, when tests are selected by node id in some,
 * the node ids and the other modules' files. */
static int batch_targets(ash_strings *out, const runner *r, const batch *b)
{
    /* node ids would be collected twice (alone and in their directory): with any, files */
    int by_file = 0, rc = 0;
    for (size_t i = 0; i < b->count; i++) {
        by_file |= r->items[b->items[i]].target_count > 0;
    }
    for (size_t i = 0; rc == 0 && i < b->count; i++) {
        const ash_run_item *it = &r->items[b->items[i]];
        for (size_t t = 0; rc == 0 && t < it->target_count; t++) {
            rc = ash__strings_add(out, it->targets[t], strlen(it->targets[t]));
        }
        size_t dir = ash__dirname_len(it->path, strlen(it->path));
        if (rc == 0 && it->target_count == 0) {
            rc = by_file ? ash__strings_add(out, it->path, strlen(it->path))
                 : dir   ? ash__strings_add(out, it->path, dir)
                         : ash__strings_add(out, ".", 1);
        }
    }
    if (rc < 0) {
        return rc;
    }
    ash__sort_unique_strings(out->items, &out->count);
    size_t kept = 0;
    for (size_t i = 0; i < out->count; i++) {
        const char *p = out->items[i];
        int below = 0;
        for (size_t k = 0; k < kept && !below; k++) {
            const char *d = out->items[k];
            size_t n = strlen(d);
            below = !strchr(d, ':') && !strchr(p, ':') &&
                    (strcmp(d, ".") == 0 || (strncmp(p, d, n) == 0 && p[n] == '/'));
        }
        if (below) {
            ash__free(out->items[i]);
        } else {
            out->items[kept++] = out->items[i];
        }
    }
    out->count = kept;
    return 0;
}

static int start_worker(runner *r, worker *w, batch b)
{
    w->seq = r->seq++;
    char *list = work_path(r, w->seq, "list"), *log = work_path(r, w->seq, "log");
    size_t targets = 0;
    for (size_t i = 0; i < b.count; i++) {
        targets += r->items[b.items[i]].target_count + 1;
    }
    ash_strings dirs = {0};
    char **argv = ash__calloc(r->o->pytest_arg_count + targets + 10, sizeof(char *));
    char **env = NULL;
    int fds[2] = {-1, -1}, logfd = -1, rc = 0;
    if (!list || !log || !argv) {
        rc = ash__error_oom();
        goto fail;
    }
    if ((rc = write_list(r, &b, list)) < 0) {
        goto fail;
    }
    if (pipe2(fds, O_CLOEXEC) < 0 ||
        (logfd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0) {
        rc = ash__error(ASH_EIO, "%s: %s", log, strerror(errno));
        goto fail;
    }
    if (!(env = worker_env(r, list, fds[1]))) {
        rc = ash__error_oom();
        goto fail;
    }
    size_t a = 0;
    argv[a++] = (char *)r->o->python;
    argv[a++] = "-m";
    argv[a++] = "pytest";
    argv[a++] = "-p";
    argv[a++] = "aftershock_worker";
    argv[a++] = "--continue-on-collection-errors";
    if (!wants_cacheprovider(r->o)) {
        /* N workers would overwrite each other's .pytest_cache/v/cache/lastfailed with a part
         * of the answer, and writing it costs a worker about a fifth of its time */
        argv[a++] = "-p";
        argv[a++] = "no:cacheprovider";
    }
    for (size_t i = 0; i < r->o->pytest_arg_count; i++) {
        argv[a++] = r->o->pytest_args[i];
    }
    if ((rc = batch_targets(&dirs, r, &b)) < 0) {
        goto fail;
    }
    for (size_t i = 0; i < dirs.count; i++) {
        argv[a++] = dirs.items[i];
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        rc = ash__error(ASH_ECHILD, "cannot start a worker: %s", strerror(errno));
        goto fail;
    }
    if (pid == 0) {
#ifdef __linux__
        /* A run killed with SIGKILL must not leave its workers running tests (and writing
         * into a directory nobody will read). The signal comes when the forking thread
         * ends: workers are started by the thread that waits for them. */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent) {
            _exit(127);
        }
#endif
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0) {
            dup2(devnull, 0);
        }
        dup2(logfd, 1);
        dup2(logfd, 2);
        fcntl(fds[1], F_SETFD, 0); /* the event pipe survives exec */
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        if (chdir(r->o->root) == 0) {
            execvpe(argv[0], argv, env);
        }
        static const char msg[] = "aftershock: cannot run the interpreter\n";
        ssize_t ignored = write(2, msg, sizeof(msg) - 1);
        (void)ignored;
        _exit(127);
    }
    close(fds[1]);
    close(logfd);
    w->pid = pid;
    w->fd = fds[0];
    w->work = b;
    w->current = -1;
    w->line.len = 0;
    w->timed_out = 0;
    clock_gettime(CLOCK_MONOTONIC, &w->since);
    free_env(env);
    ash__strings_free(&dirs);
    ash__free(argv);
    ash__free(list);
    ash__free(log);
    return 0;
fail:
    if (fds[0] >= 0) {
        close(fds[0]);
        close(fds[1]);
    }
    if (logfd >= 0) {
        close(logfd);
    }
    free_env(env);
    ash__strings_free(&dirs);
    ash__free(argv);
    ash__free(list);
    ash__free(log);
    ash__free(b.items);
    return rc;
}

/* The last LOG_TAIL_BYTES of worker `seq`'s log, from a line start. */
static void log_tail(const runner *r, unsigned seq, ash_buf *out)
{
    char *path = work_path(r, seq, "log"), *data = NULL;
    size_t len = 0;
    if (path && ash__read_file(&data, &len, path, 0) == 0) {
        size_t from = len > LOG_TAIL_BYTES ? len - LOG_TAIL_BYTES : 0;
        while (from > 0 && from < len && data[from - 1] != '\n') {
            from++;
        }
        ash__buf_put(out, data + from, len - from);
    }
    ash__free(data);
    ash__free(path);
}

static void finish_module(runner *r, uint32_t i)
{
    r->state[i] = DONE;
    if (r->o->progress) {
        r->o->progress(r->o->payload, i, &r->results[i]);
    }
}

/* A module without a usable result: an error or crash with `why` and the worker's log. */
static void fail_module(runner *r, uint32_t i, ash_outcome outcome, const char *why, unsigned seq)
{
    ash_result *res = &r->results[i];
    ash__result_free(res);
    memset(res, 0, sizeof(*res));
    res->module = ash__strdup(r->items[i].path);
    res->outcome = outcome;
    res->counts[ASH_COUNT_ERRORS] = 1;
    ash__buf_printf(&res->output, "%s: %s\n", r->items[i].path, why);
    log_tail(r, seq, &res->output);
    finish_module(r, i);
}

static void on_done(runner *r, worker *w, uint32_t i)
{
    char name[32];
    snprintf(name, sizeof(name), "%u.res", i);
    char *path = ash__path_join(r->results_dir, name), *data = NULL;
    size_t len;
    ash_result *res = &r->results[i];
    int rc = path ? ash__read_file(&data, &len, path, 0) : ash__error_oom();
    if (rc == 0) {
        rc = ash__result_parse(res, data, len, path);
    }
    if (rc == 0 && strcmp(res->module, r->items[i].path) != 0) {
        rc = ash__error(ASH_ERROR, "%s: reports module %s", path, res->module);
    }
    if (rc < 0) {
        char why[512];
        snprintf(why, sizeof(why), "the worker's result cannot be used (%s)", ash_error_last());
        fail_module(r, i, ASH_OUTCOME_ERROR, why, w->seq);
    } else {
        res->outcome = ash__result_outcome(res);
        finish_module(r, i);
    }
    if (path) {
        unlink(path);
    }
    ash__free(data);
    ash__free(path);
}

/* One event line from worker `w`: "start I", "run I" or "done I". */
static void on_event(runner *r, worker *w, const char *line)
{
    const char *sp = strchr(line, ' ');
    char *end;
    if (!sp) {
        return;
    }
    unsigned long i = strtoul(sp + 1, &end, 10);
    int mine = 0;
    for (size_t k = 0; k < w->work.count && !mine; k++) {
        mine = w->work.items[k] == i;
    }
    if (*end || !mine || r->state[i] == DONE) {
        return; /* not one of this worker's modules: ignore rather than trust */
    }
    if (strncmp(line, "done ", 5) == 0) {
        on_done(r, w, (uint32_t)i);
    } else if (strncmp(line, "start ", 6) == 0 || strncmp(line, "run ", 4) == 0) {
        r->state[i] = STARTED;
        if (w->current != (long)i) {
            clock_gettime(CLOCK_MONOTONIC, &w->since);
        }
        w->current = (long)i;
    }
}

static void read_events(runner *r, worker *w, int *eof)
{
    char chunk[4096];
    ssize_t got = read(w->fd, chunk, sizeof(chunk));
    if (got < 0 && (errno == EINTR || errno == EAGAIN)) {
        return;
    }
    if (got <= 0) {
        *eof = 1;
        return;
    }
    ash__buf_put(&w->line, chunk, (size_t)got);
    char *p = w->line.ptr, *end = p + w->line.len, *nl;
    while ((nl = memchr(p, '\n', (size_t)(end - p)))) {
        *nl = '\0';
        on_event(r, w, p);
        p = nl + 1;
    }
    w->line.len = (size_t)(end - p);
    memmove(w->line.ptr, p, w->line.len);
}

static void describe_status(char *buf, size_t size, int status)
{
    if (WIFSIGNALED(status)) {
        snprintf(buf, size, "the worker was killed by signal %d (%s)", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
    } else {
        snprintf(buf, size, "the worker exited with status %d", WEXITSTATUS(status));
    }
}

/* The worker exited: settle its batch. */
static int settle(runner *r, worker *w)
{
    int status = 0;
    while (waitpid(w->pid, &status, 0) < 0 && errno == EINTR) {
    }
    close(w->fd);
    w->fd = -1;
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    /* pytest's own exits: 0 passed, 1 failed, 2 interrupted, 5 nothing collected */
    int normal = code == 0 || code == 1 || code == 2 || code == 5;
    char why[160];
    describe_status(why, sizeof(why), status);
    if (w->timed_out) {
        normal = 0;
        snprintf(why, sizeof(why), "timed out after %g s (--module-timeout)", r->o->module_timeout);
    }
    batch rest = {ash__malloc((w->work.count ? w->work.count : 1) * sizeof(uint32_t)), 0};
    int rc = rest.items ? 0 : ash__error_oom();
    for (size_t k = 0; k < w->work.count; k++) {
        uint32_t i = w->work.items[k];
        if (r->state[i] == DONE) {
            continue;
        }
        if ((long)i == w->current && !normal) {
            /* the module it was collecting or running when it died */
            fail_module(r, i, ASH_OUTCOME_CRASHED, why, w->seq);
        } else if (w->current < 0 && code != 0 && code != 5 && !stop_signal) {
            /* no module started: pytest could not start (usage error, a conftest or plugin
             * that does not import): every module of the batch gets the reason */
            fail_module(r, i, ASH_OUTCOME_ERROR, why, w->seq);
        } else if (rc == 0 && !normal && !stop_signal) {
            r->state[i] = PENDING;
            rest.items[rest.count++] = i;
        }
        /* else: pytest stopped on its own (-x, interrupted): left unrun */
    }
    ash__free(w->work.items);
    w->work = (batch){NULL, 0};
    if (rest.count && rc == 0) {
        return push_batch(r, rest);
    }
    ash__free(rest.items);
    return rc;
}

static void stop_workers(runner *r)
{
    for (int k = 0; k < r->jobs; k++) {
        if (r->workers[k].fd >= 0) {
            kill(r->workers[k].pid, SIGINT);
        }
    }
}

static void kill_workers(runner *r)
{
    for (int k = 0; k < r->jobs; k++) {
        if (r->workers[k].fd >= 0) {
            kill(r->workers[k].pid, SIGKILL);
        }
    }
}

/* SIGINT to the workers past the module timeout, SIGKILL to those past its grace too; the
 * milliseconds until the next such moment (-1: none). */
static int enforce_timeouts(runner *r)
{
    if (r->o->module_timeout <= 0) {
        return -1;
    }
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    long limit = (long)(r->o->module_timeout * 1000), next = -1;
    for (int k = 0; k < r->jobs; k++) {
        worker *w = &r->workers[k];
        if (w->fd < 0) {
            continue;
        }
        long left;
        if (!w->timed_out && (left = limit - ms_between(&w->since, &now)) <= 0) {
            kill(w->pid, SIGINT);
            w->timed_out = 1;
            w->kill_at = now;
            w->kill_at.tv_sec += STOP_GRACE_MS / 1000;
        }
        if (w->timed_out && (left = ms_between(&now, &w->kill_at)) <= 0) {
            kill(w->pid, SIGKILL);
            left = 100; /* until its pipe closes */
        }
        next = next < 0 || left < next ? left : next;
    }
    return next > INT_MAX ? INT_MAX : (int)next;
}

static int loop(runner *r)
{
    struct pollfd *fds = ash__calloc((size_t)r->jobs + 1, sizeof(*fds));
    if (!fds) {
        return ash__error_oom();
    }
    int rc = 0, stopping = 0;
    struct timespec stop_at = {0};
    for (;;) {
        if (stop_signal && !stopping) {
            stopping = 1;
            stop_workers(r);
            clock_gettime(CLOCK_MONOTONIC, &stop_at);
        }
        int active = 0;
        for (int k = 0; k < r->jobs; k++) {
            worker *w = &r->workers[k];
            if (w->fd < 0 && !stopping && r->queued && rc == 0) {
                rc = start_worker(r, w, r->queue[--r->queued]);
            }
            active += w->fd >= 0;
        }
        if (active == 0) {
            break;
        }
        nfds_t nf = 0;
        fds[nf++] = (struct pollfd){.fd = wake_pipe[0], .events = POLLIN};
        for (int k = 0; k < r->jobs; k++) {
            if (r->workers[k].fd >= 0) {
                fds[nf++] = (struct pollfd){.fd = r->workers[k].fd, .events = POLLIN};
            }
        }
        int timeout = enforce_timeouts(r);
        if (stopping) {
            struct timespec now;
            clock_gettime(CLOCK_MONOTONIC, &now);
            long ms = ms_between(&stop_at, &now);
            if (ms >= STOP_GRACE_MS) {
                kill_workers(r);
                timeout = 100;
            } else if (timeout < 0 || STOP_GRACE_MS - ms < timeout) {
                timeout = (int)(STOP_GRACE_MS - ms);
            }
        }
        if (poll(fds, nf, timeout) < 0 && errno != EINTR) {
            rc = ash__error(ASH_ERROR, "poll: %s", strerror(errno));
            kill_workers(r);
        }
        if (fds[0].revents & POLLIN) {
            char drain[64];
            ssize_t ignored = read(wake_pipe[0], drain, sizeof(drain));
            (void)ignored;
        }
        for (int k = 0; k < r->jobs; k++) {
            worker *w = &r->workers[k];
            int eof = 0;
            for (nfds_t f = 1; f < nf && w->fd >= 0; f++) {
                if (fds[f].fd == w->fd && (fds[f].revents & (POLLIN | POLLHUP | POLLERR))) {
                    read_events(r, w, &eof);
                }
            }
            if (eof) {
                int src = settle(r, w);
                rc = rc ? rc : src;
            }
        }
    }
    ash__free(fds);
    return rc;
}

int ash__run_modules(const ash_run_options *o, const ash_run_item *items, size_t n,
                     ash_result *results, int *interrupted)
{
    runner r = {
        .o = o, .items = items, .n = n, .results = results, .jobs = o->jobs > 0 ? o->jobs : 1};
    *interrupted = 0;
    if (n == 0) {
        return 0;
    }
    struct sigaction sa = {0}, old_int, old_term, ign = {0};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    ign.sa_handler = SIG_IGN;
    struct sigaction old_pipe;
    r.state = ash__calloc(n, 1);
    r.workers = ash__calloc((size_t)r.jobs, sizeof(worker));
    r.results_dir = ash__path_join(o->work_dir, "results");
    if (!r.state || !r.workers || !r.results_dir) {
        ash__free(r.state);
        ash__free(r.workers);
        ash__free(r.results_dir);
        return ash__error_oom();
    }
    if (mkdir(r.results_dir, 0700) < 0 && errno != EEXIST) {
        int rc = ash__error(ASH_EIO, "%s: %s", r.results_dir, strerror(errno));
        ash__free(r.state);
        ash__free(r.workers);
        ash__free(r.results_dir);
        return rc;
    }
    for (int k = 0; k < r.jobs; k++) {
        r.workers[k].fd = -1;
    }
    stop_signal = 0;
    int rc = pipe2(wake_pipe, O_CLOEXEC | O_NONBLOCK) < 0
                 ? ash__error(ASH_ERROR, "pipe: %s", strerror(errno))
                 : 0;
    if (rc == 0) {
        sigaction(SIGINT, &sa, &old_int);
        sigaction(SIGTERM, &sa, &old_term);
        sigaction(SIGPIPE, &ign, &old_pipe);
        rc = plan_batches(&r);
        if (rc == 0) {
            rc = loop(&r);
        }
        sigaction(SIGINT, &old_int, NULL);
        sigaction(SIGTERM, &old_term, NULL);
        sigaction(SIGPIPE, &old_pipe, NULL);
        close(wake_pipe[0]);
        close(wake_pipe[1]);
        wake_pipe[0] = wake_pipe[1] = -1;
    }
    *interrupted = stop_signal != 0;
    for (size_t b = 0; b < r.queued; b++) {
        ash__free(r.queue[b].items);
    }
    for (int k = 0; k < r.jobs; k++) {
        ash__free(r.workers[k].work.items);
        ash__buf_free(&r.workers[k].line);
    }
    ash__free(r.queue);
    ash__free(r.workers);
    ash__free(r.state);
    ash__free(r.results_dir);
    return rc;
}
