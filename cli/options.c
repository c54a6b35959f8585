/* options: parsing, checking and --help from one option table per command; see options.h. Every
 * number goes through core/parse.c, which also checks the daemon's request fields, so a flag
 * and a query parameter refuse a bad value in the same words. */
#include "options.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "dataset.h"
#include "parse.h"

enum { HELP_WIDTH = 100, FLAG_COLUMN = 24, MAX_OPTIONS = 128 };

enum status cli_parse_range(void *field, const char *name, const char *value)
{
    (void)name; /* dataset_parse_range's message names the range and what it expects */
    return dataset_parse_range(field, value);
}

/* Stores value into o's field; STATUS_OK, or a status with its message. */
static enum status store(const struct cli_option *o, void *settings, const char *name,
                         const char *value)
{
    char *field = (char *)settings + o->offset;
    enum status st = STATUS_OK;
    long long i;
    double d;
    int k;
    switch (o->type) {
    case CLI_STR:
    case CLI_ARG:
        if (o->choices && (st = parse_choice(&k, name, value, o->choices)))
            return st;
        if (o->type == CLI_ARG) {
            *(const char **)field = value;
        } else {
            if (strlen(value) >= o->size)
                return status_fail(STATUS_RANGE, "%s '%.40s%s': expected at most %zu characters",
                                   name, value, strlen(value) > 40 ? "..." : "", o->size - 1);
            memcpy(field, value, strlen(value) + 1);
        }
        break;
    case CLI_INT:
        ASSERT(o->size == sizeof(int));
        if (!(st = parse_int(&i, name, value, (long long)o->lo, (long long)o->hi)))
            *(int *)field = (int)i;
        break;
    case CLI_FLOAT:
        ASSERT(o->size == sizeof(float));
        if (!(st = parse_float(&d, name, value, o->lo, o->hi)))
            *(float *)field = (float)d;
        break;
    case CLI_U64:
        ASSERT(o->size == sizeof(uint64_t));
        st = parse_u64((uint64_t *)field, name, value);
        break;
    case CLI_SIZE:
        ASSERT(o->size == sizeof(size_t));
        st = parse_size((size_t *)field, name, value, (size_t)o->lo, (size_t)o->hi);
        break;
    case CLI_BOOL:
    case CLI_FLAG:
        ASSERT(o->size == sizeof(bool));
        st = parse_bool((bool *)field, name, value);
        break;
    case CLI_CHOICE:
        ASSERT(o->size == sizeof(int)); /* an enum field: its constants in choices' order */
        st = parse_choice((int *)field, name, value, o->choices);
        break;
    case CLI_CUSTOM:
        st = o->parse(field, name, value);
        break;
    }
    if (!st && o->set)
        *((bool *)((char *)settings + o->set - 1)) = true;
    return st;
}

static const struct cli_option *find(const struct cli_command *cmd, const char *arg, size_t len)
{
    for (size_t i = 0; i < cmd->noptions; i++)
        if (strlen(cmd->options[i].flag) == len && !strncmp(cmd->options[i].flag, arg, len))
            return &cmd->options[i];
    return NULL;
}

static bool is_help(const char *arg)
{
    return !strcmp(arg, "--help") || !strcmp(arg, "-h");
}

enum cli_parsed cli_parse(const struct cli_command *cmd, void *settings, int argc, char **argv,
                          int *npositional, FILE *err)
{
    ASSERT(cmd->noptions <= MAX_OPTIONS);
    bool given[MAX_OPTIONS] = {false};
    for (int a = 1; a < argc && strcmp(argv[a], "--"); a++) {
        if (is_help(argv[a])) { /* before the environment: --help shows the built-in defaults */
            cli_usage(cmd, settings, stdout);
            return CLI_PARSED_HELP;
        }
    }
    for (size_t i = 0; i < cmd->noptions; i++) {
        const struct cli_option *o = &cmd->options[i];
        const char *v = o->env ? getenv(o->env) : NULL;
        if (!v || !v[0])
            continue;
        if (store(o, settings, o->env, v)) {
            fprintf(err, "inspectd %s: %s\n", cmd->name, status_message());
            return CLI_PARSED_USAGE;
        }
        given[i] = true;
    }
    int npos = 0;
    bool options_end = false;
    for (int a = 1; a < argc; a++) {
        const char *arg = argv[a];
        if (options_end || arg[0] != '-' || !arg[1]) { /* "-" alone is a file name (stdin) */
            argv[1 + npos++] = argv[a]; /* 1 + npos <= a: nothing unread is overwritten */
            continue;
        }
        if (!strcmp(arg, "--")) {
            options_end = true;
            continue;
        }
        const char *eq = strchr(arg, '=');
        const struct cli_option *o = find(cmd, arg, eq ? (size_t)(eq - arg) : strlen(arg));
        if (!o) {
            fprintf(err, "inspectd %s: unknown option '%s' (see inspectd %s --help)\n", cmd->name,
                    arg, cmd->name);
            return CLI_PARSED_USAGE;
        }
        const char *value = eq ? eq + 1 : NULL;
        bool b;
        if (!value && o->type == CLI_FLAG)
            value = "1";
        if (!value && o->type == CLI_BOOL) /* "--access-log", "--access-log 0", "--access-log=0" */
            value = a + 1 < argc && !parse_bool(&b, o->flag, argv[a + 1]) ? argv[++a] : "1";
        if (!value) {
            if (a + 1 >= argc) {
                fprintf(err, "inspectd %s: %s needs a value (see inspectd %s --help)\n",
                        cmd->name, o->flag, cmd->name);
                return CLI_PARSED_USAGE;
            }
            value = argv[++a];
        }
        if (store(o, settings, o->flag, value)) {
            fprintf(err, "inspectd %s: %s\n", cmd->name, status_message());
            return CLI_PARSED_USAGE;
        }
        given[o - cmd->options] = true;
    }
    if (npos && !cmd->positionals) {
        fprintf(err, "inspectd %s: unexpected argument '%s' (see inspectd %s --help)\n",
                cmd->name, argv[1], cmd->name);
        return CLI_PARSED_USAGE;
    }
    for (size_t i = 0; i < cmd->noptions; i++) {
        if (cmd->options[i].required && !given[i]) {
            fprintf(err, "inspectd %s: %s is required (see inspectd %s --help)\n", cmd->name,
                    cmd->options[i].flag, cmd->name);
            return CLI_PARSED_USAGE;
        }
    }
    if (npositional)
        *npositional = npos;
    return CLI_PARSED_OK;
}

const char *cli_peek(int argc, char **argv, const char *flag)
{
    size_t n = strlen(flag);
    for (int a = 1; a < argc && strcmp(argv[a], "--"); a++) {
        if (!strncmp(argv[a], flag, n) && argv[a][n] == '=')
            return argv[a] + n + 1;
        if (!strcmp(argv[a], flag) && a + 1 < argc)
            return argv[a + 1];
    }
    return NULL;
}

/* ---- --help ---- */

/* A byte count as --max-body takes it: "8M" rather than 8388608 when it is a whole unit. */
static void size_text(char *buf, size_t len, size_t v)
{
    static const char units[] = "GMK";
    for (int u = 0; u < 3; u++) {
        size_t unit = (size_t)1 << (10 * (3 - u));
        if (v && v % unit == 0) {
            snprintf(buf, len, "%zu%c", v / unit, units[u]);
            return;
        }
    }
    snprintf(buf, len, "%zu", v);
}

/* The option's default as --help shows it ("" when there is none to show). */
static void default_text(char *buf, size_t len, const struct cli_option *o, const void *settings)
{
    const char *field = (const char *)settings + o->offset;
    buf[0] = 0;
    if (o->def) {
        snprintf(buf, len, "%s", o->def);
        return;
    }
    switch (o->type) {
    case CLI_STR:
        snprintf(buf, len, "%s", field);
        break;
    case CLI_ARG:
        snprintf(buf, len, "%s", *(const char *const *)field ? *(const char *const *)field : "");
        break;
    case CLI_INT:
        snprintf(buf, len, "%d", *(const int *)field);
        break;
    case CLI_FLOAT:
        snprintf(buf, len, "%g", (double)*(const float *)field);
        break;
    case CLI_U64:
        snprintf(buf, len, "%" PRIu64, *(const uint64_t *)field);
        break;
    case CLI_SIZE:
        size_text(buf, len, *(const size_t *)field);
        break;
    case CLI_BOOL:
        snprintf(buf, len, "%d", *(const bool *)field);
        break;
    case CLI_CHOICE: {
        const char *p = o->choices;
        for (int k = *(const int *)field; k > 0 && *p; k--)
            p += strcspn(p, "|") + (p[strcspn(p, "|")] == '|');
        snprintf(buf, len, "%.*s", (int)strcspn(p, "|"), p);
        break;
    }
    case CLI_FLAG:
    case CLI_CUSTOM:
        break;
    }
}

static const char *value_name(const struct cli_option *o)
{
    if (o->value_name)
        return o->value_name;
    switch (o->type) {
    case CLI_FLAG: return "";
    case CLI_BOOL: return "[1|0]";
    case CLI_INT:
    case CLI_U64: return "N";
    case CLI_FLOAT: return "X";
    case CLI_SIZE: return "BYTES";
    case CLI_CHOICE: return o->choices;
    case CLI_STR:
    case CLI_ARG: return o->choices ? o->choices : "TEXT";
    case CLI_CUSTOM: break;
    }
    return "VALUE";
}

/* Writes text word-wrapped from column `col` to HELP_WIDTH, the first line already at col. */
static void wrap(FILE *f, const char *text, int col)
{
    int at = col;
    for (const char *p = text; *p;) {
        size_t word = strcspn(p, " ");
        if (at > col && at + 1 + (int)word > HELP_WIDTH) {
            fprintf(f, "\n%*s", col, "");
            at = col;
        } else if (at > col) {
            fputc(' ', f);
            at++;
        }
        fprintf(f, "%.*s", (int)word, p);
        at += (int)word;
        p += word;
        p += strspn(p, " ");
    }
    fputc('\n', f);
}

void cli_usage(const struct cli_command *cmd, const void *settings, FILE *f)
{
    fprintf(f, "usage: inspectd %s %s\n", cmd->name, cmd->usage);
    if (cmd->about)
        fprintf(f, "%s", cmd->about);
    fputc('\n', f);
    for (size_t i = 0; i < cmd->noptions; i++) {
        const struct cli_option *o = &cmd->options[i];
        char head[64], def[128], text[1024];
        snprintf(head, sizeof head, "%s%s%s", o->flag, value_name(o)[0] ? " " : "",
                 value_name(o));
        default_text(def, sizeof def, o, settings);
        const char *sep = def[0] && o->env ? "; " : "";
        snprintf(text, sizeof text, "%s%s%s%s%s%s%s%s", o->help, o->required ? " (required)" : "",
                 def[0] || o->env ? " [" : "", def[0] ? "default " : "", def, sep,
                 o->env ? "env " : "", o->env ? o->env : "");
        if (def[0] || o->env)
            strncat(text, "]", sizeof text - strlen(text) - 1);
        if (strlen(head) > FLAG_COLUMN - 3) /* a long flag: its help on the next line */
            fprintf(f, "  %s\n%*s", head, FLAG_COLUMN, "");
        else
            fprintf(f, "  %-*s ", FLAG_COLUMN - 3, head);
        wrap(f, text, FLAG_COLUMN);
    }
    fprintf(f, "  %-*s %s\n", FLAG_COLUMN - 3, "--help", "this text");
    if (cmd->footer)
        fprintf(f, "\n%s", cmd->footer);
}
