/* warm: one score per AnoGAN model through the pool right after start-up, so the first real
 * request does not pay for the workspace allocations and cold caches, and so readiness
 * (GET /v2/health/ready) can say when the models are warm: app->warming counts the warm-up
 * scores not yet finished. */
#ifndef INSPECTD_WARM_H
#define INSPECTD_WARM_H

#include "status.h"

struct app;

/* Queues one warm-up score (a blank image, no search steps) per AnoGAN model of app->models on
 * app->pool. A model whose warm-up cannot be queued (no memory, full queue) is counted as warm:
 * readiness never waits for work that will not run. */
void warm_start(struct app *app);

#endif
