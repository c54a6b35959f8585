/* base64: see base64.h. Table-driven both ways; the decoder works in groups of four symbols. */
#include "base64.h"

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t base64_encoded_len(size_t n)
{
    return (n + 2) / 3 * 4;
}

void base64_encode(char *out, const uint8_t *in, size_t n)
{
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        *out++ = alphabet[v >> 18];
        *out++ = alphabet[(v >> 12) & 63];
        *out++ = alphabet[(v >> 6) & 63];
        *out++ = alphabet[v & 63];
    }
    if (i < n) {
        uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0);
        *out++ = alphabet[v >> 18];
        *out++ = alphabet[(v >> 12) & 63];
        *out++ = i + 1 < n ? alphabet[(v >> 6) & 63] : '=';
        *out++ = '=';
    }
}

size_t base64_decoded_max(size_t len)
{
    return len / 4 * 3 + 3;
}

/* 0..63 for alphabet symbols, 64 for '=', 65 for whitespace, 66 for anything else. */
static int symbol(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    if (c == '=')
        return 64;
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t')
        return 65;
    return 66;
}

bool base64_decode(uint8_t *out, size_t *out_len, const char *in, size_t len)
{
    uint32_t acc = 0;
    int nsym = 0, npad = 0;
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        int s = symbol((unsigned char)in[i]);
        if (s == 65)
            continue;
        if (s == 66)
            return false;
        if (s == 64) {
            npad++;
            continue;
        }
        if (npad) /* data after padding */
            return false;
        acc = acc << 6 | (uint32_t)s;
        if (++nsym == 4) {
            out[o++] = (uint8_t)(acc >> 16);
            out[o++] = (uint8_t)(acc >> 8);
            out[o++] = (uint8_t)acc;
            acc = 0;
            nsym = 0;
        }
    }
    /* A final group of 2 or 3 symbols carries 1 or 2 bytes; 1 symbol carries nothing. */
    if (nsym == 1 || npad > 2 || (npad && nsym + npad != 4))
        return false;
    if (nsym == 2) {
        out[o++] = (uint8_t)(acc >> 4);
    } else if (nsym == 3) {
        out[o++] = (uint8_t)(acc >> 10);
        out[o++] = (uint8_t)(acc >> 2);
    }
    *out_len = o;
    return true;
}
