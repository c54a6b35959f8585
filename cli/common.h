/* common: what several commands share beyond their options: applying --precision, the compute
 * line of start-up logs and benchmark headers, the progress display of training and scoring (a
 * bar on a terminal, log lines otherwise), Ctrl-C handling, and loading a data set with a report
 * of what was loaded. JSON output goes through core's writer (json_write.h, included here for
 * every command). */
#ifndef INSPECTD_CLI_COMMON_H
#define INSPECTD_CLI_COMMON_H

#include <stdbool.h>
#include <stdio.h>

#include "dataset.h"
#include "json_write.h"
#include "train.h"

/* Sets the arithmetic named by --precision (already checked to be fp32 or bf16 by the option
 * table; NULL leaves the default) for command `cmd`. 0, or 1 when this machine cannot run it
 * (message printed). */
int cli_set_precision(const char *cmd, const char *precision);
/* --threads (0 leaves the default) and --precision together, as the commands that take both
 * set them before any work: 0, or cli_set_precision's 1. */
int cli_set_compute(const char *cmd, int threads, const char *precision);
/* One line on what runs the numbers: the BLAS and its kernels, the small-product tiles, the
 * precision and (for bf16) its backend, and the CPU's bf16 units. 512 bytes hold it. */
void cli_describe_compute(char *buf, size_t len);

/* Sets *flag to 1 on SIGINT/SIGTERM (a second signal kills as usual). */
void cli_catch_signals(volatile int *flag);
extern volatile int cli_cancel;

/* The progress hook: a redrawn bar on a terminal, a log line per epoch (and per checkpoint)
 * otherwise. user: a struct cli_progress. */
struct cli_progress {
    bool tty;
    FILE *out;
    int last_len;
    double next_log_s; /* scoring progress off a terminal: next log line after this time */
};
void cli_progress_init(struct cli_progress *p, FILE *out);
void cli_train_progress(void *user, const struct train_progress *p);
/* The scoring progress hook (train_score_progress_fn): images scored, images/s and ETA, redrawn
 * on a terminal, a log line every 10 s otherwise. user: a struct cli_progress. */
void cli_score_progress(void *user, double done, size_t total, double seconds);
/* On a terminal: draws line over the bar line (blanking what the last one had beyond it), and
 * ends it with a newline when end. */
void cli_progress_redraw(struct cli_progress *p, const char *line, bool end);
/* Ends a bar line (newline on a terminal). */
void cli_progress_end(struct cli_progress *p);

/* Ends w and prints it as one line on stdout. 0, or 1 (message on stderr) when an allocation
 * failed on the way. */
int cli_print_json(struct json_writer *w);

/* Loads a data set, reporting what was loaded on stderr. Returns 0 or 1 (error printed). */
int cli_load_data(struct dataset *ds, const struct dataset_options *opt, const struct anogan *m);

#endif
