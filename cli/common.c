/* train_cli: shared command-line pieces of the train and eval commands; see train_cli.h. */
#include "common.h"

#include "cpu.h"
#include "ops.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

volatile int train_cli_cancel;

int train_cli_int(const char *s, long lo, long hi, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (end == s || *end || errno || v < lo || v > hi)
        return -1;
    *out = (int)v;
    return 0;
}

int train_cli_float(const char *s, double lo, double hi, float *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end || errno || !(v >= lo && v <= hi))
        return -1;
    *out = (float)v;
    return 0;
}

int train_cli_u64(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (end == s || *end || errno || s[0] == '-')
        return -1;
    *out = (uint64_t)v;
    return 0;
}

int train_cli_precision(const char *cmd, const char *value)
{
    int p = ops_precision_parse(value);
    if (p < 0) {
        fprintf(stderr, "inspectd %s: --precision '%s': expected fp32 or bf16\n", cmd, value);
        return 2;
    }
    if (ops_set_precision((enum ops_precision)p)) {
        fprintf(stderr, "inspectd %s: --precision %s: %s\n", cmd, value, status_message());
        return 1;
    }
    return 0;
}

void train_cli_describe_compute(char *buf, size_t len)
{
    char blas[160];
    ops_blas_describe(blas, sizeof blas);
    enum ops_precision p = ops_get_precision();
    const char *bf16_hw = cpu_has_amx_bf16()      ? "AMX"
                          : cpu_has_avx512_bf16() ? "AVX-512-BF16, no AMX"
                                                  : "none";
    const int bf16 = p == OPS_PRECISION_BF16;
    snprintf(buf, len, "compute: %s; small products on %s tiles; %s%s%s (bf16 hardware: %s)",
             blas, cpu_isa_name(cpu_isa()), ops_precision_name(p), bf16 ? " via " : "",
             bf16 ? ops_bf16_backend() : "", bf16_hw);
}

int train_cli_pair(const char *s, float *a, float *b)
{
    char buf[64];
    const char *comma = strchr(s, ',');
    if (!comma || (size_t)(comma - s) >= sizeof buf)
        return -1;
    memcpy(buf, s, (size_t)(comma - s));
    buf[comma - s] = 0;
    return train_cli_float(buf, 0, 0.999999, a) || train_cli_float(comma + 1, 0, 0.999999, b)
               ? -1
               : 0;
}

int train_cli_data_option(struct dataset_options *opt, const char *name, const char *value)
{
    if (!strcmp(name, "data")) {
        opt->path = value;
    } else if (!strcmp(name, "split")) {
        if (strcmp(value, "train") && strcmp(value, "test")) {
            fprintf(stderr, "inspectd: --split must be train or test\n");
            return -1;
        }
        opt->split = value;
    } else if (!strcmp(name, "classes")) {
        opt->classes = value;
    } else if (!strcmp(name, "range")) {
        if (dataset_parse_range(&opt->range, value)) {
            fprintf(stderr, "inspectd: --range: %s\n", status_message());
            return -1;
        }
    } else if (!strcmp(name, "limit")) {
        int n;
        if (train_cli_int(value, 1, 1L << 30, &n)) {
            fprintf(stderr, "inspectd: --limit must be a positive count\n");
            return -1;
        }
        opt->limit = (size_t)n;
    } else {
        return 0;
    }
    return 1;
}

void train_cli_data_usage(FILE *f)
{
    fprintf(f,
            "  --data PATH         IDX pair (a folder holding images-idx3-ubyte[.gz] and\n"
            "                      labels-idx1-ubyte[.gz], or the images file) or a folder of PNGs\n"
            "                      (PNGs in class subfolders are labelled by the folder name)\n"
            "  --split train|test  which IDX pair of a folder holding both (train-*, t10k-*)\n"
            "  --range A:B         items A..B-1 in file order, counts or percentages (0:50%%)\n"
            "  --limit N           at most N images (the first after range and classes)\n");
}

static volatile int *cancel_flag;

static void on_signal(int sig)
{
    if (cancel_flag)
        *cancel_flag = 1;
    signal(sig, SIG_DFL); /* a second Ctrl-C stops at once */
}

void train_cli_catch_signals(volatile int *flag)
{
    cancel_flag = flag;
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
}

void train_cli_progress_init(struct train_cli_progress *p, FILE *out)
{
    p->out = out;
    p->tty = isatty(fileno(out)) && getenv("TERM") && strcmp(getenv("TERM"), "dumb");
    p->last_len = 0;
    p->next_log_s = p->tty ? 0 : 10;
}

static void fmt_duration(char *buf, size_t len, double s)
{
    if (!isfinite(s) || s < 0)
        snprintf(buf, len, "?");
    else if (s < 60)
        snprintf(buf, len, "%.0fs", s);
    else if (s < 3600)
        snprintf(buf, len, "%dm%02ds", (int)s / 60, (int)s % 60);
    else
        snprintf(buf, len, "%dh%02dm", (int)s / 3600, (int)s % 3600 / 60);
}

static int describe(char *buf, size_t len, const struct train_progress *p)
{
    char eta[32];
    fmt_duration(eta, sizeof eta, p->eta_s);
    if (p->phase == TRAIN_PHASE_GAN)
        return snprintf(buf, len, "loss D %.4f G %.4f  D(x) %.3f D(G(z)) %.3f  %.1f img/s  ETA %s",
                        p->loss_d, p->loss_g, p->d_real, p->d_fake, p->images_per_s, eta);
    return snprintf(buf, len, "loss %.5f (mse x %.5f, f %.5f)  %.1f img/s  ETA %s", p->loss_e,
                    p->mse_x, p->mse_f, p->images_per_s, eta);
}

void train_cli_progress(void *user, const struct train_progress *p)
{
    struct train_cli_progress *c = user;
    const char *phase = p->phase == TRAIN_PHASE_GAN ? "gan" : "encoder";
    char rest[160];
    describe(rest, sizeof rest, p);
    if (c->tty) {
        enum { BAR = 20 };
        char bar[BAR + 1];
        int filled = p->steps ? p->step * BAR / p->steps : 0;
        for (int i = 0; i < BAR; i++)
            bar[i] = i < filled ? '#' : '.';
        bar[BAR] = 0;
        int n = fprintf(c->out, "\r%-7s epoch %d/%d [%s] step %d/%d  %s", phase, p->epoch + 1,
                        p->epochs, bar, p->step, p->steps, rest);
        for (int i = n; i < c->last_len; i++)
            fputc(' ', c->out);
        c->last_len = n;
        if (p->epoch_end) {
            fputc('\n', c->out);
            c->last_len = 0;
        }
    } else if (p->epoch_end) {
        fprintf(c->out, "%s epoch %d/%d step %d/%d %s\n", phase, p->epoch + 1, p->epochs,
                p->step, p->steps, rest);
    }
    if (p->checkpoint) {
        if (c->tty && !p->epoch_end)
            fputc('\n', c->out);
        fprintf(c->out, "checkpoint written: %s\n", p->checkpoint);
        c->last_len = 0;
    }
    fflush(c->out);
}

void train_cli_score_progress(void *user, double done, size_t total, double seconds)
{
    struct train_cli_progress *c = user;
    bool last = done >= (double)total;
    if (seconds < c->next_log_s && !last)
        return;
    double rate = seconds > 0 ? done / seconds : 0;
    char eta[32];
    fmt_duration(eta, sizeof eta, rate > 0 ? ((double)total - done) / rate : NAN);
    if (c->tty) {
        c->next_log_s = seconds + 0.5; /* redraw twice a second at most */
        int n = fprintf(c->out, "\rscored %zu/%zu images  %.1f img/s  ETA %s", (size_t)done,
                        total, rate, eta);
        for (int i = n; i < c->last_len; i++)
            fputc(' ', c->out);
        c->last_len = n;
    } else {
        fprintf(c->out, "scored %zu/%zu images  %.1f img/s  ETA %s\n", (size_t)done, total, rate,
                eta);
        c->next_log_s = seconds + 10;
    }
    fflush(c->out);
}

void train_cli_progress_end(struct train_cli_progress *p)
{
    if (p->tty && p->last_len)
        fputc('\n', p->out);
    p->last_len = 0;
}

void train_cli_json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

int train_cli_load(struct dataset *ds, const struct dataset_options *opt, const struct anogan *m)
{
    if (dataset_load(ds, opt, m)) {
        fprintf(stderr, "inspectd: %s\n", status_message());
        return 1;
    }
    fprintf(stderr, "data: %zu images from %s", ds->count, ds->description);
    if (ds->min_w != ds->max_w || ds->min_h != ds->max_h)
        fprintf(stderr, " (mixed sizes %dx%d..%dx%d, each resized to %d)", ds->min_w, ds->min_h,
                ds->max_w, ds->max_h, m->cfg.image_size);
    else
        fprintf(stderr, " (%dx%d, resized to %d)", ds->min_w, ds->min_h, m->cfg.image_size);
    fputc('\n', stderr);
    return 0;
}
