/*
 * A diagnostics callback for the unit tests: counts the warnings it gets and keeps the last
 * one. Pass `diag_log_add` with a `diag_log *` as payload. Header-only.
 */
#ifndef ASH_TEST_DIAG_LOG_H
#define ASH_TEST_DIAG_LOG_H

#include <stdio.h>

typedef struct diag_log {
    int count;
    char last[512];
} diag_log;

static inline void diag_log_add(const char *path, const char *message, void *payload)
{
    (void)path;
    diag_log *log = payload;
    log->count++;
    snprintf(log->last, sizeof(log->last), "%s", message);
}

#endif
