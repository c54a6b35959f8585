/* anogan_impl: what anogan.c and anogan_io.c share and nobody else needs. */
#ifndef INSPECTD_ANOGAN_IMPL_H
#define INSPECTD_ANOGAN_IMPL_H

#include "anogan.h"

/* Lays out G, D-features and critic for m->cfg (weights zeroed). */
enum status anogan_build(struct anogan *m);
/* Lays out the encoder for m->cfg and sets has_encoder. */
enum status anogan_build_encoder(struct anogan *m);

#endif
