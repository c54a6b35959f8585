/* clock: see clock.h. */
#include "clock.h"

double clock_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

double clock_since(double t0)
{
    return clock_now() - t0;
}

void clock_deadline(struct timespec *ts, double seconds)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    long long whole = (long long)seconds;
    long long ns = ts->tv_nsec + (long long)((seconds - (double)whole) * 1e9);
    ts->tv_sec += (time_t)(whole + ns / 1000000000LL);
    ts->tv_nsec = (long)(ns % 1000000000LL);
}
