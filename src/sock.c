#include "sock.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

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
	if ((s->proto == IPPROTO_UDP || s->family == AF_UNIX) && s->state == SK_CLOSE)
		return "UNCONN";
	if (s->state < SK_STATE_MAX && state_names[s->state])
		return state_names[s->state];
	return "UNKNOWN";
}

const char *sock_proto_name(const struct sock *s)
{
	if (s->family == AF_UNIX)
		return "unix";
	return s->proto == IPPROTO_UDP ? "udp" : "tcp";
}

const char *sock_netid(const struct sock *s)
{
	if (s->family == AF_UNIX)
		return s->type == SOCK_STREAM ? "u_str" : s->type == SOCK_DGRAM ? "u_dgr"
			: s->type == SOCK_SEQPACKET ? "u_seq" : "u_???";
	if (s->proto == IPPROTO_UDP)
		return s->family == AF_INET6 ? "udp6" : "udp";
	return s->family == AF_INET6 ? "tcp6" : "tcp";
}

const char *sock_type_name(const struct sock *s)
{
	switch (s->type) {
	case SOCK_STREAM: return "stream";
	case SOCK_DGRAM: return "dgram";
	case SOCK_SEQPACKET: return "seqpacket";
	default: return "unknown";
	}
}

uint32_t sock_idle_ms(const struct sock *s)
{
	return MIN(MIN(s->last_data_recv_ms, s->last_data_sent_ms), s->last_ack_recv_ms);
}

bool sock_is_dgram_server(const struct sock *s)
{
	/* Since Linux 5.18 connecting a unix datagram client marks the server
	 * ESTAB too (af_unix: unix_dgram_connect), though it has no peer: the
	 * state does not tell. */
	if (s->family == AF_UNIX)
		return s->type == SOCK_DGRAM && s->path_len > 0 && !s->peer_inode;
	return s->proto == IPPROTO_UDP && s->state == SK_CLOSE && s->sport != 0 && s->dport == 0;
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

void sock_unix_name_format(const char *name, size_t len, char *buf, size_t size)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = 0, i = 0;

	if (!size)
		return;
	if (!len) {
		snprintf(buf, size, "*");
		return;
	}
	if (name[0] == '\0') {
		buf[n++] = '@';
		i = 1;
	}
	for (; i < len && n + 1 < size; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c > 0x20 && c < 0x7f && c != '\\') {
			buf[n++] = (char)c;
			continue;
		}
		if (c == ' ') {
			buf[n++] = ' ';
			continue;
		}
		if (n + 4 >= size)
			break;
		buf[n++] = '\\';
		buf[n++] = 'x';
		buf[n++] = hex[c >> 4];
		buf[n++] = hex[c & 15];
	}
	buf[n < size ? n : size - 1] = '\0';
}

void sock_addr_format(const struct sock *s, bool local, char *buf, size_t size)
{
	char a[INET6_ADDRSTRLEN];

	if (s->family == AF_UNIX) {
		if (local)
			sock_unix_name_format(s->path, s->path_len, buf, size);
		else
			sock_unix_name_format(s->peer_path, s->peer_path_len, buf, size);
		return;
	}
	const uint8_t *addr = local ? s->src : s->dst;
	unsigned port = local ? s->sport : s->dport;

	inet_ntop(s->family, addr, a, sizeof(a));
	if (s->family == AF_INET6)
		snprintf(buf, size, "[%s]:%u", a, port);
	else
		snprintf(buf, size, "%s:%u", a, port);
}
