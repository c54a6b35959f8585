/* clock: the one monotonic clock of the program, in seconds as a double (timings, progress,
 * latencies, body deadlines), and the absolute deadline a pthread_cond_timedwait needs on a
 * condition variable set to the same clock. Never the wall clock: timings must not jump when
 * NTP steps the time. Process CPU time (tools/bench_ops.c) and wall-clock timestamps (the access
 * log) are other clocks and stay where they are used. */
#ifndef INSPECTD_CLOCK_H
#define INSPECTD_CLOCK_H

#include <time.h>

/* Seconds on CLOCK_MONOTONIC (an arbitrary origin: only differences mean anything). */
double clock_now(void);
/* Seconds since t0, a value clock_now() returned. */
double clock_since(double t0);
/* The CLOCK_MONOTONIC time `seconds` from now, for pthread_cond_timedwait on a condition variable
 * initialised with pthread_condattr_setclock(CLOCK_MONOTONIC). */
void clock_deadline(struct timespec *ts, double seconds);

#endif
