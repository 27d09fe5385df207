/* Strings that other processes control (comm, exe paths, symbol and file
 * names, unix socket paths, reasons quoting a tracer's comm) leave sockreap
 * in two forms only: as valid UTF-8 JSON, and escaped for a terminal, so
 * that no byte sequence of theirs can forge a log line or drive the
 * operator's terminal (ESC[2J erasing the plan shown before the prompt). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* The length (1-4) of the well-formed UTF-8 sequence at s, or 0 if s does
 * not start one (stray continuation byte, overlong form, surrogate, beyond
 * U+10FFFF, truncated). *cp gets the code point. */
size_t esc_utf8_seq(const unsigned char *s, uint32_t *cp);
bool esc_utf8_valid(const char *s);

/* s as a JSON string with its quotes (null for NULL). Control characters,
 * DEL, C1 controls, U+2028/2029 and bidirectional overrides become \uXXXX;
 * every byte that is not part of well-formed UTF-8 becomes \ufffd. Returns
 * true when that replacement lost bytes. */
bool esc_json(FILE *f, const char *s);
/* "name":"value" (no comma before); when value is not valid UTF-8 also
 * ,"name_hex":"<the raw bytes in hex>" so nothing is lost. */
void esc_json_field(FILE *f, const char *name, const char *s);

/* s for a terminal: printable ASCII and printable UTF-8 as they are;
 * backslash as \\, \n \t \r, other control bytes, DEL and bytes of
 * malformed UTF-8 as \xHH, C1 controls and invisible direction or line
 * controls as \uXXXX. */
void esc_term(FILE *f, const char *s);
/* The same into buf (always NUL-terminated, cut at a character boundary).
 * Returns the length the whole escaped text needs, without the NUL. */
size_t esc_term_buf(char *buf, size_t size, const char *s);
/* Terminal columns of an escaped (so printable) string: its code points. */
size_t esc_width(const char *s);
