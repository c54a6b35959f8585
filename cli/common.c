/* common: what several commands share; see common.h. */
#include "common.h"

#include "cpu.h"
#include "ops.h"

#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

volatile int cli_cancel;

int cli_set_precision(const char *cmd, const char *value)
{
    if (!value)
        return 0;
    int p = ops_precision_parse(value);
    ASSERT(p >= 0); /* the option table let only fp32 and bf16 through */
    if (ops_set_precision((enum ops_precision)p)) {
        fprintf(stderr, "inspectd %s: --precision %s: %s\n", cmd, value, status_message());
        return 1;
    }
    return 0;
}

int cli_set_compute(const char *cmd, int threads, const char *precision)
{
    if (threads)
        ops_set_threads(threads);
    return cli_set_precision(cmd, precision);
}

void cli_describe_compute(char *buf, size_t len)
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

static volatile int *cancel_flag;

static void on_signal(int sig)
{
    if (cancel_flag)
        *cancel_flag = 1;
    signal(sig, SIG_DFL); /* a second Ctrl-C stops at once */
}

void cli_catch_signals(volatile int *flag)
{
    cancel_flag = flag;
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
}

void cli_progress_init(struct cli_progress *p, FILE *out)
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

void cli_train_progress(void *user, const struct train_progress *p)
{
    struct cli_progress *c = user;
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
        char line[320];
        snprintf(line, sizeof line, "%-7s epoch %d/%d [%s] step %d/%d  %s", phase, p->epoch + 1,
                 p->epochs, bar, p->step, p->steps, rest);
        cli_progress_redraw(c, line, p->epoch_end);
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

void cli_score_progress(void *user, double done, size_t total, double seconds)
{
    struct cli_progress *c = user;
    bool last = done >= (double)total;
    if (seconds < c->next_log_s && !last)
        return;
    double rate = seconds > 0 ? done / seconds : 0;
    char eta[32];
    fmt_duration(eta, sizeof eta, rate > 0 ? ((double)total - done) / rate : NAN);
    char line[256];
    snprintf(line, sizeof line, "scored %zu/%zu images  %.1f img/s  ETA %s", (size_t)done, total,
             rate, eta);
    if (c->tty) {
        c->next_log_s = seconds + 0.5; /* redraw twice a second at most */
        cli_progress_redraw(c, line, false);
    } else {
        fprintf(c->out, "%s\n", line);
        c->next_log_s = seconds + 10;
    }
    fflush(c->out);
}

void cli_progress_redraw(struct cli_progress *p, const char *line, bool end)
{
    int n = fprintf(p->out, "\r%s", line);
    for (int i = n; i < p->last_len; i++)
        fputc(' ', p->out);
    p->last_len = n;
    if (end) {
        fputc('\n', p->out);
        p->last_len = 0;
    }
}

void cli_progress_end(struct cli_progress *p)
{
    if (p->tty && p->last_len)
        fputc('\n', p->out);
    p->last_len = 0;
}

int cli_print_json(struct json_writer *w)
{
    if (json_writer_print(w, stdout))
        return 0;
    fprintf(stderr, "inspectd: out of memory writing the result\n");
    return 1;
}

int cli_load_data(struct dataset *ds, const struct dataset_options *opt, const struct anogan *m)
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
