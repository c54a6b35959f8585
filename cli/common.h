/* train_cli: command-line pieces shared by `inspectd train ...` and `inspectd eval anogan`:
 * number parsing, the data-selection options, the progress display (a bar on a terminal, log
 * lines otherwise), Ctrl-C handling and JSON string output. */
#ifndef INSPECTD_TRAIN_CLI_H
#define INSPECTD_TRAIN_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "dataset.h"
#include "train.h"

/* 0 on success, -1 if s is not a number in [lo, hi]. */
int train_cli_int(const char *s, long lo, long hi, int *out);
int train_cli_float(const char *s, double lo, double hi, float *out);
int train_cli_u64(const char *s, uint64_t *out);
/* --precision fp32|bf16 for command `cmd`: sets it (ops_set_precision) or prints why not.
 * 0 on success, 2 for an unknown name, 1 when this machine cannot run it. */
int train_cli_precision(const char *cmd, const char *value);
/* One line on what runs the numbers: the BLAS and its kernels, the small-product tiles, the
 * precision and (for bf16) its backend, and the CPU's bf16 units. For start-up logs and
 * benchmark headers; 512 bytes hold it. */
void train_cli_describe_compute(char *buf, size_t len);
/* "B1,B2" into two floats in [0, 1). */
int train_cli_pair(const char *s, float *a, float *b);

/* Handles one data-selection option (--data, --split, --classes, --range, --limit) into opt.
 * Returns 1 if name was one of them (and its value parsed), 0 if not, -1 on a bad value
 * (message printed). name has no leading dashes. */
int train_cli_data_option(struct dataset_options *opt, const char *name, const char *value);
/* Usage lines for those options. */
void train_cli_data_usage(FILE *f);

/* Sets *flag to 1 on SIGINT/SIGTERM (a second signal kills as usual). */
void train_cli_catch_signals(volatile int *flag);
extern volatile int train_cli_cancel;

/* The progress hook: a redrawn bar on a terminal, a log line per epoch (and per checkpoint)
 * otherwise. user: a struct train_cli_progress. */
struct train_cli_progress {
    bool tty;
    FILE *out;
    int last_len;
    double next_log_s; /* scoring progress off a terminal: next log line after this time */
};
void train_cli_progress_init(struct train_cli_progress *p, FILE *out);
void train_cli_progress(void *user, const struct train_progress *p);
/* The scoring progress hook (train_score_progress_fn): images scored, images/s and ETA, redrawn
 * on a terminal, a log line every 10 s otherwise. user: a struct train_cli_progress. */
void train_cli_score_progress(void *user, double done, size_t total, double seconds);
/* Ends a bar line (newline on a terminal). */
void train_cli_progress_end(struct train_cli_progress *p);

/* Prints s as a JSON string literal to f. */
void train_cli_json_string(FILE *f, const char *s);

/* Loads a data set, reporting what was loaded on stderr. Returns 0 or 1 (error printed). */
int train_cli_load(struct dataset *ds, const struct dataset_options *opt, const struct anogan *m);

#endif
