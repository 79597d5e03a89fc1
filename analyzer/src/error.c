/*
 * Error recording: the last error's one-line message, per thread.
 */
#include "util.h"

#include <stdio.h>

static _Thread_local char last_error[1024];

const char *ash_error_last(void)
{
    return last_error;
}

int ash__error(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof(last_error), fmt, ap);
    va_end(ap);
    return code;
}

int ash__error_oom(void)
{
    return ash__error(ASH_ENOMEM, "out of memory");
}

void ash__diag(ash_diag_fn diag, void *payload, const char *path, const char *fmt, ...)
{
    if (!diag) {
        return;
    }
    char message[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof(message), fmt, ap);
    va_end(ap);
    diag(path, message, payload);
}
