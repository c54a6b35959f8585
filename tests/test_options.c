/* test_options: the command line's one options machinery (cli/options.c) on a table of every
 * type, and serve's table over the daemon's settings: environment before flags, both value
 * spellings, bare booleans, the set flags of the search layer, required options, arguments
 * that are not options, `--`, every kind of refusal in the one message style, and --help
 * generated from the table with defaults and variable names. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "config.h"
#include "options.h"
#include "testutil.h"

struct demo {
    char name[8];
    const char *path;
    int n;
    float x;
    uint64_t u;
    size_t bytes;
    bool on, flag;
    enum anogan_mode mode;
    int choice;
    bool n_set;
    int custom;
};

static enum status parse_custom(void *field, const char *name, const char *value)
{
    if (strcmp(value, "ok"))
        return status_fail(STATUS_RANGE, "%s '%s': expected ok", name, value);
    *(int *)field = 1;
    return STATUS_OK;
}

#define D struct demo
static const struct cli_option demo_options[] = {
    {"--name", "DEMO_NAME", CLI_STR, CLI_AT(D, name), .help = "a short name"},
    {"--path", NULL, CLI_ARG, CLI_AT(D, path), .value_name = "FILE", .required = true,
     .help = "a file"},
    {"--n", "DEMO_N", CLI_INT, CLI_AT(D, n), CLI_SET(D, n_set), -5, 5, .help = "a count"},
    {"--x", NULL, CLI_FLOAT, CLI_AT(D, x), 0, 0, 1, .help = "a fraction"},
    {"--u", NULL, CLI_U64, CLI_AT(D, u), .help = "a seed"},
    {"--bytes", NULL, CLI_SIZE, CLI_AT(D, bytes), 0, 1024, 1 << 20, .help = "a size"},
    {"--on", "DEMO_ON", CLI_BOOL, CLI_AT(D, on), .help = "a switch"},
    {"--flag", NULL, CLI_FLAG, CLI_AT(D, flag), .help = "a flag"},
    {"--mode", NULL, CLI_CHOICE, CLI_AT(D, mode), .choices = ANOGAN_MODE_CHOICES,
     .help = "a mode"},
    {"--pick", NULL, CLI_ARG, CLI_AT(D, path), .choices = "a|b", .help = "a or b"},
    {"--custom", NULL, CLI_CUSTOM, CLI_AT(D, custom), .parse = parse_custom, .help = "ok"},
};
#undef D

static const struct cli_command demo = {
    .name = "demo",
    .usage = "[options] FILE ...",
    .about = "A demonstration.\n",
    .options = demo_options,
    .noptions = sizeof demo_options / sizeof demo_options[0],
    .positionals = -1,
    .footer = "the end\n",
};

/* Parses first and the NULL-terminated rest in ap (copied: cli_parse reorders argv); messages
 * go to *msg (the caller frees it), the positionals to npos and out_pos when not NULL. */
static enum cli_parsed run_list(const struct cli_command *cmd, void *settings, char **msg,
                                int *npos, char *out_pos[], const char *first, va_list ap)
{
    char *argv[32];
    int argc = 0;
    for (const char *a = first; a; a = va_arg(ap, const char *))
        argv[argc++] = (char *)a;
    argv[argc] = NULL;
    size_t len = 0;
    FILE *err = open_memstream(msg, &len);
    int n = 0;
    enum cli_parsed r = cli_parse(cmd, settings, argc, argv, &n, err);
    fclose(err);
    if (npos)
        *npos = n;
    for (int i = 0; out_pos && i < n; i++)
        out_pos[i] = argv[1 + i];
    return r;
}

/* run_list on a NULL-terminated argument list. */
static enum cli_parsed run(const struct cli_command *cmd, void *settings, char **msg,
                           int *npos, char *out_pos[], const char *first, ...)
{
    va_list ap;
    va_start(ap, first);
    enum cli_parsed r = run_list(cmd, settings, msg, npos, out_pos, first, ap);
    va_end(ap);
    return r;
}

/* The refusal, with its message. */
static void refused(const char *want, const char *first, ...)
{
    struct demo d = {0};
    char *msg = NULL;
    va_list ap;
    va_start(ap, first);
    enum cli_parsed r = run_list(&demo, &d, &msg, NULL, NULL, first, ap);
    va_end(ap);
    ck_assert_int_eq(r, CLI_PARSED_USAGE);
    ck_assert_msg(!strcmp(msg, want), "message '%s', want '%s'", msg, want);
    free(msg);
}

START_TEST(test_every_type)
{
    struct demo d = {.n = 2};
    char *msg = NULL, *pos[8];
    int npos;
    ck_assert_int_eq(run(&demo, &d, &msg, &npos, pos, "demo", "one.png", "--name", "abc",
                         "--path=p.txt", "--n", "-5", "--x", "0.25", "--u",
                         "18446744073709551615", "--bytes", "4K", "--on", "--flag", "--mode",
                         "encoder", "--custom", "ok", "two.png", "--", "--three", NULL),
                     CLI_PARSED_OK);
    ck_assert_msg(!msg[0], "%s", msg);
    free(msg);
    ck_assert_str_eq(d.name, "abc");
    ck_assert_str_eq(d.path, "p.txt");
    ck_assert(d.n == -5 && d.n_set);
    ck_assert(d.x == 0.25f);
    ck_assert(d.u == UINT64_MAX);
    ck_assert_uint_eq(d.bytes, 4096);
    ck_assert(d.on && d.flag && d.custom == 1);
    ck_assert_int_eq(d.mode, ANOGAN_MODE_ENCODER);
    /* arguments that are not options, in order; after "--" even what looks like one */
    ck_assert_int_eq(npos, 3);
    ck_assert_str_eq(pos[0], "one.png");
    ck_assert_str_eq(pos[1], "two.png");
    ck_assert_str_eq(pos[2], "--three");

    /* a bare boolean takes the next argument only when it is a boolean */
    struct demo e = {0};
    ck_assert_int_eq(run(&demo, &e, &msg, &npos, pos, "demo", "--path", "p", "--on", "no",
                         "--on", "x.png", NULL), CLI_PARSED_OK);
    ck_assert(e.on && npos == 1 && !strcmp(pos[0], "x.png"));
    free(msg);
    ck_assert_int_eq(run(&demo, &e, &msg, NULL, NULL, "demo", "--path", "p", "--on=off", NULL),
                     CLI_PARSED_OK);
    ck_assert(!e.on && !e.n_set); /* a set flag stays false when its option is not given */
    free(msg);
}
END_TEST

START_TEST(test_environment_then_flags)
{
    setenv("DEMO_N", "3", 1);
    setenv("DEMO_NAME", "env", 1);
    setenv("DEMO_ON", "", 1); /* empty: not set */
    struct demo d = {.on = true};
    char *msg = NULL;
    ck_assert_int_eq(run(&demo, &d, &msg, NULL, NULL, "demo", "--path", "p", "--name", "flag",
                         NULL), CLI_PARSED_OK);
    free(msg);
    ck_assert_int_eq(d.n, 3);
    ck_assert(d.n_set); /* a variable sets the option as a flag would */
    ck_assert_str_eq(d.name, "flag"); /* the flag wins */
    ck_assert(d.on);
    /* a bad variable is refused in the same words, named by the variable */
    setenv("DEMO_N", "9", 1);
    ck_assert_int_eq(run(&demo, &d, &msg, NULL, NULL, "demo", "--path", "p", NULL),
                     CLI_PARSED_USAGE);
    ck_assert_str_eq(msg, "inspectd demo: DEMO_N '9': expected an integer in [-5, 5]\n");
    free(msg);
    unsetenv("DEMO_N");
    unsetenv("DEMO_NAME");
    unsetenv("DEMO_ON");
}
END_TEST

START_TEST(test_refusals)
{
    refused("inspectd demo: --n '6': expected an integer in [-5, 5]\n", "demo", "--path", "p",
            "--n", "6", NULL);
    refused("inspectd demo: --n '1x': expected an integer in [-5, 5]\n", "demo", "--path", "p",
            "--n=1x", NULL);
    refused("inspectd demo: --x 'nan': expected a number in [0, 1]\n", "demo", "--path", "p",
            "--x", "nan", NULL);
    refused("inspectd demo: --u '-1': expected an integer in [0, 2^64)\n", "demo", "--path", "p",
            "--u", "-1", NULL);
    refused("inspectd demo: --bytes '2M': expected a byte count in [1024, 1048576] (K, M, G "
            "suffixes)\n", "demo", "--path", "p", "--bytes", "2M", NULL);
    refused("inspectd demo: --mode 'sideways': expected auto, random or encoder\n", "demo",
            "--path", "p", "--mode", "sideways", NULL);
    refused("inspectd demo: --pick 'c': expected a or b\n", "demo", "--path", "p", "--pick", "c",
            NULL);
    refused("inspectd demo: --on 'maybe': expected 1 or 0 (true/false, yes/no, on/off)\n", "demo",
            "--path", "p", "--on=maybe", NULL);
    refused("inspectd demo: --name 'toolongname': expected at most 7 characters\n", "demo",
            "--path", "p", "--name", "toolongname", NULL);
    refused("inspectd demo: --custom 'no': expected ok\n", "demo", "--path", "p", "--custom", "no",
            NULL);
    refused("inspectd demo: unknown option '--nope' (see inspectd demo --help)\n", "demo",
            "--path", "p", "--nope", NULL);
    refused("inspectd demo: unknown option '-n' (see inspectd demo --help)\n", "demo", "--path",
            "p", "-n", "1", NULL);
    refused("inspectd demo: --n needs a value (see inspectd demo --help)\n", "demo", "--path", "p",
            "--n", NULL);
    refused("inspectd demo: --path is required (see inspectd demo --help)\n", "demo", "x.png",
            NULL);
    refused("inspectd demo: --flag '2': expected 1 or 0 (true/false, yes/no, on/off)\n", "demo",
            "--path", "p", "--flag=2", NULL);
}
END_TEST

START_TEST(test_no_positionals)
{
    struct cli_command strict = demo;
    strict.positionals = 0;
    struct demo d = {0};
    char *msg = NULL;
    ck_assert_int_eq(run(&strict, &d, &msg, NULL, NULL, "demo", "--path", "p", "stray", NULL),
                     CLI_PARSED_USAGE);
    ck_assert_str_eq(msg,
                     "inspectd demo: unexpected argument 'stray' (see inspectd demo --help)\n");
    free(msg);
}
END_TEST

START_TEST(test_help)
{
    struct demo d = {.n = 2, .x = 0.5f, .bytes = 8 << 20, .mode = ANOGAN_MODE_RANDOM};
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    cli_usage(&demo, &d, f);
    fclose(f);
    ck_assert_msg(!strncmp(text, "usage: inspectd demo [options] FILE ...\nA demonstration.\n", 56),
                  "%s", text);
    const char *want[] = {
        "  --name TEXT           a short name [env DEMO_NAME]\n",
        "  --path FILE           a file (required)\n",
        "  --n N                 a count [default 2; env DEMO_N]\n",
        "  --x X                 a fraction [default 0.5]\n",
        "  --bytes BYTES         a size [default 8M]\n",
        "  --on [1|0]            a switch [default 0; env DEMO_ON]\n",
        "  --flag                a flag\n",
        "  --mode auto|random|encoder\n                        a mode [default random]\n",
        "  --help                this text\n",
        "\nthe end\n",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        ck_assert_msg(strstr(text, want[i]), "--help lacks '%s':\n%s", want[i], text);
    /* --help anywhere wins over everything else, and over bad values */
    char *msg = NULL;
    ck_assert_int_eq(run(&demo, &d, &msg, NULL, NULL, "demo", "--n", "99", "--help", NULL),
                     CLI_PARSED_HELP);
    free(msg);
    free(text);
}
END_TEST

START_TEST(test_peek)
{
    char *a[] = {"train", "--x", "1", "--recipe", "seed", NULL};
    char *b[] = {"train", "--recipe=seed", NULL};
    char *c[] = {"train", "--", "--recipe", "seed", NULL};
    ck_assert_str_eq(cli_peek(5, a, "--recipe"), "seed");
    ck_assert_str_eq(cli_peek(2, b, "--recipe"), "seed");
    ck_assert_ptr_null(cli_peek(4, c, "--recipe"));
    ck_assert_ptr_null(cli_peek(3, a, "--recipe"));
}
END_TEST

/* serve's table over the daemon's settings: the flags and variables of docs/operations.md. */
START_TEST(test_serve_flags_and_env)
{
    struct serve_config c = config_defaults();
    setenv("INSPECTD_PORT", "9001", 1);
    setenv("INSPECTD_QUEUE", "7", 1);
    setenv("INSPECTD_ITERATIONS", "12", 1);
    char *msg = NULL;
    ck_assert_int_eq(run(&serve_command, &c, &msg, NULL, NULL, "serve", "--port", "9002",
                         "--max-body=1M", "--search", "random", "--lr", "0.01", "--access-log=0",
                         "--seed", "18446744073709551615", NULL),
                     CLI_PARSED_OK);
    free(msg);
    unsetenv("INSPECTD_PORT");
    unsetenv("INSPECTD_QUEUE");
    unsetenv("INSPECTD_ITERATIONS");
    ck_assert_int_eq(c.port, 9002); /* the flag wins over the variable */
    ck_assert_int_eq(c.queue, 7);
    ck_assert_uint_eq(c.max_body, 1u << 20);
    ck_assert(c.search.has_mode && c.search.mode == ANOGAN_MODE_RANDOM);
    ck_assert(c.search.has_lr && fabsf(c.search.lr - 0.01f) < 1e-9f);
    ck_assert(c.search.has_iterations && c.search.iterations == 12);
    ck_assert(!c.search.has_patience && !c.search.has_tol);
    ck_assert(!c.access_log);
    ck_assert(c.search.has_seed && c.search.seed == UINT64_MAX);
    ck_assert_int_eq(run(&serve_command, &c, &msg, NULL, NULL, "serve", "--access-log", "--port",
                         "1", "--access-log", "off", NULL),
                     CLI_PARSED_OK);
    free(msg);
    ck_assert(!c.access_log && c.port == 1);

    const char *bad[][4] = {{"serve", "--port", "70000", NULL},
                            {"serve", "--nope", NULL},
                            {"serve", "--workers", NULL},
                            {"serve", "--search", "sideways", NULL},
                            {"serve", "--api-key-file", "/nonexistent/key", NULL},
                            {"serve", "--precision", "fp64", NULL},
                            {"serve", "stray", NULL}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_int_eq(run(&serve_command, &c, &msg, NULL, NULL, bad[i][0], bad[i][1],
                             bad[i][2], bad[i][3], NULL),
                         CLI_PARSED_USAGE);
        ck_assert_msg(!strncmp(msg, "inspectd serve: ", 16), "%s", msg);
        free(msg);
    }
    ck_assert_int_eq(run(&serve_command, &c, &msg, NULL, NULL, "serve", "--precision", "fp64",
                         NULL), CLI_PARSED_USAGE);
    ck_assert_str_eq(msg, "inspectd serve: --precision 'fp64': expected fp32 or bf16\n");
    free(msg);

    /* the key file: its first line */
    char path[] = "/tmp/inspectd-key-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    FILE *f = fdopen(fd, "w");
    fputs("s3cret\nsecond line\n", f);
    fclose(f);
    ck_assert_int_eq(run(&serve_command, &c, &msg, NULL, NULL, "serve", "--api-key-file", path,
                         NULL), CLI_PARSED_OK);
    free(msg);
    ck_assert_str_eq(c.api_key, "s3cret");
    unlink(path);
}
END_TEST

START_TEST(test_serve_help)
{
    struct serve_config c = config_defaults();
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    cli_usage(&serve_command, &c, f);
    fclose(f);
    /* every setting with its variable, the documented defaults */
    const char *want[] = {"--port N", "[default 8080; env INSPECTD_PORT]", "INSPECTD_API_KEY_FILE",
                          "--max-body BYTES", "[default 8M; env INSPECTD_MAX_BODY]",
                          "--search MODE", "env INSPECTD_SEARCH", "--seed N", "--access-log [1|0]",
                          "--precision P", "[default fp32; env INSPECTD_PRECISION]"};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        ck_assert_msg(strstr(text, want[i]), "serve --help lacks '%s':\n%s", want[i], text);
    free(text);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("options");
    TCase *tc = tcase_create("table");
    tcase_add_test(tc, test_every_type);
    tcase_add_test(tc, test_environment_then_flags);
    tcase_add_test(tc, test_refusals);
    tcase_add_test(tc, test_no_positionals);
    tcase_add_test(tc, test_help);
    tcase_add_test(tc, test_peek);
    suite_add_tcase(s, tc);
    TCase *sv = tcase_create("serve");
    tcase_add_test(sv, test_serve_flags_and_env);
    tcase_add_test(sv, test_serve_help);
    suite_add_tcase(s, sv);
    return s;
}

int main(int argc, char **argv)
{
    return tu_main(suite(), argc, argv);
}
