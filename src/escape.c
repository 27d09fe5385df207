#include "escape.h"

#include <string.h>

size_t esc_utf8_seq(const unsigned char *s, uint32_t *cp)
{
	unsigned char c = s[0];
	size_t n;
	uint32_t v, min;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf)
		n = 2, v = c & 0x1f, min = 0x80;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, v = c & 0x0f, min = 0x800;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, v = c & 0x07, min = 0x10000;
	else
		return 0; /* continuation byte, 0xc0/0xc1 (overlong), 0xf5+ */
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80) /* also stops at the NUL */
			return 0;
		v = v << 6 | (s[i] & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return n;
}

bool esc_utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	uint32_t cp;
	while (*p) {
		size_t n = esc_utf8_seq(p, &cp);
		if (!n)
			return false;
		p += n;
	}
	return true;
}

/* Code points that are valid but must not reach a reader raw: C1 controls
 * (some terminals obey U+009B as CSI), line and paragraph separators,
 * zero-width and bidirectional controls (they reorder or hide what the
 * reader sees). */
static bool invisible(uint32_t cp)
{
	return (cp >= 0x80 && cp <= 0x9f) || (cp >= 0x200b && cp <= 0x200f) || (cp >= 0x2028 && cp <= 0x202e) ||
	       (cp >= 0x2060 && cp <= 0x2069) || cp == 0xfeff;
}

/* Where escaped text goes: a stream, or a buffer that only takes whole
 * escape units (so a cut never splits "\x1b" or a UTF-8 sequence). */
struct sink {
	FILE *f;
	char *buf;
	size_t size, used; /* used: bytes in buf */
	size_t len;        /* what the whole text needs */
	bool full;
};

static void put(struct sink *k, const char *unit, size_t n)
{
	if (k->f)
		fwrite(unit, 1, n, k->f);
	else if (!k->full && k->used + n < k->size) {
		memcpy(k->buf + k->used, unit, n);
		k->used += n;
	} else
		k->full = true;
	k->len += n;
}

static bool json_core(struct sink *k, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	bool lossy = false;
	char u[8];

	put(k, "\"", 1);
	while (*p) {
		uint32_t cp;
		size_t n = esc_utf8_seq(p, &cp);
		if (!n) {
			put(k, "\\ufffd", 6);
			lossy = true;
			p++;
			continue;
		}
		switch (cp) {
		case '"': put(k, "\\\"", 2); break;
		case '\\': put(k, "\\\\", 2); break;
		case '\n': put(k, "\\n", 2); break;
		case '\t': put(k, "\\t", 2); break;
		case '\r': put(k, "\\r", 2); break;
		case '\b': put(k, "\\b", 2); break;
		case '\f': put(k, "\\f", 2); break;
		default:
			if (cp < 0x20 || cp == 0x7f || invisible(cp)) {
				snprintf(u, sizeof(u), "\\u%04x", (unsigned)cp);
				put(k, u, 6);
			} else
				put(k, (const char *)p, n);
		}
		p += n;
	}
	put(k, "\"", 1);
	return lossy;
}

bool esc_json(FILE *f, const char *s)
{
	if (!s) {
		fputs("null", f);
		return false;
	}
	struct sink k = { .f = f };
	return json_core(&k, s);
}

void esc_json_field(FILE *f, const char *name, const char *s)
{
	fprintf(f, "\"%s\":", name);
	if (!esc_json(f, s))
		return;
	fprintf(f, ",\"%s_hex\":\"", name);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		fprintf(f, "%02x", *p);
	fputc('"', f);
}

static void term_core(struct sink *k, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	char u[12];

	while (*p) {
		uint32_t cp;
		size_t n = esc_utf8_seq(p, &cp);
		if (!n) {
			snprintf(u, sizeof(u), "\\x%02x", *p);
			put(k, u, 4);
			p++;
			continue;
		}
		if (cp == '\\')
			put(k, "\\\\", 2);
		else if (cp == '\n')
			put(k, "\\n", 2);
		else if (cp == '\t')
			put(k, "\\t", 2);
		else if (cp == '\r')
			put(k, "\\r", 2);
		else if (cp < 0x20 || cp == 0x7f) {
			snprintf(u, sizeof(u), "\\x%02x", (unsigned)cp);
			put(k, u, 4);
		} else if (invisible(cp)) {
			snprintf(u, sizeof(u), "\\u%04x", (unsigned)cp);
			put(k, u, 6);
		} else
			put(k, (const char *)p, n);
		p += n;
	}
}

void esc_term(FILE *f, const char *s)
{
	struct sink k = { .f = f };
	if (s)
		term_core(&k, s);
}

size_t esc_term_buf(char *buf, size_t size, const char *s)
{
	struct sink k = { .buf = buf, .size = size };
	if (s)
		term_core(&k, s);
	if (size)
		buf[k.used] = '\0';
	return k.len;
}

size_t esc_width(const char *s)
{
	size_t w = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		w += (*p & 0xc0) != 0x80;
	return w;
}
