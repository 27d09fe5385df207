#include "diag.h"

#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/inet_diag.h>
#include <linux/sock_diag.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "util.h"

/* Large enough that the kernel fills each read with as many sockets as it
 * can (netlink dumps use up to 32 KiB per skb, more with a big buffer). */
#define DIAG_BUF_SIZE (64 * 1024)
#define DIAG_MAX_RETRIES 5

int sock_list_push(struct sock_list *l, const struct sock *s)
{
	int r = GROW(l->v, l->cap, l->n);
	if (r < 0)
		return r;
	l->v[l->n++] = *s;
	return 0;
}

void sock_list_free(struct sock_list *l)
{
	free(l->v);
	*l = (struct sock_list){ 0 };
}

bool diag_attrs_fit(const struct nlmsghdr *nlh, size_t hdrlen)
{
	/* mnl_attr_parse stops quietly at an attribute that overruns the
	 * message, and measures against the aligned length, which may lie
	 * past the end of the buffer: walk the attributes against the exact
	 * length first. */
	size_t len = nlh->nlmsg_len, off = NLMSG_HDRLEN + MNL_ALIGN(hdrlen);
	const uint8_t *base = (const uint8_t *)nlh;

	if (len < NLMSG_HDRLEN + hdrlen)
		return false;
	while (off < len) {
		struct nlattr a;
		if (len - off < sizeof(a))
			return false;
		memcpy(&a, base + off, sizeof(a));
		if (a.nla_len < sizeof(a) || a.nla_len > len - off)
			return false;
		off += MNL_ALIGN(a.nla_len);
	}
	return true;
}

static int attr_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;
	uint16_t type = mnl_attr_get_type(attr);

	if (mnl_attr_type_valid(attr, INET_DIAG_MAX) <= 0)
		return MNL_CB_OK; /* newer kernel, newer attribute: not ours */
	if (type == INET_DIAG_SHUTDOWN && mnl_attr_validate(attr, MNL_TYPE_U8) < 0)
		return MNL_CB_ERROR;
	tb[type] = attr;
	return MNL_CB_OK;
}

int diag_parse_msg(const struct nlmsghdr *nlh, uint8_t proto, struct sock *ret)
{
	const struct nlattr *tb[INET_DIAG_MAX + 1] = { 0 };
	const struct inet_diag_msg *m;
	struct sock s = { .proto = proto };

	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*m)))
		return -EBADMSG;
	m = mnl_nlmsg_get_payload(nlh);
	if (m->idiag_family != AF_INET && m->idiag_family != AF_INET6)
		return -EBADMSG;
	if (!diag_attrs_fit(nlh, sizeof(*m)) || mnl_attr_parse(nlh, sizeof(*m), attr_cb, tb) < 0)
		return -EBADMSG;

	s.family = m->idiag_family;
	s.type = proto == IPPROTO_UDP ? SOCK_DGRAM : SOCK_STREAM;
	s.state = m->idiag_state;
	memcpy(s.src, m->id.idiag_src, s.family == AF_INET ? 4 : 16);
	memcpy(s.dst, m->id.idiag_dst, s.family == AF_INET ? 4 : 16);
	s.sport = ntohs(m->id.idiag_sport);
	s.dport = ntohs(m->id.idiag_dport);
	s.ifindex = m->id.idiag_if;
	s.cookie = (uint64_t)m->id.idiag_cookie[0] | (uint64_t)m->id.idiag_cookie[1] << 32;
	s.uid = m->idiag_uid;
	s.inode = m->idiag_inode;
	s.rqueue = m->idiag_rqueue;
	s.wqueue = m->idiag_wqueue;
	s.timer = m->idiag_timer;
	s.expires_ms = m->idiag_expires;
	if (tb[INET_DIAG_SHUTDOWN])
		s.shutdown = mnl_attr_get_u8(tb[INET_DIAG_SHUTDOWN]);
	if (tb[INET_DIAG_INFO]) {
		/* tcp_info grows with kernels: copy what both sides know. */
		struct tcp_info ti = { 0 };
		size_t len = mnl_attr_get_payload_len(tb[INET_DIAG_INFO]);
		memcpy(&ti, mnl_attr_get_payload(tb[INET_DIAG_INFO]), MIN(len, sizeof(ti)));
		s.has_tcpi = len >= offsetof(struct tcp_info, tcpi_rcv_rtt);
		s.rtt_us = ti.tcpi_rtt;
		s.retrans = ti.tcpi_total_retrans;
		s.last_data_recv_ms = ti.tcpi_last_data_recv;
		s.last_data_sent_ms = ti.tcpi_last_data_sent;
		s.last_ack_recv_ms = ti.tcpi_last_ack_recv;
		s.unacked = ti.tcpi_unacked;
	}
	*ret = s;
	return 0;
}

struct parse_ctx {
	uint8_t proto;
	struct sock_list *out;
	int err;
};

static int data_cb(const struct nlmsghdr *nlh, void *data)
{
	struct parse_ctx *c = data;
	struct sock s;

	if (nlh->nlmsg_flags & NLM_F_DUMP_INTR) {
		c->err = -EINTR;
		return MNL_CB_ERROR;
	}
	if (nlh->nlmsg_type != SOCK_DIAG_BY_FAMILY) {
		c->err = -EBADMSG;
		return MNL_CB_ERROR;
	}
	/* inet_diag_msg and unix_diag_msg both start with the family */
	if (nlh->nlmsg_len < mnl_nlmsg_size(1)) {
		c->err = -EBADMSG;
		return MNL_CB_ERROR;
	}
	if (*(const uint8_t *)mnl_nlmsg_get_payload(nlh) == AF_UNIX)
		c->err = diag_unix_parse_msg(nlh, &s);
	else
		c->err = diag_parse_msg(nlh, c->proto, &s);
	if (c->err < 0)
		return MNL_CB_ERROR;
	c->err = sock_list_push(c->out, &s);
	return c->err < 0 ? MNL_CB_ERROR : MNL_CB_OK;
}

/* NLMSG_DONE may carry an error (an int after the header) when a dump fails
 * half way; libmnl's default treats every DONE as success. */
static int done_cb(const struct nlmsghdr *nlh, void *data)
{
	struct parse_ctx *c = data;

	if (nlh->nlmsg_flags & NLM_F_DUMP_INTR) {
		c->err = -EINTR;
		return MNL_CB_ERROR;
	}
	if (nlh->nlmsg_len >= mnl_nlmsg_size(sizeof(int))) {
		const int *err = mnl_nlmsg_get_payload(nlh);
		if (*err < 0) {
			c->err = *err;
			return MNL_CB_ERROR;
		}
	}
	return MNL_CB_STOP;
}

static int error_cb(const struct nlmsghdr *nlh, void *data)
{
	struct parse_ctx *c = data;
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);

	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*e))) {
		c->err = -EBADMSG;
		return MNL_CB_ERROR;
	}
	if (e->error == 0)
		return MNL_CB_STOP;
	c->err = e->error < 0 ? e->error : -e->error;
	return MNL_CB_ERROR;
}

/* libmnl trusts nlmsg_len too much: mnl_nlmsg_ok compares it as an int,
 * so a length >= 2^31 passes and mnl_nlmsg_next then moves the pointer up
 * to 4 GiB past the buffer; and mnl_attr_parse walks up to the *aligned*
 * end of a message, so a final message whose length is not a multiple of
 * 4 lets an attribute run up to 3 bytes past the buffer. Every header is
 * checked here, unsigned, before libmnl sees any: at least a header, and
 * its aligned length within what is left. */
static int validate_headers(const void *buf, size_t len)
{
	size_t off = 0;
	while (off < len) {
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)((const char *)buf + off);
		size_t left = len - off;
		if (left < sizeof(*nlh))
			return -EBADMSG;
		size_t n = nlh->nlmsg_len;
		if (n < sizeof(*nlh) || n > left || NLMSG_ALIGN(n) > left)
			return -EBADMSG;
		off += NLMSG_ALIGN(n);
	}
	return 0;
}

int diag_parse_buf(const void *buf, size_t len, uint32_t seq, uint32_t portid,
		   uint8_t proto, struct sock_list *out)
{
	struct parse_ctx c = { .proto = proto, .out = out };
	mnl_cb_t ctl[NLMSG_MIN_TYPE] = {
		[NLMSG_NOOP] = NULL, [NLMSG_ERROR] = error_cb,
		[NLMSG_DONE] = done_cb, [NLMSG_OVERRUN] = NULL,
	};

	if (validate_headers(buf, len) < 0)
		return -EBADMSG;
	errno = 0;
	int r = mnl_cb_run2(buf, len, seq, portid, data_cb, &c, ctl, ARRAY_SIZE(ctl));
	if (r == MNL_CB_ERROR) {
		if (c.err)
			return c.err;
		/* libmnl's own checks: bad length, wrong port id or sequence. */
		return errno == EINTR ? -EINTR : -EBADMSG;
	}
	if (r == MNL_CB_STOP)
		return 1;
	/* libmnl stops quietly at a message that does not fit the rest of
	 * the buffer; the kernel never splits one across reads, so leftover
	 * bytes mean a truncated or malformed reply. */
	const struct nlmsghdr *nlh = buf;
	int left = (int)len;
	while (mnl_nlmsg_ok(nlh, left))
		nlh = mnl_nlmsg_next(nlh, &left);
	return left > 0 ? -EBADMSG : 0;
}

static int dump_once(struct mnl_socket *nl, const void *req, size_t reqlen, uint8_t proto,
		     struct sock_list *out, FILE *record, char *buf)
{
	uint32_t seq = (uint32_t)time(NULL) ^ (uint32_t)now_ns();
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	ssize_t n;
	int r;

	nlh->nlmsg_type = SOCK_DIAG_BY_FAMILY;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = seq;
	memcpy(mnl_nlmsg_put_extra_header(nlh, reqlen), req, reqlen);
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	do {
		n = mnl_socket_recvfrom(nl, buf, DIAG_BUF_SIZE);
		if (n < 0)
			return -errno;
		if (record) {
			uint32_t len = (uint32_t)n;
			if (fwrite(&len, sizeof(len), 1, record) != 1 ||
			    fwrite(buf, (size_t)n, 1, record) != 1)
				return -EIO;
		}
		r = diag_parse_buf(buf, (size_t)n, seq, mnl_socket_get_portid(nl), proto, out);
	} while (r == 0 && n > 0);
	if (r == 0)
		return -EBADMSG; /* the socket closed before NLMSG_DONE */
	return r < 0 ? r : 0;
}

/* A dump that raced with socket changes is inconsistent: throw its part
 * away and dump again. */
static int dump_retrying(struct mnl_socket *nl, const void *req, size_t reqlen, uint8_t proto,
			 struct sock_list *out, FILE *record)
{
	_cleanup_free_ char *buf = malloc(DIAG_BUF_SIZE);
	int r = -EINTR;

	if (!buf)
		return -ENOMEM;
	for (int i = 0; i < DIAG_MAX_RETRIES && r == -EINTR; i++) {
		size_t start = out->n;
		r = dump_once(nl, req, reqlen, proto, out, record, buf);
		if (r == -EINTR)
			out->n = start;
	}
	return r;
}

int diag_dump_req(const void *req, size_t reqlen, uint8_t proto, struct sock_list *out, FILE *record)
{
	struct mnl_socket *nl;
	int rcvbuf = 1 << 20;
	int r;

	nl = mnl_socket_open2(NETLINK_SOCK_DIAG, SOCK_CLOEXEC);
	if (!nl)
		return -errno;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0)
		r = -errno;
	else {
		setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
		r = dump_retrying(nl, req, reqlen, proto, out, record);
	}
	mnl_socket_close(nl);
	return r;
}

int diag_mnl_dup(int nlfd, struct mnl_socket **ret)
{
	*ret = NULL; /* on every path: gcc -O3 cannot tell that r < 0 means failure */
	int fd = fcntl(nlfd, F_DUPFD_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	struct mnl_socket *nl = mnl_socket_fdopen(fd);
	if (!nl) {
		int r = -errno;
		close(fd);
		return r;
	}
	*ret = nl;
	return 0;
}

int diag_dump_req_fd(int nlfd, const void *req, size_t reqlen, uint8_t proto, struct sock_list *out,
		     FILE *record)
{
	if (nlfd < 0)
		return diag_dump_req(req, reqlen, proto, out, record);
	/* the caller keeps the socket for the next dump */
	struct mnl_socket *nl;
	int r = diag_mnl_dup(nlfd, &nl);
	if (r < 0)
		return r;
	r = dump_retrying(nl, req, reqlen, proto, out, record);
	mnl_socket_close(nl);
	return r;
}

static struct inet_diag_req_v2 inet_req(uint8_t family, uint8_t proto, uint32_t states)
{
	return (struct inet_diag_req_v2){
		.sdiag_family = family,
		.sdiag_protocol = proto,
		.idiag_ext = 1 << (INET_DIAG_INFO - 1),
		.idiag_states = states,
	};
}

int diag_dump_fd(int nlfd, uint8_t family, uint8_t proto, uint32_t states, struct sock_list *out,
		 FILE *record)
{
	const struct inet_diag_req_v2 req = inet_req(family, proto, states);
	return diag_dump_req_fd(nlfd, &req, sizeof(req), proto, out, record);
}

int diag_dump(uint8_t family, uint8_t proto, uint32_t states, struct sock_list *out,
	      FILE *record)
{
	return diag_dump_fd(-1, family, proto, states, out, record);
}
