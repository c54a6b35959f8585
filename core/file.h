/* file: reading a whole file into memory, the one way every loader (IDX, safetensors, PNG,
 * graph text) does it. */
#ifndef INSPECTD_FILE_H
#define INSPECTD_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

/* Reads all of path (a regular file, a pipe or a device; not a directory) into *out, malloc'd,
 * with a NUL byte after the *len bytes read so text parsers may rely on one. Fails with
 * STATUS_NOT_FOUND if path does not exist, STATUS_RANGE if it holds more than max bytes,
 * STATUS_IO on any other error, STATUS_NOMEM; *out is NULL then. */
enum status file_read_all(uint8_t **out, size_t *len, const char *path, size_t max);

#endif
