/* idx2png: writes one image of an IDX data set (MNIST layout) as a grey PNG, for examples and
 * tests. Choose it by index, or as the n-th image of a label at or after an index:
 *
 *   idx2png DIR --index 9000 --out a.png
 *   idx2png DIR --label 7 [--from 5000] [--nth 0] --out seven.png
 *
 * DIR holds images-idx3-ubyte(.gz) and labels-idx1-ubyte(.gz) (see core/idx.h). Prints the index
 * and label it wrote. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "idx.h"
#include "image.h"

int main(int argc, char **argv)
{
    const char *dir = NULL, *out = NULL;
    long index = -1, label = -1, from = 0, nth = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] != '-') {
            dir = a;
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "idx2png: %s needs a value\n", a);
            return 2;
        }
        const char *v = argv[++i];
        if (!strcmp(a, "--out"))
            out = v;
        else if (!strcmp(a, "--index"))
            index = (long)args_int("idx2png", a, v, 0, 100000000);
        else if (!strcmp(a, "--label"))
            label = (long)args_int("idx2png", a, v, 0, 100000000);
        else if (!strcmp(a, "--from"))
            from = (long)args_int("idx2png", a, v, 0, 100000000);
        else if (!strcmp(a, "--nth"))
            nth = (long)args_int("idx2png", a, v, 0, 100000000);
        else {
            fprintf(stderr, "idx2png: unknown option %s\n", a);
            return 2;
        }
    }
    if (!dir || !out || (index < 0 && label < 0)) {
        fprintf(stderr, "usage: idx2png DIR (--index N | --label L [--from I] [--nth K]) --out FILE\n");
        return 2;
    }
    char ipath[2048], lpath[2048];
    struct idx images = {0}, labels = {0};
    struct image img = {0};
    int rc = 1;
    enum status s = idx_find_pair(dir, NULL, ipath, sizeof ipath, lpath, sizeof lpath);
    if (!s)
        s = idx_load(&images, ipath);
    if (!s)
        s = idx_load(&labels, lpath);
    if (s) {
        fprintf(stderr, "idx2png: %s\n", status_message());
        goto done;
    }
    if (images.ndim != 3 || labels.count != images.count) {
        fprintf(stderr, "idx2png: %s: expected N x H x W images with N labels\n", ipath);
        goto done;
    }
    if (index < 0) {
        for (size_t i = (size_t)from; i < images.count; i++)
            if (labels.data[i] == label && nth-- == 0) {
                index = (long)i;
                break;
            }
        if (index < 0) {
            fprintf(stderr, "idx2png: no such image of label %ld\n", label);
            goto done;
        }
    }
    if ((size_t)index >= images.count) {
        fprintf(stderr, "idx2png: index %ld is past the %zu images\n", index, images.count);
        goto done;
    }
    int h = (int)images.dims[1], w = (int)images.dims[2];
    if ((s = image_alloc(&img, w, h, 1))) {
        fprintf(stderr, "idx2png: %s\n", status_message());
        goto done;
    }
    memcpy(img.pixels, images.data + (size_t)index * images.item, images.item);
    if ((s = image_save_png(&img, out))) {
        fprintf(stderr, "idx2png: %s\n", status_message());
        goto done;
    }
    printf("%s index=%ld label=%d\n", out, index, labels.data[index]);
    rc = 0;
done:
    image_free(&img);
    idx_free(&images);
    idx_free(&labels);
    return rc;
}
