/* fuzz_request: libFuzzer target for the daemon's request parser (score_parse: JSON bodies with
 * base64 PNGs or raw pixels, PNG bodies, query options) and, for accepted requests, the
 * preprocessing and the answer writer (JSON, reconstruction and anomaly-map PNGs).
 *
 * Input layout: byte 0 picks the case (bit 0: PNG body, else JSON; bit 1: /score/batch; bit 2:
 * a Content-Type nobody accepts), then a query string up to the first newline ("k=v&k=v"), then
 * the body. The model is a tiny random AnoGAN made once; caps are small so inputs stay fast. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzzutil.h"
#include "models.h"
#include "score.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct models ms;
static struct serve_config cfg;

/* Splits "k=v&k2=v2" (in place) into req->query. */
static void parse_query(struct api_request *req, char *q)
{
    for (char *tok = strtok(q, "&"); tok && req->nquery < API_MAX_QUERY; tok = strtok(NULL, "&")) {
        char *eq = strchr(tok, '=');
        if (eq)
            *eq = 0;
        req->query[req->nquery++] = (struct api_param){tok, eq ? eq + 1 : ""};
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!ms.nanogan)
        fuzzutil_tiny_models(&ms, &cfg);
    if (size < 1)
        return 0;
    uint8_t mode = data[0];
    data++, size--;
    const uint8_t *nl = memchr(data, '\n', size);
    size_t qlen = nl ? (size_t)(nl - data) : 0;
    char *query = malloc(qlen + 1);
    uint8_t *body = malloc(size - qlen + 1); /* NUL-terminated, as http.c delivers it */
    ASSERT(query && body);
    memcpy(query, data, qlen);
    query[qlen] = 0;
    size_t blen = nl ? size - qlen - 1 : size;
    memcpy(body, nl ? nl + 1 : data, blen);
    body[blen] = 0;

    bool batch = mode & 2;
    struct api_request req = {
        .method = "POST",
        .path = batch ? "/score/batch" : "/score",
        .content_type = mode & 4 ? "text/plain" : mode & 1 ? "image/png" : "application/json",
        .body = body,
        .body_len = blen,
    };
    parse_query(&req, query);
    struct score_request sr;
    struct api_fail f;
    if (!score_parse(&sr, &f, &cfg, &ms, &req, batch)) {
        ASSERT(f.status >= 400 && f.status < 600 && f.code[0] && f.message[0]);
        ASSERT(f.status != 500);
    } else {
        ASSERT(sr.n >= 1 && sr.n <= (batch ? cfg.max_images : 1) && sr.model == ms.anogan[0]);
        ASSERT(sr.search.iterations >= 0 && sr.search.iterations <= cfg.max_iterations);
        const struct anogan *m = sr.model;
        size_t isize = anogan_image_size(m);
        float *x = malloc(isize * sizeof *x);
        ASSERT(x);
        for (int i = 0; i < sr.n; i++) {
            const struct image *img = &sr.images[i];
            ASSERT(img->width >= 1 && img->width <= cfg.max_side && img->height >= 1 &&
                   img->height <= cfg.max_side);
            ASSERT((size_t)img->width * (size_t)img->height <= cfg.max_pixels);
            if (anogan_preprocess(m, img, x) != STATUS_OK)
                continue; /* out of memory: the daemon answers 503 */
            /* The answer, with x standing in for G(z): every field and both PNGs. */
            struct json_writer w;
            json_writer_init(&w);
            json_object_begin(&w);
            struct detect_result r = {
                .gan = {.score = x[0], .residual = x[1], .iterations = 1}, .score = x[0]};
            for (int k = 0; k < DETECT_NPARTS; k++)
                r.part[k] = k == 0 ? x[0] : NAN;
            ASSERT(score_answer_image(&w, &sr, &r, "id", x, x, img->width, img->height));
            json_object_end(&w);
            size_t len;
            char *text = json_writer_finish(&w, &len);
            ASSERT(text);
            struct json *doc = NULL;
            ASSERT(json_parse(&doc, text, len) == STATUS_OK);
            json_free(doc);
            free(text);
        }
        free(x);
        score_request_free(&sr);
    }
    free(query);
    free(body);
    return 0;
}
