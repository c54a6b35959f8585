/* options: the one options machinery of every inspectd command. A command describes its options
 * as a table (flag, environment variable, type, where the value goes, range or choices, help);
 * from that one table come its --help text, its environment variables and the checks of every
 * value, with one message style (core/parse.h):
 *
 *     inspectd serve: --port '70000': expected an integer in [0, 65535]
 *
 * Adding an option is adding a row. Values go into the command's own settings struct, which the
 * caller fills with its defaults first; --help shows those defaults. Environment variables are
 * applied before the flags, so `--port 9000` beats INSPECTD_PORT. Flags take their value as
 * `--flag value` or `--flag=value`; `--` ends the options. This file knows nothing of any one
 * command: the rows several commands share are the macros at the end. */
#ifndef INSPECTD_CLI_OPTIONS_H
#define INSPECTD_CLI_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "anogan.h"
#include "status.h"

enum cli_type {
    CLI_STR,    /* char[size], copied (too long is an error); choices, if set: the allowed texts */
    CLI_ARG,    /* const char *, pointing into argv or the environment; choices as for CLI_STR */
    CLI_INT,    /* int in [lo, hi] */
    CLI_FLOAT,  /* float in [lo, hi], finite */
    CLI_U64,    /* uint64_t, any */
    CLI_SIZE,   /* size_t in [lo, hi], with K/M/G suffixes */
    CLI_BOOL,   /* bool from 1/0, true/false, yes/no, on/off; alone on the command line: true */
    CLI_FLAG,   /* bool set true by the bare flag, which takes no value */
    CLI_CHOICE, /* int (or an enum in the same order): the index of the value in choices */
    CLI_CUSTOM, /* parse(field, name, value) stores it */
};

struct cli_option {
    const char *flag;      /* "--port" */
    const char *env;       /* "INSPECTD_PORT", or NULL */
    enum cli_type type;
    size_t offset, size;   /* the field in the settings struct; size: its sizeof (CLI_STR) */
    size_t set;            /* offsetof + 1 of a bool set true when the option is given; 0: none */
    double lo, hi;         /* CLI_INT, CLI_FLOAT, CLI_SIZE */
    const char *choices;   /* "auto|random|encoder" */
    enum status (*parse)(void *field, const char *name, const char *value); /* CLI_CUSTOM */
    const char *value_name;/* "N", "FILE" in --help (default: by type) */
    const char *help;
    const char *def;       /* the default as --help shows it; NULL: the field's value as it
                              stands before parsing ("" strings and NULL shown as none) */
    bool required;
};

struct cli_command {
    const char *name;      /* "score", "train anogan": in messages and usage */
    const char *usage;     /* the synopsis after "inspectd NAME " */
    const char *about;     /* lines between the synopsis and the options, or NULL */
    const struct cli_option *options;
    size_t noptions;
    int positionals;       /* arguments that are not options: 0, or -1 for any number */
    const char *footer;    /* lines after the options, or NULL */
};

/* What cli_parse found. */
enum cli_parsed {
    CLI_PARSED_OK,    /* settings filled: run the command */
    CLI_PARSED_HELP,  /* --help was printed on stdout: exit 0 */
    CLI_PARSED_USAGE, /* a message was written to err: exit 2 */
};

/* Applies the environment variables, then argv (argv[0] is the command's name), to settings.
 * Arguments that are not options are moved, in order, to argv[1..*npositional] (npositional may
 * be NULL for a command that takes none). */
enum cli_parsed cli_parse(const struct cli_command *cmd, void *settings, int argc, char **argv,
                          int *npositional, FILE *err);
/* Writes the --help text, with the defaults as they stand in settings. */
void cli_usage(const struct cli_command *cmd, const void *settings, FILE *f);
/* The value of flag on the command line (as `flag v` or `flag=v`), or NULL: for an option whose
 * value sets the defaults of others (train's --recipe), read before cli_parse. */
const char *cli_peek(int argc, char **argv, const char *flag);

/* Row helpers: the field's offset and size, and its set flag, in struct T. */
#define CLI_AT(T, field) offsetof(T, field), sizeof(((T *)0)->field)
#define CLI_SET(T, field) (offsetof(T, field) + 1)

/* The search settings of serve, score and eval, into the struct anogan_search_layer `layer` of
 * T: each sets its has_ flag, so what is not given falls to the next layer
 * (anogan_search_resolve). The variables are the daemon's, so `inspectd score` run beside a
 * daemon configured through its environment scores as it does. */
#define CLI_SEARCH_OPTIONS(T, layer)                                                            \
    {"--search", "INSPECTD_SEARCH", CLI_CHOICE, CLI_AT(T, layer.mode), CLI_SET(T, layer.has_mode),\
     .choices = ANOGAN_MODE_CHOICES, .value_name = "MODE", .def = "auto",                        \
     .help = "start of the search: auto (the encoder if the model has one), random, encoder"},   \
    {"--iterations", "INSPECTD_ITERATIONS", CLI_INT, CLI_AT(T, layer.iterations),                 \
     CLI_SET(T, layer.has_iterations), 0, 1e9, .def = "random start 100, encoder start 0",       \
     .help = "search steps (after the encoder start, refinement steps)"},                         \
    {"--lr", "INSPECTD_LR", CLI_FLOAT, CLI_AT(T, layer.lr), CLI_SET(T, layer.has_lr), 1e-8, 10,    \
     .def = "0.05", .help = "Adam learning rate of the search"},                                  \
    {"--patience", "INSPECTD_PATIENCE", CLI_INT, CLI_AT(T, layer.patience),                       \
     CLI_SET(T, layer.has_patience), 0, 1e9, .def = "0",                                          \
     .help = "early stop after N steps without a relative gain of --tol (0: off)"},               \
    {"--tol", "INSPECTD_TOL", CLI_FLOAT, CLI_AT(T, layer.tol), CLI_SET(T, layer.has_tol), 0, 1,   \
     .def = "0", .help = "relative gain that counts as progress for --patience"}
/* The base seed of the random start: image i of a run starts from seed + i. */
#define CLI_SEED_OPTION(T, layer)                                                               \
    {"--seed", "INSPECTD_SEED", CLI_U64, CLI_AT(T, layer.seed), CLI_SET(T, layer.has_seed),       \
     .def = "0", .help = "seed of the random start"}

/* The data selection of train and eval, into the struct dataset_options `opt` of T. */
enum status cli_parse_range(void *field, const char *name, const char *value);
#define CLI_DATA_OPTIONS(T, opt)                                                                \
    {"--data", NULL, CLI_ARG, CLI_AT(T, opt.path), .value_name = "PATH", .required = true,      \
     .help = "IDX pair (a folder holding images-idx3-ubyte[.gz] and labels-idx1-ubyte[.gz], or "  \
             "the images file) or a folder of PNGs (PNGs in class subfolders are labelled by "    \
             "the folder name)"},                                                                  \
    {"--split", NULL, CLI_ARG, CLI_AT(T, opt.split), .choices = "train|test",                     \
     .help = "which IDX pair of a folder holding both (train-*, t10k-*)"},                       \
    {"--range", NULL, CLI_CUSTOM, CLI_AT(T, opt.range), .parse = cli_parse_range,               \
     .value_name = "A:B", .help = "items A..B-1 in file order, counts or percentages (0:50%)"},  \
    {"--limit", NULL, CLI_SIZE, CLI_AT(T, opt.limit), 0, 1, 1 << 30, .value_name = "N",           \
     .def = "all", .help = "at most N images (the first after range and classes)"}

/* --precision fp32|bf16, stored as text (type CLI_ARG or CLI_STR); cli_set_precision (common.h)
 * applies it. */
#define CLI_PRECISION_OPTION(T, field, type)                                                    \
    {"--precision", "INSPECTD_PRECISION", type, CLI_AT(T, field), .choices = "fp32|bf16",       \
     .value_name = "P", .def = "fp32",                                                            \
     .help = "arithmetic of the products: fp32, or bf16 through oneDNN (pays only with AMX; see " \
             "docs/benchmarks.md)"}

#endif
