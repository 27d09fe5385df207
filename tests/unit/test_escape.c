/* What leaves sockreap from strings other processes control: valid UTF-8
 * JSON whatever the bytes, and text a terminal cannot be driven by. */
#include "unit.h"

#include <stdio.h>
#include <string.h>

#include "escape.h"

static char *json_of(const char *s, bool *lossy)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	bool l = esc_json(f, s);
	fclose(f);
	if (lossy)
		*lossy = l;
	return buf;
}

static char *term_of(const char *s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	esc_term(f, s);
	fclose(f);
	return buf;
}

#define JSON_IS(in, out, want_lossy)                         \
	do {                                                 \
		bool l_;                                     \
		char *j_ = json_of(in, &l_);                 \
		assert_string_equal(j_, out);                \
		assert_int_equal(l_, want_lossy);            \
		assert_true(esc_utf8_valid(j_));             \
		free(j_);                                    \
	} while (0)

#define TERM_IS(in, out)                     \
	do {                                 \
		char *t_ = term_of(in);      \
		assert_string_equal(t_, out); \
		free(t_);                    \
	} while (0)

static void test_utf8_validation(void **state)
{
	assert_true(esc_utf8_valid(""));
	assert_true(esc_utf8_valid("plain ascii"));
	assert_true(esc_utf8_valid("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));
	assert_false(esc_utf8_valid("\xff"));
	assert_false(esc_utf8_valid("\x80"));                 /* stray continuation */
	assert_false(esc_utf8_valid("\xc0\xaf"));             /* overlong '/' */
	assert_false(esc_utf8_valid("\xe0\x80\xaf"));         /* overlong, 3 bytes */
	assert_false(esc_utf8_valid("\xed\xa0\x80"));         /* surrogate U+D800 */
	assert_false(esc_utf8_valid("\xf4\x90\x80\x80"));     /* beyond U+10FFFF */
	assert_false(esc_utf8_valid("\xe2\x82"));             /* truncated at the end */
	assert_false(esc_utf8_valid("\xe2\x82x"));            /* truncated in the middle */
}

static void test_json(void **state)
{
	JSON_IS("nginx", "\"nginx\"", false);
	JSON_IS("a\"b\\c", "\"a\\\"b\\\\c\"", false);
	JSON_IS("\x1b[2J\nx\ty\r\b\f", "\"\\u001b[2J\\nx\\ty\\r\\b\\f\"", false);
	JSON_IS("\x7f", "\"\\u007f\"", false);
	JSON_IS("caf\xc3\xa9", "\"caf\xc3\xa9\"", false);
	JSON_IS("\xc2\x9b" "2J", "\"\\u009b2J\"", false);       /* C1 CSI */
	JSON_IS("a\xe2\x80\xae" "b", "\"a\\u202eb\"", false);   /* right-to-left override */
	JSON_IS("\xe2\x80\xa8", "\"\\u2028\"", false);
	JSON_IS("/tmp/x\xff\xfey", "\"/tmp/x\\ufffd\\ufffdy\"", true);
	JSON_IS("\xe2\x82", "\"\\ufffd\\ufffd\"", true);
	char *n = json_of(NULL, NULL);
	assert_string_equal(n, "null");
	free(n);
}

static void test_json_field_hex(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	esc_json_field(f, "exe", "/bin/ok");
	fputc(',', f);
	esc_json_field(f, "comm", "a\xff");
	fclose(f);
	assert_string_equal(buf, "\"exe\":\"/bin/ok\",\"comm\":\"a\\ufffd\",\"comm_hex\":\"61ff\"");
	free(buf);
}

static void test_term(void **state)
{
	TERM_IS("nginx: worker", "nginx: worker");
	TERM_IS("\x1b[2J\nevil", "\\x1b[2J\\nevil");
	TERM_IS("a\\b", "a\\\\b");
	TERM_IS("tab\there\r", "tab\\there\\r");
	TERM_IS("\x7f\x01", "\\x7f\\x01");
	TERM_IS("\xff\xfe", "\\xff\\xfe");
	TERM_IS("caf\xc3\xa9", "caf\xc3\xa9");
	TERM_IS("\xc2\x9b" "2J", "\\u009b2J");
	TERM_IS("x\xe2\x80\xaey", "x\\u202ey");
	TERM_IS("", "");
}

static void test_term_buf_cuts_whole_units(void **state)
{
	char buf[8];
	/* "ab\x1b" -> "ab\\x1b" (6 bytes) fits in 8 with the NUL */
	assert_int_equal(esc_term_buf(buf, sizeof(buf), "ab\x1b"), 6);
	assert_string_equal(buf, "ab\\x1b");
	/* "abcd\x1b" needs 8: the escape does not fit, and is not split */
	assert_int_equal(esc_term_buf(buf, sizeof(buf), "abcd\x1b" "e"), 9);
	assert_string_equal(buf, "abcd");
	/* a multibyte character is never split either */
	assert_int_equal(esc_term_buf(buf, 6, "abc\xe2\x82\xac"), 6);
	assert_string_equal(buf, "abc");
	assert_int_equal(esc_width("caf\xc3\xa9"), 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_utf8_validation),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_json_field_hex),
		cmocka_unit_test(test_term),
		cmocka_unit_test(test_term_buf_cuts_whole_units),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
