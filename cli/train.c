/* train: `inspectd train anogan` (GAN, optional encoder stage, calibration) and
 * `inspectd train encoder` (adds an f-AnoGAN encoder to a trained model, then recalibrates).
 *
 * Beside --out X.safetensors it writes X.ckpt.safetensors (checkpoint: --resume continues it),
 * X.losses.csv (losses per step) and X-gan-eNNN.png / X-encoder-eNNN.png (pictures of what G and
 * E learned, at every checkpoint). The final model is written only after calibration. Both
 * commands take the same options (one table): those of the architecture and the GAN matter only
 * to `train anogan`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "cli.h"
#include "common.h"
#include "dataset.h"
#include "options.h"
#include "ops.h"
#include "parse.h"
#include "pipeline.h"
#include "train.h"

struct train_args {
    struct dataset_options data;
    struct train_config cfg;
    struct anogan_config arch;
    const char *out, *model, *name, *recipe_name, *init;
    float holdout, percentile;
    int threads, epochs;
    bool resume, no_samples, lambda_set, epochs_set, encoder_epochs_set;
    struct pipeline_recipe recipe;
    char ckpt[4096], csv[4096], prefix[4096];
};

/* --betas B1,B2: Adam's betas of G and D, each in [0, 1). field: the struct train_config. */
static enum status parse_betas(void *field, const char *name, const char *value)
{
    struct train_config *c = field;
    char first[64];
    const char *comma = strchr(value, ',');
    double b1, b2;
    if (!comma || (size_t)(comma - value) >= sizeof first)
        return status_fail(STATUS_RANGE, "%s '%.40s': expected B1,B2 (two numbers in [0, 1))",
                           name, value);
    snprintf(first, sizeof first, "%.*s", (int)(comma - value), value);
    enum status st = parse_float(&b1, name, first, 0, 0.999999);
    if (st || (st = parse_float(&b2, name, comma + 1, 0, 0.999999)))
        return st;
    c->adam_g.beta1 = c->adam_d.beta1 = (float)b1;
    c->adam_g.beta2 = c->adam_d.beta2 = (float)b2;
    return STATUS_OK;
}

/* --label-smooth S: the same as --real-label 1-S. field: train_config.real_label. */
static enum status parse_label_smooth(void *field, const char *name, const char *value)
{
    double smooth;
    enum status st = parse_float(&smooth, name, value, 0, 1);
    if (!st)
        *(float *)field = (float)(1 - smooth);
    return st;
}

#define A struct train_args
static const struct cli_option options[] = {
    CLI_DATA_OPTIONS(A, data),
    {"--classes", NULL, CLI_ARG, CLI_AT(A, data.classes), .value_name = "A,B",
     .def = "all", .help = "labelled data: keep these classes (e.g. 7,8)"},
    {"--out", NULL, CLI_ARG, CLI_AT(A, out), .value_name = "FILE",
     .def = "train encoder: --model", .help = "the trained model (.safetensors)"},
    {"--model", NULL, CLI_ARG, CLI_AT(A, model), .value_name = "FILE",
     .help = "train encoder: the trained model to add an encoder to (required there)"},
    {"--recipe", NULL, CLI_ARG, CLI_AT(A, recipe_name), .choices = "default|seed",
     .help = "train anogan: the defaults of the options below; seed: the seed's (lr 1e-4/4e-4, "
             "betas (0, 0.9), batch 128, real label 1, mean/std 0.1307/0.3081, no encoder)"},
    {"--epochs", NULL, CLI_INT, CLI_AT(A, epochs), CLI_SET(A, epochs_set), 0, 1000000,
     .def = "by data size: 40 for 900 images, 18 for 2000, 10 from 3600",
     .help = "GAN epochs; for train encoder, encoder epochs (0: keep the encoder, recalibrate)"},
    {"--encoder-epochs", NULL, CLI_INT, CLI_AT(A, cfg.encoder_epochs),
     CLI_SET(A, encoder_epochs_set), 0, 1000000, .def = "by data size: 15 for 900, 7 for 2000",
     .help = "train anogan: then train an f-AnoGAN encoder (0: none)"},
    {"--lr-g", NULL, CLI_FLOAT, CLI_AT(A, cfg.adam_g.lr), 0, 1e-12, 10, .value_name = "LR",
     .help = "Adam learning rate of G"},
    {"--lr-d", NULL, CLI_FLOAT, CLI_AT(A, cfg.adam_d.lr), 0, 1e-12, 10, .value_name = "LR",
     .help = "Adam learning rate of D"},
    {"--lr-e", NULL, CLI_FLOAT, CLI_AT(A, cfg.adam_e.lr), 0, 1e-12, 10, .value_name = "LR",
     .help = "encoder Adam learning rate (betas 0.5,0.999)"},
    {"--betas", NULL, CLI_CUSTOM, CLI_AT(A, cfg), .parse = parse_betas, .value_name = "B1,B2",
     .def = "0.5,0.999", .help = "Adam betas of G and D"},
    {"--real-label", NULL, CLI_FLOAT, CLI_AT(A, cfg.real_label), 0, 0, 1, .value_name = "V",
     .help = "D's target for real images (1: no smoothing)"},
    {"--label-smooth", NULL, CLI_CUSTOM, CLI_AT(A, cfg.real_label), .parse = parse_label_smooth,
     .value_name = "S", .help = "the same as --real-label 1-S"},
    {"--mean", NULL, CLI_FLOAT, CLI_AT(A, arch.mean), 0, -1e6, 1e6, .value_name = "M",
     .help = "preprocessing x = (pixel - M) / S (0.5, 0.5: [-1, 1])"},
    {"--std", NULL, CLI_FLOAT, CLI_AT(A, arch.std), 0, 1e-6, 1e6, .value_name = "S",
     .help = "see --mean"},
    {"--zdim", NULL, CLI_INT, CLI_AT(A, arch.zdim), 0, 1, 4096, .help = "latent size"},
    {"--width", NULL, CLI_INT, CLI_AT(A, arch.width), 0, 1, 1024, .help = "base width of G and D"},
    {"--lambda", NULL, CLI_FLOAT, CLI_AT(A, arch.lambda), CLI_SET(A, lambda_set), 0, 1,
     .value_name = "L",
     .help = "weight of the feature term in the score (train encoder: changes it, then "
             "recalibrates)"},
    {"--init", NULL, CLI_ARG, CLI_AT(A, init), .choices = "pytorch|dcgan",
     .help = "weight init: PyTorch's layer default (kaiming-uniform, as the seed's code) or "
             "DCGAN's N(0, 0.02)"},
    {"--kappa", NULL, CLI_FLOAT, CLI_AT(A, cfg.kappa), 0, 0, 1e6, .value_name = "K",
     .help = "weight of the feature term of izi_f"},
    {"--batch", NULL, CLI_INT, CLI_AT(A, cfg.batch), 0, 2, 4096, .help = "batch size"},
    {"--seed", NULL, CLI_U64, CLI_AT(A, cfg.seed), .help = "shuffling, latents, hold-out choice"},
    {"--holdout", NULL, CLI_FLOAT, CLI_AT(A, holdout), 0, 0, 0.9, .value_name = "F",
     .help = "fraction of the images kept out for calibration"},
    {"--percentile", NULL, CLI_FLOAT, CLI_AT(A, percentile), 0, 1e-3, 100, .value_name = "P",
     .help = "threshold at this percentile of held-out scores"},
    {"--checkpoint-every", NULL, CLI_INT, CLI_AT(A, cfg.checkpoint_every), 0, 0, 1000000,
     .value_name = "K", .help = "epochs between checkpoints and sample grids"},
    {"--no-samples", NULL, CLI_FLAG, CLI_AT(A, no_samples), .help = "no PNG sample grids"},
    {"--resume", NULL, CLI_FLAG, CLI_AT(A, resume),
     .help = "continue from OUT's checkpoint (X.ckpt.safetensors)"},
    {"--name", NULL, CLI_ARG, CLI_AT(A, name), .help = "model name stored in the file"},
    {"--threads", NULL, CLI_INT, CLI_AT(A, threads), 0, 1, 1024, .def = "all cores",
     .help = "BLAS threads"},
    CLI_RECIPE_OPTIONS(A, recipe),
};
#undef A

static const struct cli_command train_anogan_command = {
    .name = "train anogan",
    .usage = "--data PATH [options] --out FILE.safetensors",
    .options = options,
    .noptions = sizeof options / sizeof options[0],
};

static const struct cli_command train_parts_command = {
    .name = "train parts",
    .usage = "--model FILE --data PATH [options] [--out FILE]",
    .about = "Trains the detectors beside the AnoGAN (transformation classifier, memory banks) of\n"
             "a trained model on its normal images, standardises them, and recalibrates the\n"
             "threshold on the fused score; the GAN and the encoder stay as they are. The data\n"
             "and --seed must select the images the model was trained on, so that the held-out\n"
             "images are the same.\n",
    .options = options,
    .noptions = sizeof options / sizeof options[0],
};

static const struct cli_command train_encoder_command = {
    .name = "train encoder",
    .usage = "--model FILE --data PATH [options] [--out FILE]",
    .options = options,
    .noptions = sizeof options / sizeof options[0],
};

/* What a train command trains: everything; an encoder for a trained model (and its detectors
 * again); or only the detectors beside the AnoGAN of a trained model. */
enum train_mode { TRAIN_ANOGAN, TRAIN_ENCODER, TRAIN_PARTS };

/* Parses argv into a; returns -1 to continue, else the exit status. */
static int parse(struct train_args *a, int argc, char **argv, enum train_mode mode)
{
    bool encoder = mode == TRAIN_ENCODER, from_model = mode != TRAIN_ANOGAN;
    /* the recipe sets the defaults that the other options then override */
    const char *recipe = cli_peek(argc, argv, "--recipe");
    bool seed_recipe = recipe && !strcmp(recipe, "seed");
    a->recipe_name = "default";
    a->cfg = seed_recipe ? train_config_seed() : train_config_default();
    a->arch = anogan_config_seed();
    if (!seed_recipe)
        a->arch.mean = a->arch.std = 0.5f;
    a->init = "pytorch"; /* measured: DCGAN's N(0, 0.02) lets D win at once with these recipes */
    a->holdout = 0.1f;
    a->percentile = 99;
    if (encoder) /* whatever the recipe: an encoder is what this command trains */
        a->cfg.encoder_epochs = train_config_default().encoder_epochs;
    a->epochs = encoder ? a->cfg.encoder_epochs : a->cfg.epochs;
    pipeline_recipe_init(&a->recipe);
    if (seed_recipe) /* the seed's model: the AnoGAN score alone, unless --parts asks */
        a->recipe.parts_list = "none";
    const struct cli_command *cmd = mode == TRAIN_ENCODER ? &train_encoder_command
                                    : mode == TRAIN_PARTS ? &train_parts_command
                                                          : &train_anogan_command;
    switch (cli_parse(cmd, a, argc, argv, NULL, stderr)) {
    case CLI_PARSED_OK: break;
    case CLI_PARSED_HELP: return 0;
    case CLI_PARSED_USAGE: return 2;
    }
    if (pipeline_recipe_finish(&a->recipe, cmd->name))
        return 2;
    /* the default recipe sizes its epochs to the data (pipeline_auto_epochs) */
    if (!from_model && a->epochs_set)
        a->cfg.epochs = a->epochs;
    else if (!from_model && !seed_recipe)
        a->cfg.epochs = 0;
    if (!from_model && !a->encoder_epochs_set && !seed_recipe)
        a->cfg.encoder_epochs = -1;
    if (encoder && a->epochs_set)
        a->cfg.encoder_epochs = a->epochs;
    if (from_model && !a->out)
        a->out = a->model;
    if (!a->out || (from_model && !a->model)) {
        fprintf(stderr, "inspectd %s: %s is required (see inspectd %s --help)\n", cmd->name,
                from_model ? "--model" : "--out", cmd->name);
        return 2;
    }
    /* files beside the output: X.ckpt.safetensors, X.losses.csv, X-gan-e005.png */
    char base[4000]; /* leaves room for the suffixes in the 4096-byte paths below */
    if (strlen(a->out) >= sizeof base) {
        fprintf(stderr, "inspectd train: --out path too long\n");
        return 2;
    }
    snprintf(base, sizeof base, "%s", a->out);
    size_t bl = strlen(base);
    if (bl > 12 && !strcmp(base + bl - 12, ".safetensors"))
        base[bl - 12] = 0;
    snprintf(a->ckpt, sizeof a->ckpt, "%s.ckpt.safetensors", base);
    snprintf(a->csv, sizeof a->csv, "%s.losses.csv", base);
    snprintf(a->prefix, sizeof a->prefix, "%s", base);
    a->cfg.checkpoint_path = a->ckpt;
    a->cfg.samples_prefix = a->no_samples ? NULL : a->prefix;
    if (a->threads)
        ops_set_threads(a->threads);
    return -1;
}

static bool file_exists(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0;
}

/* Opens the CSV: appended to on resume, else started with its header. */
static FILE *open_csv(const char *path, bool append)
{
    bool fresh = !append || !file_exists(path);
    FILE *f = fopen(path, fresh ? "w" : "a");
    if (f && fresh)
        fprintf(f, "phase,epoch,step,global_step,loss_d,loss_g,d_real,d_fake,loss_e,mse_x,mse_f,"
                   "seconds\n");
    return f;
}

/* Training phases from wherever state stands, then calibration and the final save. */
static int run(struct train_args *a, struct anogan *m, struct train_state *state,
               enum train_mode mode)
{
    bool encoder = mode == TRAIN_ENCODER;
    struct dataset all = {0}, train = {0}, hold = {0};
    FILE *csv = NULL;
    int rc = 1;
    struct cli_progress prog;
    cli_progress_init(&prog, stderr);
    enum status st;
    if (cli_load_data(&all, &a->data, m))
        goto done;
    if ((st = dataset_split(&train, &hold, &all, a->holdout, a->cfg.seed))) {
        fprintf(stderr, "inspectd train: %s\n", status_message());
        goto done;
    }
    fprintf(stderr, "training on %zu images, %zu held out for calibration\n", train.count,
            hold.count);
    if (!(csv = open_csv(a->csv, a->resume))) {
        perror(a->csv);
        goto done;
    }
    a->cfg.csv = csv;
    cli_catch_signals(&cli_cancel);
    char what[256];
    snprintf(what, sizeof what, "%zu held out of %.200s (seed %llu)", hold.count,
             all.description, (unsigned long long)a->cfg.seed);
    /* train encoder keeps a model's detectors (retrained: the AnoGAN score they are fused with
     * changes), and adds none to a model without */
    bool parts = encoder ? m->det != NULL : pipeline_recipe_has_parts(&a->recipe);
    struct pipeline_times times;
    struct pipeline pl = {.cfg = &a->cfg, .parts = parts ? &a->recipe.parts : NULL,
                          .percentile = a->percentile, .what = what,
                          .cmd = mode == TRAIN_ENCODER ? "train encoder"
                                 : mode == TRAIN_PARTS ? "train parts"
                                                       : "train anogan",
                          .prog = &prog};
    if (pipeline_run(m, state, &train, &hold, &pl, &times))
        goto done;
    fprintf(stderr, "phases (s): gan %.1f, encoder %.1f, transform %.1f, memory %.1f, fusion %.1f, "
            "calibration %.1f\n", times.gan, times.encoder, times.transform, times.memory,
            times.fusion, times.calibration);
    if (mode == TRAIN_PARTS) {
        char prev[sizeof m->trained];
        snprintf(prev, sizeof prev, "%s", m->trained);
        snprintf(m->trained, sizeof m->trained, "%.900s; + detectors on %zu images (%.0f s)",
                 prev, train.count, pipeline_total(&times));
    } else if (encoder) {
        char prev[sizeof m->trained];
        snprintf(prev, sizeof prev, "%s", m->trained);
        if (a->cfg.encoder_epochs > 0)
            snprintf(m->trained, sizeof m->trained, "%.900s; + encoder %d epochs on %zu images",
                     prev, a->cfg.encoder_epochs, train.count);
        else
            snprintf(m->trained, sizeof m->trained, "%.900s; recalibrated, lambda %g", prev,
                     m->cfg.lambda);
    } else {
        snprintf(m->trained, sizeof m->trained,
                 "inspectd train anogan (recipe %s): %zu images of %.120s, %d GAN epochs, %d "
                 "encoder epochs, batch %d, seed %llu, %.0f s", a->recipe_name, train.count,
                 all.description, a->cfg.epochs, m->has_encoder ? a->cfg.encoder_epochs : 0,
                 a->cfg.batch, (unsigned long long)a->cfg.seed, state->seconds);
    }
    if (a->name)
        snprintf(m->name, sizeof m->name, "%s", a->name);
    if ((st = anogan_save(m, a->out))) {
        fprintf(stderr, "inspectd train: %s\n", status_message());
        goto done;
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    fprintf(stderr, "wrote %s (training time %.0f s wall over all runs; this run used %.0f s of "
            "CPU)\n", a->out, state->seconds,
            (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec);
    rc = 0;
done:
    if (csv)
        fclose(csv);
    dataset_free(&all);
    dataset_free(&train);
    dataset_free(&hold);
    return rc;
}

static int start(struct anogan **m, struct train_state *state, struct train_args *a,
                 enum train_mode mode)
{
    bool encoder = mode == TRAIN_ENCODER;
    enum status st;
    if (a->resume) {
        if (!file_exists(a->ckpt)) {
            fprintf(stderr, "inspectd train: --resume: no checkpoint at %s\n", a->ckpt);
            return 1;
        }
        if ((st = train_checkpoint_load(m, state, a->ckpt))) {
            fprintf(stderr, "inspectd train: %s\n", status_message());
            return 1;
        }
        fprintf(stderr, "resuming from %s: phase %s, epoch %d, step %d\n", a->ckpt,
                state->phase == TRAIN_PHASE_GAN ? "gan" : "encoder", state->epoch, state->step);
        if (encoder && state->phase == TRAIN_PHASE_GAN) {
            fprintf(stderr, "inspectd train: %s is a GAN checkpoint; finish it with `train "
                            "anogan --resume`\n", a->ckpt);
            return 1;
        }
        return 0;
    }
    train_state_init(state, a->cfg.seed);
    if (mode != TRAIN_ANOGAN) {
        if ((st = anogan_load(m, a->model))) {
            fprintf(stderr, "inspectd train: %s\n", status_message());
            return 1;
        }
        state->phase = encoder ? TRAIN_PHASE_ENCODER : TRAIN_PHASE_DONE;
        if (a->lambda_set) /* the score's weighting lives in the model; recalibration follows */
            (*m)->cfg.lambda = a->arch.lambda;
        return 0;
    }
    return pipeline_new_model(m, &a->arch, a->cfg.seed, a->init);
}

static int train_main(int argc, char **argv, enum train_mode mode)
{
    struct train_args a = {0};
    int rc = parse(&a, argc, argv, mode);
    if (rc >= 0)
        return rc;
    struct anogan *m = NULL;
    struct train_state state = {0};
    rc = start(&m, &state, &a, mode);
    if (rc == 0)
        rc = run(&a, m, &state, mode);
    train_state_free(&state);
    anogan_free(m);
    return rc;
}

int cmd_train_anogan(int argc, char **argv)
{
    return train_main(argc, argv, TRAIN_ANOGAN);
}

int cmd_train_encoder(int argc, char **argv)
{
    return train_main(argc, argv, TRAIN_ENCODER);
}

int cmd_train_parts(int argc, char **argv)
{
    return train_main(argc, argv, TRAIN_PARTS);
}
