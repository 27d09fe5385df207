/* The /proc/PID/environ reader of the ssh session check
 * (session_from_environ, session_parse) and the matcher. Input: an
 * environ block (NUL-separated NAME=value strings). */
#include <netinet/in.h>
#include <sys/socket.h>

#include "fuzz.h"
#include "session.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct session_list l = { 0 };
	if (session_from_environ((const char *)data, size, &l) < 0)
		abort();
	struct sock s = { .proto = IPPROTO_TCP, .family = AF_INET };
	for (size_t i = 0; i < l.n; i++) {
		s.family = l.v[i].family;
		memcpy(s.src, l.v[i].server, 16);
		memcpy(s.dst, l.v[i].client, 16);
		s.sport = l.v[i].server_port;
		s.dport = l.v[i].client_port;
		if (!session_match(&l, &s))
			abort(); /* the connection it names must match itself */
	}
	session_list_free(&l);
	return 0;
}
