/* fuzz_v2: libFuzzer target for the Open Inference Protocol's request parsing (server/api_v2.c):
 * the route under /v2/models/, the JSON request (inputs, datatypes, shapes, data, outputs,
 * parameters), the binary tensor extension (Inference-Header-Content-Length and each input's
 * binary_data_size, Triton's length-prefixed BYTES), base64 and PNG decoding, UINT8 pixels.
 * The daemon is shutting down, so a request that parses is answered 503 where it would be
 * queued: no pool is needed, and every answer must be a v2 error body or metadata.
 *
 * Input layout: byte 0 picks the case (bit 0: the binary extension, the header's value in bytes
 * 1-2, big-endian; bit 1: GET the model's metadata instead; bit 2: an unknown model), then the
 * body. The model is a tiny random AnoGAN made once. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api.h"
#include "app.h"
#include "fuzzutil.h"
#include "json.h"
#include "models.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct models ms;
static struct serve_config cfg;
static struct app app;
static char header_value[16];

static void setup(void)
{
    fuzzutil_tiny_models(&ms, &cfg);
    app.cfg = &cfg;
    app.models = &ms;
    atomic_store(&app.shutting_down, 1);
}

static const char *header(const struct api_request *req, const char *name)
{
    (void)req;
    return header_value[0] && !strcasecmp(name, "Inference-Header-Content-Length") ? header_value
                                                                                    : NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!ms.nanogan)
        setup();
    if (size < 3)
        return 0;
    uint8_t mode = data[0];
    header_value[0] = 0;
    if (mode & 1)
        snprintf(header_value, sizeof header_value, "%u", (unsigned)data[1] << 8 | data[2]);
    data += 3, size -= 3;
    uint8_t *body = malloc(size + 1); /* NUL-terminated, as http.c delivers it */
    ASSERT(body);
    memcpy(body, data, size);
    body[size] = 0;
    bool get = mode & 2;
    const char *model = mode & 4 ? "nope" : "tiny";
    char path[64];
    snprintf(path, sizeof path, "/v2/models/%s%s", model, get ? "" : "/infer");
    struct api_request req = {.method = get ? "GET" : "POST", .path = path,
                              .content_type = "application/json", .body = body,
                              .body_len = size, .header = header};
    struct api_response res = {0};
    enum api_result r = api_v2_models(&app, NULL, &req, &res);
    ASSERT(r == API_DONE); /* shutting down: nothing is queued */
    ASSERT(res.status == 200 || (res.status >= 400 && res.status < 600));
    ASSERT(res.status != 500);
    if (res.status >= 400) { /* the protocol's error body */
        struct json *doc = NULL;
        ASSERT(json_parse(&doc, (const char *)res.body, res.body_len) == STATUS_OK);
        ASSERT(json_string(json_get(doc, "error")));
        json_free(doc);
    }
    if (res.body_owned)
        free(res.body);
    free(body);
    return 0;
}
