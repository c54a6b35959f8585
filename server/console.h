/* console: the web console files (server/console/), embedded into the binary at build time by
 * scripts/embed.cmake. The table ends with an entry whose path is NULL. */
#ifndef INSPECTD_CONSOLE_H
#define INSPECTD_CONSOLE_H

#include <stddef.h>

struct console_asset {
    const char *path; /* "/index.html" */
    const char *content_type;
    const unsigned char *data;
    size_t size;
};

extern const struct console_asset console_assets[];

#endif
