/* failmalloc: a failing allocator for tests/oom.sh, loaded into the daemon with LD_PRELOAD.
 *
 * Every malloc, calloc or realloc of FAILMALLOC_MIN_BYTES bytes or more returns NULL (errno
 * ENOMEM), as a machine out of memory would for a large request; smaller ones go to glibc's own
 * allocator (__libc_malloc and friends, so no dlsym and no allocation here), and free stays
 * glibc's. Each refusal writes one line "failmalloc: refused N bytes" to stderr, so a test can
 * tell the shim's refusals from other failures. Not for sanitizer builds: they own malloc. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

void *__libc_malloc(size_t n);
void *__libc_calloc(size_t n, size_t size);
void *__libc_realloc(void *p, size_t n);

static size_t min_bytes = SIZE_MAX; /* until the constructor has read the environment */

__attribute__((constructor)) static void failmalloc_init(void)
{
    const char *v = getenv("FAILMALLOC_MIN_BYTES");
    if (v && *v) {
        char *end;
        unsigned long long n = strtoull(v, &end, 10); /* parse.c is not linked in here */
        if (!*end && n > 0)
            min_bytes = (size_t)n;
    }
}

/* Writes "failmalloc: refused N bytes\n" without allocating. */
static void note(size_t n)
{
    char buf[64] = "failmalloc: refused ";
    size_t at = 20;
    char digits[24];
    int k = 0;
    do
        digits[k++] = (char)('0' + n % 10);
    while ((n /= 10) && k < (int)sizeof digits);
    while (k)
        buf[at++] = digits[--k];
    static const char tail[] = " bytes\n";
    for (size_t i = 0; i < sizeof tail - 1; i++)
        buf[at++] = tail[i];
    ssize_t unused = write(2, buf, at);
    (void)unused;
}

static int refuse(size_t n)
{
    if (n < min_bytes)
        return 0;
    note(n);
    errno = ENOMEM;
    return 1;
}

void *malloc(size_t n)
{
    return refuse(n) ? NULL : __libc_malloc(n);
}

void *calloc(size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        return __libc_calloc(n, size); /* glibc's own overflow answer */
    return refuse(n * size) ? NULL : __libc_calloc(n, size);
}

void *realloc(void *p, size_t n)
{
    return refuse(n) ? NULL : __libc_realloc(p, n);
}
