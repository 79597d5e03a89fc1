/*
 * Shards (see shard.h): the "K/N" argument, the longest-processing-time-first split of a plan,
 * and the round-robin split of a shard run without a plan.
 *
 * The balance is Graham's LPT rule: sort by duration descending, then put each module on the
 * least loaded shard, found with a binary min-heap of the shards in use. Its total is never
 * more than 4/3 - 1/(3N) times the best possible longest shard, in O(n log n): the long
 * modules are spread first and the short ones fill the gaps.
 */
#include "shard.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>

/* The decimal number s[*at..] up to `stop` (exclusive), at most ASH_SHARD_MAX; advances *at.
 * 0, or -1 if there is no digit, something else, or too large a number. */
static int parse_number(const char *s, size_t *at, char stop, unsigned *out)
{
    size_t i = *at;
    unsigned v = 0;
    if (s[i] < '0' || s[i] > '9') {
        return -1;
    }
    for (; s[i] >= '0' && s[i] <= '9'; i++) {
        v = v * 10 + (unsigned)(s[i] - '0');
        if (v > ASH_SHARD_MAX) {
            return -1; /* before it can overflow: v stays below 10 * ASH_SHARD_MAX + 10 */
        }
    }
    if (s[i] != stop) {
        return -1;
    }
    *at = i;
    *out = v;
    return 0;
}

int ash__shard_parse(const char *s, unsigned *k, unsigned *n)
{
    assert(s && k && n);
    size_t at = 0;
    unsigned kk, nn;
    if (parse_number(s, &at, '/', &kk) < 0) {
        goto bad;
    }
    at++; /* the '/' */
    if (parse_number(s, &at, '\0', &nn) < 0 || kk < 1 || kk > nn) {
        goto bad;
    }
    *k = kk;
    *n = nn;
    return 0;
bad:
    return ash__error(ASH_EINVAL,
                      "invalid shard '%s': expected K/N, two numbers with 1 <= K <= N <= %d", s,
                      ASH_SHARD_MAX);
}

/* A module to place. */
typedef struct job {
    double seconds;
    size_t index;
} job;

/* A shard in the heap. */
typedef struct bin {
    double load;
    size_t modules;
    unsigned shard;
} bin;

/* Longest first; equal durations in index order. */
static int cmp_job(const void *a, const void *b)
{
    const job *x = a, *y = b;
    if (x->seconds != y->seconds) {
        return x->seconds > y->seconds ? -1 : 1;
    }
    return (x->index > y->index) - (x->index < y->index);
}

/* Whether shard `a` is to be filled before shard `b`. */
static int bin_before(const bin *a, const bin *b)
{
    if (a->load != b->load) {
        return a->load < b->load;
    }
    if (a->modules != b->modules) {
        return a->modules < b->modules;
    }
    return a->shard < b->shard;
}

/* Restore the heap order below heap[0] after its key grew. */
static void sift_down(bin *heap, size_t n)
{
    size_t i = 0;
    for (;;) {
        size_t least = i, l = 2 * i + 1, r = l + 1;
        if (l < n && bin_before(&heap[l], &heap[least])) {
            least = l;
        }
        if (r < n && bin_before(&heap[r], &heap[least])) {
            least = r;
        }
        if (least == i) {
            return;
        }
        bin t = heap[i];
        heap[i] = heap[least];
        heap[least] = t;
        i = least;
    }
}

static int known(double s)
{
    return isfinite(s) && s >= 0;
}

int ash__shard_balance(const double *seconds, size_t count, unsigned shards, unsigned *out_shard,
                       double *out_totals)
{
    assert(shards >= 1 && (count == 0 || (seconds && out_shard)));
    if (out_totals) {
        for (unsigned s = 0; s < shards; s++) {
            out_totals[s] = 0;
        }
    }
    if (count == 0) {
        return 0;
    }
    /* With fewer modules than shards, each module gets a shard of its own, the lowest unused
     * one (an empty shard comes before any other of equal load): the heap needs only these. */
    size_t used = count < shards ? count : shards;
    if (count > SIZE_MAX / sizeof(job)) {
        return ash__error_oom();
    }
    job *jobs = ash__malloc(count * sizeof(job));
    bin *heap = ash__malloc(used * sizeof(bin));
    if (!jobs || !heap) {
        ash__free(jobs);
        ash__free(heap);
        return ash__error_oom();
    }
    double sum = 0;
    size_t nknown = 0;
    for (size_t i = 0; i < count; i++) {
        if (known(seconds[i])) {
            sum += seconds[i];
            nknown++;
        }
    }
    double mean = nknown ? sum / (double)nknown : 1.0;
    for (size_t i = 0; i < count; i++) {
        jobs[i].seconds = known(seconds[i]) ? seconds[i] : mean;
        jobs[i].index = i;
    }
    qsort(jobs, count, sizeof(job), cmp_job);
    /* Equal empty shards in ascending order are already a heap. */
    for (size_t s = 0; s < used; s++) {
        heap[s] = (bin){0, 0, (unsigned)s};
    }
    for (size_t i = 0; i < count; i++) {
        out_shard[jobs[i].index] = heap[0].shard;
        heap[0].load += jobs[i].seconds;
        heap[0].modules++;
        sift_down(heap, used);
    }
    if (out_totals) {
        for (size_t s = 0; s < used; s++) {
            out_totals[heap[s].shard] = heap[s].load;
        }
    }
    ash__free(jobs);
    ash__free(heap);
    return 0;
}

unsigned ash__shard_round_robin(size_t index, unsigned shards)
{
    assert(shards >= 1);
    return (unsigned)(index % shards);
}
