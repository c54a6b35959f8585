/* idx_decode: IDX bytes in memory that may still be gzip-compressed, the form idx_load reads
 * from disk. Kept apart from idx.h because only idx_load and the fuzz target need it. */
#ifndef INSPECTD_IDX_DECODE_H
#define INSPECTD_IDX_DECODE_H

#include "idx.h"

/* Like idx_parse, but bytes that start with the gzip magic (1f 8b) are inflated first (several
 * gzip members are concatenated, as gzip -d does). The inflated size is bounded by what the IDX
 * header declares, so a small hostile stream cannot claim unbounded memory. *out: idx_free. */
enum status idx_decode(struct idx *out, const uint8_t *bytes, size_t len, const char *name);

#endif
