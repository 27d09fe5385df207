#include "destroy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/inet_diag.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "diag.h"
#include "util.h"

static void set_timeout(struct mnl_socket *nl)
{
	/* The kernel answers inside our sendto() (sock_diag runs in the
	 * sender's context), so the ACK is queued when it returns; a bound
	 * wait all the same: nothing may hang. */
	struct timeval tv = { .tv_sec = 5 };
	setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

int destroy_open_fd(int nlfd, struct mnl_socket **ret)
{
	struct mnl_socket *nl;
	int r = diag_mnl_dup(nlfd, &nl);
	if (r < 0)
		return r;
	set_timeout(nl);
	*ret = nl;
	return 0;
}

int destroy_open(struct mnl_socket **ret)
{
	struct mnl_socket *nl = mnl_socket_open2(NETLINK_SOCK_DIAG, SOCK_CLOEXEC);
	if (!nl)
		return -errno;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		int r = -errno;
		mnl_socket_close(nl);
		return r;
	}
	set_timeout(nl);
	*ret = nl;
	return 0;
}

void destroy_close(struct mnl_socket *nl)
{
	if (nl)
		mnl_socket_close(nl);
}

/* The dump's inet_diag_sockid again, as ss's kill_inet_sock reuses it:
 * addresses and ports in network order, interface, cookie. */
static void inet_id(const struct sock *s, struct inet_diag_sockid *id)
{
	*id = (struct inet_diag_sockid){
		.idiag_sport = htons(s->sport),
		.idiag_dport = htons(s->dport),
		.idiag_if = s->ifindex,
		.idiag_cookie = { (uint32_t)s->cookie, (uint32_t)(s->cookie >> 32) },
	};
	memcpy(id->idiag_src, s->src, sizeof(id->idiag_src));
	memcpy(id->idiag_dst, s->dst, sizeof(id->idiag_dst));
}

size_t destroy_build(void *buf, size_t size, const struct sock *s, uint32_t seq)
{
	size_t need = MNL_ALIGN(sizeof(struct nlmsghdr)) +
		      MAX(MNL_ALIGN(sizeof(struct inet_diag_req_v2)), MNL_ALIGN(sizeof(struct unix_diag_req)));
	if (size < need)
		return 0;
	memset(buf, 0, need);
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = SOCK_DESTROY;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = seq;
	if (s->family == AF_INET || s->family == AF_INET6) {
		struct inet_diag_req_v2 *r = mnl_nlmsg_put_extra_header(nlh, sizeof(*r));
		r->sdiag_family = s->family;
		r->sdiag_protocol = s->proto;
		r->idiag_states = SK_ALL_STATES;
		inet_id(s, &r->id);
	} else if (s->family == AF_UNIX) {
		/* No kernel destroys unix sockets today (unix_diag has no
		 * destroy handler: EOPNOTSUPP); ask anyway, so the answer is the
		 * running kernel's own, and a future one would just work. */
		struct unix_diag_req *r = mnl_nlmsg_put_extra_header(nlh, sizeof(*r));
		r->sdiag_family = AF_UNIX;
		r->udiag_states = SK_ALL_STATES;
		r->udiag_ino = (uint32_t)s->inode;
		r->udiag_cookie[0] = (uint32_t)s->cookie;
		r->udiag_cookie[1] = (uint32_t)(s->cookie >> 32);
	} else
		return 0;
	return nlh->nlmsg_len;
}

int destroy_parse_ack(const void *buf, size_t len, uint32_t seq, uint32_t portid)
{
	const struct nlmsghdr *nlh = buf;
	int left = (int)MIN(len, (size_t)INT32_MAX);

	for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
		if (nlh->nlmsg_seq != seq || (portid && nlh->nlmsg_pid != portid))
			continue; /* not the answer to our request */
		if (nlh->nlmsg_type != NLMSG_ERROR)
			return -EBADMSG;
		if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(struct nlmsgerr)))
			return -EBADMSG;
		const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
		return e->error <= 0 ? e->error : -e->error;
	}
	return left > 0 ? -EBADMSG : -EAGAIN;
}

int destroy_sock(struct mnl_socket *nl, const struct sock *s)
{
	uint8_t buf[MNL_SOCKET_BUFFER_SIZE] __attribute__((aligned(8)));
	uint32_t seq = (uint32_t)time(NULL) ^ (uint32_t)now_ns();
	size_t len = destroy_build(buf, sizeof(buf), s, seq);

	if (!len)
		return -EAFNOSUPPORT;
	if (mnl_socket_sendto(nl, buf, len) < 0)
		return -errno;
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (n < 0)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		int r = destroy_parse_ack(buf, (size_t)n, seq, mnl_socket_get_portid(nl));
		if (r != -EAGAIN)
			return r;
		/* only messages that were not ours: read on, within the timeout */
	}
}

const char *destroy_strerror(const struct sock *s, int err)
{
	switch (err) {
	case 0:
		return "destroyed by the kernel";
	case -EOPNOTSUPP:
		if (s->family == AF_UNIX)
			return "the kernel refused: it cannot destroy unix sockets (SOCK_DESTROY exists for "
			       "TCP, UDP and raw sockets only); use close (the default) or --shutdown";
		return "the kernel refused SOCK_DESTROY (EOPNOTSUPP): it was built without "
		       "CONFIG_INET_DIAG_DESTROY, or cannot destroy this kind of socket";
	case -EPERM:
	case -EACCES:
		return "the kernel refused: destroying needs CAP_NET_ADMIN in the socket's network namespace";
	case -ENOENT:
		return "the socket is already gone: the kernel has no socket with this id";
	case -ESTALE:
		return "the address and ports now belong to another socket (its cookie differs): not touched";
	case -ETIMEDOUT:
		return "the kernel did not answer the SOCK_DESTROY request";
	case -EAFNOSUPPORT:
		return "not a socket family sock_diag can address";
	default:
		return "SOCK_DESTROY failed";
	}
}
