#include "placeholder.h"

#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>

int placeholder_for(const struct sock *s, struct ph_desc *ret)
{
	struct ph_desc d = { .kind = PH_NONE, .family = s->family };

	if (s->family == AF_UNIX) {
		if (s->type != SOCK_STREAM && s->type != SOCK_SEQPACKET && s->type != SOCK_DGRAM) {
			*ret = d;
			return -EOPNOTSUPP;
		}
		d.kind = PH_UNIX_PAIR;
		d.type = s->type;
		d.close_peer = true;
		d.shutdown_self = s->type == SOCK_DGRAM;
	} else if ((s->family == AF_INET || s->family == AF_INET6) && s->proto == IPPROTO_TCP) {
		d.kind = PH_INET_STREAM;
		d.type = SOCK_STREAM;
		/* never connected, then shut: tcp_recvmsg sees RCV_SHUTDOWN
		 * before TCP_CLOSE, so reads give EOF, not ENOTCONN */
		d.shutdown_self = true;
	} else if ((s->family == AF_INET || s->family == AF_INET6) && s->proto == IPPROTO_UDP) {
		d.kind = PH_UDP;
		d.type = SOCK_DGRAM;
		d.shutdown_self = true; /* ENOTCONN, but the shutdown bits are set */
	} else {
		*ret = d;
		return -EOPNOTSUPP;
	}
	*ret = d;
	return 0;
}

const char *placeholder_kind_name(enum ph_kind k)
{
	switch (k) {
	case PH_INET_STREAM: return "inet-stream";
	case PH_UDP: return "udp";
	case PH_UNIX_PAIR: return "unix-pair";
	default: return "none";
	}
}
