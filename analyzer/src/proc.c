/*
 * Child processes (see proc.h): posix_spawn with pipes and poll, so that a child that prints
 * a lot on both streams cannot deadlock us, and one that hangs is killed.
 */
#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

char *ash__which(const char *name)
{
    if (strchr(name, '/')) {
        struct stat st;
        return stat(name, &st) == 0 && S_ISREG(st.st_mode) && access(name, X_OK) == 0
                   ? ash__strdup(name)
                   : NULL;
    }
    const char *path = getenv("PATH");
    if (!path) {
        path = "/usr/local/bin:/usr/bin:/bin";
    }
    while (*path) {
        const char *colon = strchr(path, ':');
        size_t n = colon ? (size_t)(colon - path) : strlen(path);
        char *dir = ash__strndup(n ? path : ".", n ? n : 1);
        char *full = dir ? ash__path_join(dir, name) : NULL;
        ash__free(dir);
        struct stat st;
        if (full && stat(full, &st) == 0 && S_ISREG(st.st_mode) && access(full, X_OK) == 0) {
            return full;
        }
        ash__free(full);
        path += n + (colon ? 1 : 0);
        if (!colon) {
            break;
        }
    }
    return NULL;
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Read both pipes until EOF or the deadline; 0, ASH_ENOMEM or ASH_ECHILD (timeout). */
static int pump(int outfd, int errfd, ash_buf *out, ash_buf *err, int timeout_ms)
{
    long long deadline = timeout_ms ? now_ms() + timeout_ms : 0;
    struct pollfd fds[2] = {{outfd, POLLIN, 0}, {errfd, POLLIN, 0}};
    ash_buf *bufs[2] = {out, err};
    int open_fds = 2;
    char chunk[65536];
    while (open_fds) {
        int wait = -1;
        if (deadline) {
            long long left = deadline - now_ms();
            if (left <= 0) {
                return ash__error(ASH_ECHILD, "timed out after %d ms", timeout_ms);
            }
            wait = (int)left;
        }
        int n = poll(fds, 2, wait);
        if (n < 0 && errno != EINTR) {
            return ash__error(ASH_ECHILD, "poll: %s", strerror(errno));
        }
        for (int i = 0; i < 2 && n > 0; i++) {
            if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) {
                continue;
            }
            ssize_t got = read(fds[i].fd, chunk, sizeof(chunk));
            if (got > 0) {
                if (ash__buf_put(bufs[i], chunk, (size_t)got) < 0) {
                    return ASH_ENOMEM;
                }
            } else if (got == 0 || errno != EINTR) {
                fds[i].fd = -1;
                open_fds--;
            }
        }
    }
    return 0;
}

static void call_beside(const ash_beside **beside)
{
    if (*beside && (*beside)->fn) {
        (*beside)->fn((*beside)->payload);
    }
    *beside = NULL;
}

int ash__run_capture(char **out, size_t *len, int *status, char *const argv[], const char *cwd,
                     char *err, size_t err_size, int timeout_ms)
{
    return ash__run_capture_beside(out, len, status, argv, cwd, err, err_size, timeout_ms, NULL);
}

int ash__run_capture_beside(char **out, size_t *len, int *status, char *const argv[],
                            const char *cwd, char *err, size_t err_size, int timeout_ms,
                            const ash_beside *beside)
{
    int po[2] = {-1, -1}, pe[2] = {-1, -1}, rc = 0;
    pid_t pid = -1;
    ash_buf obuf = ASH_BUF_INIT, ebuf = ASH_BUF_INIT;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    *out = NULL;
    *len = 0;
    *status = -1;
    if (err && err_size) {
        err[0] = '\0';
    }
    if (pipe2(po, O_CLOEXEC) < 0 || pipe2(pe, O_CLOEXEC) < 0) {
        rc = ash__error(ASH_ECHILD, "pipe: %s", strerror(errno));
        goto done;
    }
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, po[1], 1);
    posix_spawn_file_actions_adddup2(&fa, pe[1], 2);
    if (cwd) {
        posix_spawn_file_actions_addchdir_np(&fa, cwd);
    }
    int e = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
    if (e != 0) {
        pid = -1;
        rc = ash__error(ASH_ECHILD, "cannot run %s: %s", argv[0], strerror(e));
        goto done;
    }
    close(po[1]);
    close(pe[1]);
    po[1] = pe[1] = -1;
    call_beside(&beside);
    rc = pump(po[0], pe[0], &obuf, &ebuf, timeout_ms);
    if (rc == ASH_ECHILD) {
        kill(pid, SIGKILL);
    }
    int ws;
    while (waitpid(pid, &ws, 0) < 0 && errno == EINTR) {
    }
    *status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + (WIFSIGNALED(ws) ? WTERMSIG(ws) : 0);
    if (err && err_size && ebuf.len) {
        size_t n = strcspn(ebuf.ptr, "\n");
        n = n < err_size - 1 ? n : err_size - 1;
        memcpy(err, ebuf.ptr, n);
        err[n] = '\0';
    }
    if (rc == 0) {
        *len = obuf.len;
        *out = ash__buf_detach(&obuf);
        if (!*out) {
            rc = ash__error_oom();
        }
    }
done:
    call_beside(&beside);
    for (int i = 0; i < 2; i++) {
        if (po[i] >= 0) {
            close(po[i]);
        }
        if (pe[i] >= 0) {
            close(pe[i]);
        }
    }
    posix_spawn_file_actions_destroy(&fa);
    ash__buf_free(&obuf);
    ash__buf_free(&ebuf);
    return rc;
}
