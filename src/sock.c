#include "sock.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "util.h"

static const char *const state_names[SK_STATE_MAX] = {
	[SK_ESTABLISHED] = "ESTAB", [SK_SYN_SENT] = "SYN-SENT",
	[SK_SYN_RECV] = "SYN-RECV", [SK_FIN_WAIT1] = "FIN-WAIT-1",
	[SK_FIN_WAIT2] = "FIN-WAIT-2", [SK_TIME_WAIT] = "TIME-WAIT",
	[SK_CLOSE] = "CLOSE", [SK_CLOSE_WAIT] = "CLOSE-WAIT",
	[SK_LAST_ACK] = "LAST-ACK", [SK_LISTEN] = "LISTEN",
	[SK_CLOSING] = "CLOSING", [SK_NEW_SYN_RECV] = "NEW-SYN-RECV",
};

const char *sock_state_name(const struct sock *s)
{
	if (s->proto == IPPROTO_UDP && s->state == SK_CLOSE)
		return "UNCONN";
	if (s->state < SK_STATE_MAX && state_names[s->state])
		return state_names[s->state];
	return "UNKNOWN";
}

const char *sock_proto_name(const struct sock *s)
{
	return s->proto == IPPROTO_UDP ? "udp" : "tcp";
}

/* Lower case, separators dropped: "CLOSE_WAIT", "close-wait", "closewait"
 * all become "closewait". */
static void squash(const char *in, char *out, size_t size)
{
	size_t n = 0;
	for (; *in && n + 1 < size; in++)
		if (*in != '-' && *in != '_')
			out[n++] = (char)tolower((unsigned char)*in);
	out[n] = '\0';
}

uint32_t sock_state_parse(const char *name)
{
	static const struct { const char *name; uint32_t mask; } extra[] = {
		{ "all", SK_ALL_STATES },
		{ "established", 1u << SK_ESTABLISHED },
		{ "closed", 1u << SK_CLOSE },
		{ "unconn", 1u << SK_CLOSE },
		{ "listening", 1u << SK_LISTEN },
		/* ss's groups */
		{ "connected", SK_ALL_STATES & ~(1u << SK_LISTEN | 1u << SK_CLOSE) },
		{ "synchronized", SK_ALL_STATES & ~(1u << SK_LISTEN | 1u << SK_CLOSE | 1u << SK_SYN_SENT) },
		{ "bucket", 1u << SK_SYN_RECV | 1u << SK_TIME_WAIT },
	};
	char want[32], have[32];

	squash(name, want, sizeof(want));
	if (!*want || strlen(name) >= sizeof(want))
		return 0;
	for (int i = 1; i < SK_STATE_MAX; i++) {
		squash(state_names[i], have, sizeof(have));
		if (!strcmp(want, have))
			return 1u << i;
	}
	for (size_t i = 0; i < ARRAY_SIZE(extra); i++)
		if (!strcmp(want, extra[i].name))
			return extra[i].mask;
	return 0;
}

void sock_addr_format(const struct sock *s, bool local, char *buf, size_t size)
{
	char a[INET6_ADDRSTRLEN];
	const uint8_t *addr = local ? s->src : s->dst;
	unsigned port = local ? s->sport : s->dport;

	inet_ntop(s->family, addr, a, sizeof(a));
	if (s->family == AF_INET6)
		snprintf(buf, size, "[%s]:%u", a, port);
	else
		snprintf(buf, size, "%s:%u", a, port);
}
