/* Tests for file_read_all: contents and the NUL after them, the size limit, empty files, pipes,
 * missing paths and directories. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "file.h"
#include "testutil.h"

static char dir[] = "/tmp/inspectd-file-XXXXXX";

static void write_bytes(const char *path, const uint8_t *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    if (n) /* fwrite(NULL, ...) is undefined even for 0 bytes */
        ck_assert_uint_eq(fwrite(p, 1, n, f), n);
    ck_assert_int_eq(fclose(f), 0);
}

START_TEST(reads_whole_file)
{
    size_t n = 200000; /* larger than the pipe path's first buffer */
    uint8_t *want = malloc(n);
    for (size_t i = 0; i < n; i++)
        want[i] = (uint8_t)(i * 7 + 3);
    char path[256];
    snprintf(path, sizeof path, "%s/big", dir);
    write_bytes(path, want, n);
    uint8_t *got = NULL;
    size_t len = 0;
    ck_assert_int_eq(file_read_all(&got, &len, path, n), STATUS_OK);
    ck_assert_uint_eq(len, n);
    ck_assert_int_eq(memcmp(got, want, n), 0);
    ck_assert_uint_eq(got[n], 0);
    free(got);
    /* One byte over the limit. */
    ck_assert_int_eq(file_read_all(&got, &len, path, n - 1), STATUS_RANGE);
    ck_assert_ptr_null(got);
    ck_assert_uint_eq(len, 0);
    free(want);
}
END_TEST

START_TEST(empty_file)
{
    char path[256];
    snprintf(path, sizeof path, "%s/empty", dir);
    write_bytes(path, NULL, 0);
    uint8_t *got = NULL;
    size_t len = 1;
    ck_assert_int_eq(file_read_all(&got, &len, path, 0), STATUS_OK);
    ck_assert_uint_eq(len, 0);
    ck_assert_ptr_nonnull(got);
    ck_assert_uint_eq(got[0], 0);
    free(got);
    ck_assert_int_eq(file_read_all(&got, &len, "/dev/null", 10), STATUS_OK);
    ck_assert_uint_eq(len, 0);
    free(got);
}
END_TEST

/* A FIFO has no size up front: the buffer grows, and the limit still holds. */
static int read_fifo(size_t n, size_t max, size_t *len_out)
{
    char path[256];
    snprintf(path, sizeof path, "%s/fifo", dir);
    unlink(path);
    ck_assert_int_eq(mkfifo(path, 0600), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int fd = open(path, O_WRONLY);
        uint8_t chunk[1000];
        for (size_t i = 0; i < sizeof chunk; i++)
            chunk[i] = (uint8_t)i;
        for (size_t done = 0; fd >= 0 && done < n;) {
            size_t k = n - done < sizeof chunk ? n - done : sizeof chunk;
            ssize_t w = write(fd, chunk, k);
            if (w <= 0)
                break;
            done += (size_t)w;
        }
        _exit(0);
    }
    uint8_t *got = NULL;
    size_t len = 0;
    int s = file_read_all(&got, &len, path, max);
    if (s == STATUS_OK) {
        for (size_t i = 0; i < len; i++)
            ck_assert_uint_eq(got[i], (uint8_t)(i % 1000));
        ck_assert_uint_eq(got[len], 0);
    }
    free(got);
    int wst;
    waitpid(pid, &wst, 0);
    *len_out = len;
    return s;
}

START_TEST(reads_pipe)
{
    size_t len;
    ck_assert_int_eq(read_fifo(300000, 300000, &len), STATUS_OK);
    ck_assert_uint_eq(len, 300000);
    ck_assert_int_eq(read_fifo(300000, 100000, &len), STATUS_RANGE);
}
END_TEST

START_TEST(errors)
{
    uint8_t *got = (uint8_t *)"x";
    size_t len = 5;
    ck_assert_int_eq(file_read_all(&got, &len, "/nonexistent/file", 10), STATUS_NOT_FOUND);
    ck_assert_ptr_null(got);
    ck_assert_int_eq(file_read_all(&got, &len, dir, 10), STATUS_IO);
    ck_assert_ptr_null(got);
    ck_assert_ptr_nonnull(strstr(status_message(), dir));
}
END_TEST

/* The scratch folder, made once before the tests (in the runner, not in each test's fork). */
static void make_dir(void)
{
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        abort();
    }
}

static void remove_dir(void)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
}

int main(int argc, char **argv)
{
    Suite *s = suite_create("file");
    TCase *tc = tcase_create("read_all");
    tcase_add_unchecked_fixture(tc, make_dir, remove_dir);
    tcase_add_test(tc, reads_whole_file);
    tcase_add_test(tc, empty_file);
    tcase_add_test(tc, reads_pipe);
    tcase_add_test(tc, errors);
    suite_add_tcase(s, tc);
    return tu_main(s, argc, argv);
}
