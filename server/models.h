/* models: what the daemon serves, loaded once at start-up and read-only afterwards.
 *
 * Every *.safetensors file in the models folder is an AnoGAN model (tensors G.*, D.*) or a GCN
 * (tensors W0 and W1, or metadata format=inspectd-gcn); anything else, or a file that does not
 * load, is an error that stops start-up. --gcn FILE adds a GCN from elsewhere (and makes it the
 * default); --graph DIR loads a graph folder, and every GCN whose input width fits it gets the
 * class probabilities of all its nodes computed once (gcn_cache). The default AnoGAN model is the
 * first by file name. */
#ifndef INSPECTD_MODELS_H
#define INSPECTD_MODELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "anogan.h"
#include "config.h"
#include "gcn.h"
#include "graph.h"
#include "status.h"

struct gcn_model {
    char name[64];
    char path[4096];
    struct gcn *gcn;
    struct gcn_cache *cache; /* every node of models->graph; NULL without a fitting graph */
};

struct models {
    char dir[1024];            /* the folder scanned ("" when none) */
    struct anogan **anogan;    /* sorted by file name; [0] is the default */
    char (*anogan_path)[4096]; /* the file each was loaded from */
    int nanogan;
    struct gcn_model *gcn;     /* [0] is the default */
    int ngcn;
    struct graph *graph;       /* --graph, or NULL */
    struct graph_report graph_report;
};

/* Loads everything cfg names. Progress and warnings go to log. On failure everything loaded so
 * far is freed and the message (status_message) names the file. */
enum status models_load(struct models *ms, const struct serve_config *cfg, FILE *log);
void models_free(struct models *ms);

/* By name; NULL or "" gives the default. NULL when there is no such model. */
const struct anogan *models_anogan(const struct models *ms, const char *name);
const struct gcn_model *models_gcn(const struct models *ms, const char *name);

/* The models folder used when none is given: models/ beside the binary (or its parent, for a
 * build folder inside the source tree), else ./models. False if none exists. */
bool models_default_dir(char *buf, size_t len);

#endif
