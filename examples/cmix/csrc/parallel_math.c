/* Threads and libm: natively linked on a new glibc these pick GLIBC_2.29 (log, pow, exp) and
 * GLIBC_2.34 (pthread_create, pthread_join) symbol versions; zig's glibc 2.17 stubs must not. */
#include <math.h>
#include <pthread.h>
#include <stdint.h>

#define WORKERS 4

struct slice {
    uint64_t start;
    uint64_t end;
    uint64_t sum;
};

static void *sum_slice(void *arg) {
    struct slice *s = (struct slice *)arg;
    uint64_t total = 0;
    for (uint64_t i = s->start; i < s->end; i++) {
        total += i;
    }
    s->sum = total;
    return NULL;
}

/* Sum 0..n-1 on WORKERS threads; returns UINT64_MAX when a thread cannot be started. */
uint64_t cmix_parallel_sum(uint64_t n) {
    pthread_t threads[WORKERS];
    struct slice slices[WORKERS];
    uint64_t step = n / WORKERS;
    for (int i = 0; i < WORKERS; i++) {
        slices[i].start = step * (uint64_t)i;
        slices[i].end = (i == WORKERS - 1) ? n : step * (uint64_t)(i + 1);
        slices[i].sum = 0;
        if (pthread_create(&threads[i], NULL, sum_slice, &slices[i]) != 0) {
            return UINT64_MAX;
        }
    }
    uint64_t total = 0;
    for (int i = 0; i < WORKERS; i++) {
        pthread_join(threads[i], NULL);
        total += slices[i].sum;
    }
    return total;
}

double cmix_log_pow_exp(double x) {
    return log(x) + pow(x, 1.5) + exp(x / 10.0);
}
