/* The filter parsers of query.c on their own, and the matchers on what
 * they parsed. Input: one selector byte, then the filter text. */
#include <netinet/in.h>
#include <sys/socket.h>

#include "fuzz.h"
#include "query.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!size)
		return 0;
	char *arg = fuzz_strndup(data + 1, size - 1);
	struct query q = { 0 };
	struct sock s = { .proto = IPPROTO_TCP, .family = AF_INET6, .state = SK_CLOSE_WAIT,
			  .sport = 8080, .dport = 443, .inode = 7 };
	memset(s.src, 0xfe, sizeof(s.src));
	switch (data[0] % 6) {
	case 0: port_list_parse(&q.port, arg); break;
	case 1: cidr_list_parse(&q.src, arg); cidr_list_parse(&q.dst, arg); break;
	case 2: state_list_parse(&q.states, arg); break;
	case 3: u64_list_parse(&q.inode, arg, 1, UINT64_MAX); break;
	case 4: u64_list_parse(&q.uid, arg, 0, UINT32_MAX - 1); break;
	case 5: s.state = (uint8_t)(sock_state_parse(arg) & 0xff); break;
	}
	query_match_sock(&q, &s);
	s.family = AF_INET;
	query_match_sock(&q, &s);
	query_free(&q);
	free(arg);
	return 0;
}
