/* cmd_train: `inspectd train anogan` (GAN, optional encoder stage, calibration) and
 * `inspectd train encoder` (adds an f-AnoGAN encoder to a trained model, then recalibrates).
 *
 * Beside --out X.safetensors it writes X.ckpt.safetensors (checkpoint: --resume continues it),
 * X.losses.csv (losses per step) and X-gan-eNNN.png / X-encoder-eNNN.png (pictures of what G and
 * E learned, at every checkpoint). The final model is written only after calibration. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "cli.h"
#include "dataset.h"
#include "ops.h"
#include "train.h"
#include "common.h"

struct train_args {
    struct dataset_options data;
    struct train_config cfg;
    struct anogan_config arch;
    const char *out, *model, *name, *recipe, *init;
    float holdout, percentile;
    int threads;
    bool resume, samples, lambda_set;
    char ckpt[4096], csv[4096], prefix[4096];
};

static void usage(FILE *f, bool encoder)
{
    if (encoder)
        fprintf(f, "usage: inspectd train encoder --model FILE --data PATH [options] "
                   "[--out FILE]\n");
    else
        fprintf(f, "usage: inspectd train anogan --data PATH [options] --out FILE.safetensors\n");
    train_cli_data_usage(f);
    fprintf(f, "  --classes A,B       labelled data: keep these classes (e.g. 7,8)\n");
    if (!encoder)
        fprintf(f,
                "  --recipe NAME       default | seed (the seed's: lr 1e-4/4e-4, betas (0, 0.9),\n"
                "                      batch 128, real label 1, mean/std 0.1307/0.3081, no encoder)\n"
                "  --epochs N          GAN epochs (default 20)\n"
                "  --lr-g LR, --lr-d LR   Adam learning rates (default 2e-4 both)\n"
                "  --betas B1,B2       Adam betas of G and D (default 0.5,0.999)\n"
                "  --real-label V      D's target for real images (default 0.9; 1 = no smoothing)\n"
                "  --label-smooth S    same as --real-label 1-S\n"
                "  --mean M --std S    preprocessing x = (pixel - M) / S (default 0.5, 0.5: [-1, 1])\n"
                "  --zdim N --width N  latent size and base width (default 20, 64: the seed's)\n"
                "  --lambda L          weight of the feature term in the score (default 0.1)\n"
                "  --encoder-epochs N  then train an f-AnoGAN encoder (default 15; 0 = none)\n"
                "  --init pytorch|dcgan  weight init: PyTorch's layer default (kaiming-uniform, as\n"
                "                      the seed's code; default) or DCGAN's N(0, 0.02)\n");
    else
        fprintf(f, "  --epochs N          encoder epochs (default 15; 0 = keep the encoder and only\n"
                   "                      recalibrate)\n"
                   "  --lambda L          change the score's feature weight (then recalibrated)\n");
    fprintf(f,
            "  --lr-e LR           encoder Adam learning rate (default 2e-4, betas 0.5,0.999)\n"
            "  --kappa K           weight of the feature term of izi_f (default 1)\n"
            "  --batch N           batch size (default 64)\n"
            "  --seed S            shuffling, latents, hold-out choice (default 0)\n"
            "  --holdout F         fraction of the images kept out for calibration (default 0.1)\n"
            "  --percentile P      threshold at this percentile of held-out scores (default 99)\n"
            "  --checkpoint-every K  epochs between checkpoints and sample grids (default 5)\n"
            "  --no-samples        no PNG sample grids\n"
            "  --resume            continue from OUT's checkpoint (X.ckpt.safetensors)\n"
            "  --name NAME         model name stored in the file\n"
            "  --threads N         BLAS threads\n");
}

enum {
    O_EPOCHS = 256, O_BATCH, O_SEED, O_LRG, O_LRD, O_LRE, O_BETAS, O_REAL, O_SMOOTH, O_MEAN,
    O_STD, O_ZDIM, O_WIDTH, O_HOLDOUT, O_PCT, O_ENC_EPOCHS, O_KAPPA, O_CKPT_EVERY, O_RESUME,
    O_OUT, O_MODEL, O_NAME, O_RECIPE, O_THREADS, O_NOSAMPLES, O_HELP, O_DATA, O_INIT, O_LAMBDA
};

static const struct option options[] = {
    {"epochs", 1, 0, O_EPOCHS}, {"batch", 1, 0, O_BATCH}, {"seed", 1, 0, O_SEED},
    {"lr-g", 1, 0, O_LRG}, {"lr-d", 1, 0, O_LRD}, {"lr-e", 1, 0, O_LRE},
    {"betas", 1, 0, O_BETAS}, {"real-label", 1, 0, O_REAL}, {"label-smooth", 1, 0, O_SMOOTH},
    {"mean", 1, 0, O_MEAN}, {"std", 1, 0, O_STD}, {"zdim", 1, 0, O_ZDIM},
    {"width", 1, 0, O_WIDTH}, {"holdout", 1, 0, O_HOLDOUT}, {"percentile", 1, 0, O_PCT},
    {"encoder-epochs", 1, 0, O_ENC_EPOCHS}, {"kappa", 1, 0, O_KAPPA},
    {"checkpoint-every", 1, 0, O_CKPT_EVERY}, {"resume", 0, 0, O_RESUME}, {"out", 1, 0, O_OUT},
    {"model", 1, 0, O_MODEL}, {"name", 1, 0, O_NAME}, {"recipe", 1, 0, O_RECIPE},
    {"threads", 1, 0, O_THREADS}, {"no-samples", 0, 0, O_NOSAMPLES}, {"help", 0, 0, O_HELP},
    {"data", 1, 0, O_DATA}, {"split", 1, 0, O_DATA}, {"classes", 1, 0, O_DATA},
    {"range", 1, 0, O_DATA}, {"limit", 1, 0, O_DATA}, {"init", 1, 0, O_INIT},
    {"lambda", 1, 0, O_LAMBDA}, {0, 0, 0, 0}};

/* Parses argv into a; returns -1 to continue, else the exit status. */
static int parse(struct train_args *a, int argc, char **argv, bool encoder)
{
    /* the recipe sets defaults that the other options then override */
    a->recipe = "default";
    for (int i = 1; i + 1 < argc; i++)
        if (!strcmp(argv[i], "--recipe"))
            a->recipe = argv[i + 1];
    if (strcmp(a->recipe, "default") && strcmp(a->recipe, "seed")) {
        fprintf(stderr, "inspectd train: --recipe must be default or seed\n");
        return 2;
    }
    bool seed_recipe = !strcmp(a->recipe, "seed");
    a->cfg = seed_recipe ? train_config_seed() : train_config_default();
    a->arch = anogan_config_seed();
    if (!seed_recipe)
        a->arch.mean = a->arch.std = 0.5f;
    a->init = "pytorch"; /* measured: DCGAN's N(0, 0.02) lets D win at once with these recipes */
    a->holdout = 0.1f;
    a->percentile = 99;
    a->samples = true;
    int enc_epochs = -1, o, idx;
    optind = 1;
    while ((o = getopt_long(argc, argv, "", options, &idx)) != -1) {
        int bad = 0;
        float f, g;
        switch (o) {
        case O_EPOCHS: bad = train_cli_int(optarg, 0, 1000000, encoder ? &enc_epochs : &a->cfg.epochs); break;
        case O_BATCH: bad = train_cli_int(optarg, 2, 4096, &a->cfg.batch); break;
        case O_SEED: bad = train_cli_u64(optarg, &a->cfg.seed); break;
        case O_LRG: bad = train_cli_float(optarg, 1e-12, 10, &a->cfg.adam_g.lr); break;
        case O_LRD: bad = train_cli_float(optarg, 1e-12, 10, &a->cfg.adam_d.lr); break;
        case O_LRE: bad = train_cli_float(optarg, 1e-12, 10, &a->cfg.adam_e.lr); break;
        case O_BETAS:
            bad = train_cli_pair(optarg, &f, &g);
            a->cfg.adam_g.beta1 = a->cfg.adam_d.beta1 = f;
            a->cfg.adam_g.beta2 = a->cfg.adam_d.beta2 = g;
            break;
        case O_REAL: bad = train_cli_float(optarg, 0, 1, &a->cfg.real_label); break;
        case O_SMOOTH:
            bad = train_cli_float(optarg, 0, 1, &f);
            a->cfg.real_label = 1 - f;
            break;
        case O_MEAN: bad = train_cli_float(optarg, -1e6, 1e6, &a->arch.mean); break;
        case O_STD: bad = train_cli_float(optarg, 1e-6, 1e6, &a->arch.std); break;
        case O_ZDIM: bad = train_cli_int(optarg, 1, 4096, &a->arch.zdim); break;
        case O_WIDTH: bad = train_cli_int(optarg, 1, 1024, &a->arch.width); break;
        case O_LAMBDA:
            bad = train_cli_float(optarg, 0, 1, &a->arch.lambda);
            a->lambda_set = true;
            break;
        case O_HOLDOUT: bad = train_cli_float(optarg, 0, 0.9, &a->holdout); break;
        case O_PCT: bad = train_cli_float(optarg, 1e-3, 100, &a->percentile); break;
        case O_ENC_EPOCHS: bad = train_cli_int(optarg, 0, 1000000, &enc_epochs); break;
        case O_KAPPA: bad = train_cli_float(optarg, 0, 1e6, &a->cfg.kappa); break;
        case O_CKPT_EVERY: bad = train_cli_int(optarg, 0, 1000000, &a->cfg.checkpoint_every); break;
        case O_RESUME: a->resume = true; break;
        case O_OUT: a->out = optarg; break;
        case O_MODEL: a->model = optarg; break;
        case O_NAME: a->name = optarg; break;
        case O_RECIPE: break;
        case O_THREADS: bad = train_cli_int(optarg, 1, 1024, &a->threads); break;
        case O_NOSAMPLES: a->samples = false; break;
        case O_INIT:
            a->init = optarg;
            bad = strcmp(optarg, "dcgan") && strcmp(optarg, "pytorch");
            break;
        case O_HELP: usage(stdout, encoder); return 0;
        case O_DATA:
            if (train_cli_data_option(&a->data, options[idx].name, optarg) < 0)
                return 2;
            break;
        default: usage(stderr, encoder); return 2;
        }
        if (bad) {
            fprintf(stderr, "inspectd train: bad value '%s' for --%s\n", optarg, options[idx].name);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "inspectd train: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    if (enc_epochs >= 0)
        a->cfg.encoder_epochs = enc_epochs;
    else if (encoder)
        a->cfg.encoder_epochs = train_config_default().encoder_epochs;
    if (encoder && !a->out)
        a->out = a->model;
    if (!a->data.path || !a->out || (encoder && !a->model)) {
        fprintf(stderr, "inspectd train: --data and --out%s are required\n",
                encoder ? " (or --model)" : "");
        usage(stderr, encoder);
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
    a->cfg.samples_prefix = a->samples ? a->prefix : NULL;
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
static int run(struct train_args *a, struct anogan *m, struct train_state *state, bool encoder)
{
    struct dataset all = {0}, train = {0}, hold = {0};
    FILE *csv = NULL;
    int rc = 1;
    struct train_cli_progress prog;
    train_cli_progress_init(&prog, stderr);
    struct train_hooks hooks = {train_cli_progress, &prog, &train_cli_cancel};
    enum status st;
    if (train_cli_load(&all, &a->data, m))
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
    train_cli_catch_signals(&train_cli_cancel);
    if (state->phase == TRAIN_PHASE_GAN) {
        fprintf(stderr, "GAN: %d epochs, batch %d, Adam G %g D %g betas (%g, %g), real label %g, "
                "init %s, seed %llu\n", a->cfg.epochs, a->cfg.batch, a->cfg.adam_g.lr,
                a->cfg.adam_d.lr, a->cfg.adam_g.beta1, a->cfg.adam_g.beta2, a->cfg.real_label,
                a->resume ? "(checkpoint)" : a->init, (unsigned long long)a->cfg.seed);
        st = train_gan(m, state, &train, &a->cfg, &hooks);
        train_cli_progress_end(&prog);
        if (st) {
            fprintf(stderr, "inspectd train: %s\n", status_message());
            goto done;
        }
    }
    if (state->phase == TRAIN_PHASE_ENCODER && a->cfg.encoder_epochs > 0) {
        fprintf(stderr, "encoder: %d epochs, Adam %g, kappa %g\n", a->cfg.encoder_epochs,
                a->cfg.adam_e.lr, a->cfg.kappa);
        st = train_encoder(m, state, &train, &a->cfg, &hooks);
        train_cli_progress_end(&prog);
        if (st) {
            fprintf(stderr, "inspectd train: %s\n", status_message());
            goto done;
        }
    }
    state->phase = TRAIN_PHASE_DONE;
    if (hold.count) {
        struct anogan_search search = anogan_search_default(m);
        fprintf(stderr, "calibrating on %zu held-out images (search %s, %d steps, lr %g)\n",
                hold.count, anogan_init_name(search.init), search.iterations, search.lr);
        char what[256];
        snprintf(what, sizeof what, "%zu held out of %.200s (seed %llu)", hold.count,
                 all.description, (unsigned long long)a->cfg.seed);
        if ((st = train_calibrate(m, &hold, &search, a->percentile, what))) {
            fprintf(stderr, "inspectd train: calibration: %s\n", status_message());
            goto done;
        }
        fprintf(stderr, "threshold %.4g (p%g of held-out normal scores: mean %.4g, p50 %.4g, "
                "max %.4g)\n", m->cal.threshold, m->cal.percentile, m->cal.mean, m->cal.p50,
                m->cal.max);
    } else {
        fprintf(stderr, "no hold-out (--holdout 0): the model is not calibrated\n");
    }
    if (encoder) {
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
                 "encoder epochs, batch %d, seed %llu, %.0f s", a->recipe, train.count,
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
                 bool encoder)
{
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
    if (encoder) {
        if ((st = anogan_load(m, a->model))) {
            fprintf(stderr, "inspectd train: %s\n", status_message());
            return 1;
        }
        state->phase = TRAIN_PHASE_ENCODER;
        if (a->lambda_set) /* the score's weighting lives in the model; recalibration follows */
            (*m)->cfg.lambda = a->arch.lambda;
        return 0;
    }
    if ((st = anogan_create(m, &a->arch, a->cfg.seed))) {
        fprintf(stderr, "inspectd train: %s\n", status_message());
        return 1;
    }
    if (!strcmp(a->init, "pytorch")) { /* PyTorch's default layer init, as the seed's code */
        net_init_weights(&(*m)->g, a->cfg.seed, false);
        net_init_weights(&(*m)->d_feat, a->cfg.seed + 1, false);
        net_init_weights(&(*m)->d_critic, a->cfg.seed + 2, false);
    }
    return 0;
}

static int train_main(int argc, char **argv, bool encoder)
{
    struct train_args a = {0};
    int rc = parse(&a, argc, argv, encoder);
    if (rc >= 0)
        return rc;
    struct anogan *m = NULL;
    struct train_state state = {0};
    rc = start(&m, &state, &a, encoder);
    if (rc == 0)
        rc = run(&a, m, &state, encoder);
    train_state_free(&state);
    anogan_free(m);
    return rc;
}

int cmd_train_anogan(int argc, char **argv)
{
    return train_main(argc, argv, false);
}

int cmd_train_encoder(int argc, char **argv)
{
    return train_main(argc, argv, true);
}
