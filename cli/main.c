/* inspectd: the command line. Dispatches to one command; each lives in cli/<name>.c. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "ops.h"

struct command {
    const char *name, *sub; /* "train anogan": name "train", sub "anogan" */
    int (*run)(int argc, char **argv);
    const char *help;
};

static const struct command commands[] = {
    {"serve", NULL, cmd_serve, "run the HTTP daemon (AnoGAN scoring, graph queries, web console)"},
    {"score", NULL, cmd_score, "score PNG images with a model, one JSON line per image"},
    {"bench", "gcn", cmd_bench_gcn, "time GCN training epochs on Cora or a synthetic graph"},
    {"bench", NULL, cmd_bench, "time the latent search per image and step at several batch sizes"},
    {"train", "anogan", cmd_train_anogan, "train a model on normal images: DCGAN, encoder, detectors, threshold"},
    {"train", "encoder", cmd_train_encoder, "add an f-AnoGAN encoder to a trained model"},
    {"train", "parts", cmd_train_parts,
     "train the detectors beside the AnoGAN of a trained model, and recalibrate"},
    {"train", "gcn", cmd_train_gcn, "train a two-layer GCN on a graph folder"},
    {"eval", "anogan", cmd_eval_anogan, "AUROC, AP and F1 of a model on labelled images"},
    {"eval", "oneclass", cmd_eval_oneclass,
     "the one-class benchmark: a model per normal class, AUROC of each detector and baselines"},
    {"eval", "gcn", cmd_eval_gcn, "accuracy of a trained GCN on a graph folder"},
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *f)
{
    fprintf(f, "usage: inspectd <command> [options]   (inspectd <command> --help for its options)\n\n");
    for (size_t i = 0; i < NCOMMANDS; i++) {
        char name[32];
        snprintf(name, sizeof name, "%s%s%s", commands[i].name, commands[i].sub ? " " : "",
                 commands[i].sub ? commands[i].sub : "");
        fprintf(f, "  %-16s %s\n", name, commands[i].help);
    }
    fprintf(f, "\n  --help           this text\n  --version        print the version\n");
}

int main(int argc, char **argv)
{
    ops_blas_reexec(argv); /* OpenBLAS's kernels for this CPU, before any work */
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("inspectd %s\n", INSPECTD_VERSION);
        return 0;
    }
    for (size_t i = 0; i < NCOMMANDS; i++) {
        if (strcmp(argv[1], commands[i].name))
            continue;
        if (!commands[i].sub)
            return commands[i].run(argc - 1, argv + 1);
        if (argc >= 3 && !strcmp(argv[2], commands[i].sub))
            return commands[i].run(argc - 2, argv + 2);
    }
    fprintf(stderr, "inspectd: unknown command '%s%s%s'\n", argv[1], argc >= 3 ? " " : "",
            argc >= 3 ? argv[2] : "");
    usage(stderr);
    return 2;
}
