/* Which placeholder the reuse-safe close puts over a socket's fd: a file
 * that behaves like a connection whose peer has gone (reads give EOF, poll
 * says hang-up), of a kind the application's code can live with. A pure
 * description; the engine builds it inside the target. */
#pragma once
#include <stdbool.h>

#include "sock.h"

enum ph_kind {
	PH_NONE,
	PH_INET_STREAM, /* TCP: a stream socket of the same family, shut down */
	PH_UDP,         /* UDP: a datagram socket of the same family, shut down */
	PH_UNIX_PAIR,   /* unix: one end of socketpair(AF_UNIX, type), other end closed */
};

struct ph_desc {
	enum ph_kind kind;
	int family;          /* for socket()/socketpair(): AF_INET, AF_INET6, AF_UNIX */
	int type;            /* SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET */
	bool close_peer;     /* PH_UNIX_PAIR: close the other end of the pair */
	bool shutdown_self;  /* shutdown(SHUT_RDWR) on the placeholder itself */
};

/* The placeholder for s. 0, or -EOPNOTSUPP for a kind of socket we have no
 * placeholder for (ret then says PH_NONE).
 *
 * Unix sockets need a pair: an unconnected unix stream socket reads EINVAL
 * (unix_stream_recvmsg: not TCP_ESTABLISHED), not EOF. One end of a
 * socketpair whose other end is closed reads EOF and polls POLLHUP for
 * stream and seqpacket (unix_release_sock shuts the survivor down). A
 * datagram survivor is not shut down by its peer's close and would block
 * in read, so it is shut down itself (RCV_SHUTDOWN: read returns 0,
 * unix_dgram_poll reports EPOLLIN|EPOLLRDHUP|EPOLLHUP). TCP and UDP
 * placeholders are never connected and shut down: tcp_recvmsg checks
 * RCV_SHUTDOWN before TCP_CLOSE, so reads give EOF, not ENOTCONN.
 * A limit of every datagram placeholder: a blocking read returns 0, a
 * non-blocking one EAGAIN (__skb_recv_datagram tries the queue before it
 * looks at the shutdown bits), while poll says readable and hung up. */
int placeholder_for(const struct sock *s, struct ph_desc *ret);
const char *placeholder_kind_name(enum ph_kind k);
