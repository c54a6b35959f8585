/* file: whole-file reads. A regular file is read into a buffer of its size (one allocation);
 * anything else grows its buffer by doubling. */
#include "file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* read() that retries on EINTR. */
static ssize_t read_some(int fd, void *buf, size_t len)
{
    ssize_t r;
    do
        r = read(fd, buf, len);
    while (r < 0 && errno == EINTR);
    return r;
}

enum status file_read_all(uint8_t **out, size_t *out_len, const char *path, size_t max)
{
    ASSERT(out && out_len && path);
    *out = NULL;
    *out_len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return status_fail(errno == ENOENT ? STATUS_NOT_FOUND : STATUS_IO, "%s: %s", path,
                           strerror(errno));
    enum status s = STATUS_OK;
    uint8_t *buf = NULL;
    size_t len = 0, cap;
    struct stat sb;
    if (fstat(fd, &sb) != 0 || S_ISDIR(sb.st_mode)) {
        s = status_fail(STATUS_IO, "%s: not a readable file", path);
        goto fail;
    }
    bool regular = S_ISREG(sb.st_mode);
    if (regular && (uint64_t)sb.st_size > (uint64_t)max) {
        s = status_fail(STATUS_RANGE, "%s: %lld bytes, above the limit of %zu", path,
                        (long long)sb.st_size, max);
        goto fail;
    }
    cap = (regular ? (size_t)sb.st_size : 65536) + 1; /* +1: the NUL */
    for (;;) {
        if (len + 1 == cap) { /* full: is there more? (a regular file usually says no) */
            uint8_t probe[4096];
            ssize_t r = read_some(fd, probe, sizeof probe);
            if (r <= 0) {
                if (r < 0)
                    s = status_fail(STATUS_IO, "%s: %s", path, strerror(errno));
                break;
            }
            if (len + (size_t)r > max) {
                s = status_fail(STATUS_RANGE, "%s: more than the limit of %zu bytes", path, max);
                break;
            }
            size_t ncap = cap * 2 > len + (size_t)r + 1 ? cap * 2 : len + (size_t)r + 1;
            uint8_t *p = realloc(buf, ncap);
            if (!p) {
                s = status_fail(STATUS_NOMEM, "%s: out of memory for %zu bytes", path, ncap);
                break;
            }
            buf = p;
            cap = ncap;
            memcpy(buf + len, probe, (size_t)r);
            len += (size_t)r;
            continue;
        }
        if (!buf && !(buf = malloc(cap))) {
            s = status_fail(STATUS_NOMEM, "%s: out of memory for %zu bytes", path, cap);
            break;
        }
        ssize_t r = read_some(fd, buf + len, cap - 1 - len);
        if (r < 0) {
            s = status_fail(STATUS_IO, "%s: %s", path, strerror(errno));
            break;
        }
        if (r == 0)
            break;
        if (len + (size_t)r > max) {
            s = status_fail(STATUS_RANGE, "%s: more than the limit of %zu bytes", path, max);
            break;
        }
        len += (size_t)r;
    }
    if (s)
        goto fail;
    if (!buf && !(buf = malloc(1))) {
        s = status_fail(STATUS_NOMEM, "%s: out of memory", path);
        goto fail;
    }
    buf[len] = 0;
    close(fd);
    *out = buf;
    *out_len = len;
    return STATUS_OK;
fail:
    free(buf);
    close(fd);
    return s;
}
