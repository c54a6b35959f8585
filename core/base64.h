/* base64: the standard alphabet of RFC 4648 section 4, with padding. Decoding skips ASCII
 * whitespace (line-wrapped input) and accepts missing padding; anything else is an error. */
#ifndef INSPECTD_BASE64_H
#define INSPECTD_BASE64_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Characters needed to encode n bytes (no NUL). */
size_t base64_encoded_len(size_t n);
/* Writes base64_encoded_len(n) characters to out (not NUL-terminated). */
void base64_encode(char *out, const uint8_t *in, size_t n);
/* Bytes decoding at most len characters can produce (an upper bound for the out buffer). */
size_t base64_decoded_max(size_t len);
/* Decodes len characters into out (room for base64_decoded_max(len)); *out_len bytes written.
 * False on a character outside the alphabet, misplaced padding or a dangling 6-bit group. */
bool base64_decode(uint8_t *out, size_t *out_len, const char *in, size_t len);

#endif
