/* The sock_diag reply parser (diag_parse_buf, which validates every
 * netlink header before libmnl sees it). Input: the fixture format of
 * the tests/fixtures .bin files, reply buffers each preceded by a native uint32_t
 * length, so the recorded dumps are the seeds; anything else is one
 * buffer. Each buffer gets an allocation of exactly its size, so ASan
 * sees every byte read past it. */
#include <netinet/in.h>

#include "diag.h"
#include "fuzz.h"

static void fuzz_diag_one(const uint8_t *p, size_t n, uint8_t proto)
{
	uint8_t *buf = malloc(n ? n : 1);
	struct sock_list l = { 0 };
	if (!buf)
		abort();
	memcpy(buf, p, n);
	int r = diag_parse_buf(buf, n, 0, 0, proto, &l);
	if (r < 0 && l.n > 4096)
		abort(); /* never reached: keeps r used under every compiler */
	sock_list_free(&l);
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t off = 0;
	uint8_t proto = size && (data[0] & 1) ? IPPROTO_UDP : IPPROTO_TCP;
	while (off + 4 <= size) {
		uint32_t len;
		memcpy(&len, data + off, sizeof(len));
		if (len > size - off - 4)
			break;
		fuzz_diag_one(data + off + 4, len, proto);
		off += 4 + len;
	}
	if (off == 0)
		fuzz_diag_one(data, size, proto);
	return 0;
}
