/* Unix sockets through unix_diag (net/unix/diag.c): the same dump loop and
 * message checks as inet (diag.c), a parser of its own. Every length is
 * checked before anything is read: a name no longer than sun_path, a peer
 * inode of exactly 4 bytes, pending connections a whole number of u32s. */
#include "diag.h"

#include <libmnl/libmnl.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "util.h"

/* What an attribute's payload must be: exactly n bytes, at least n bytes
 * (a struct a newer kernel may extend), or a multiple of n; LEN_ANY for an
 * attribute a newer header knows and this file does not read. */
enum { LEN_ANY, LEN_EXACT, LEN_MIN, LEN_ARRAY };
static const struct { uint8_t kind; uint16_t n; } unix_attr_len[UNIX_DIAG_MAX + 1] = {
	[UNIX_DIAG_NAME] = { LEN_ARRAY, 1 },
	[UNIX_DIAG_VFS] = { LEN_MIN, sizeof(struct unix_diag_vfs) },
	[UNIX_DIAG_PEER] = { LEN_EXACT, sizeof(uint32_t) },
	[UNIX_DIAG_ICONS] = { LEN_ARRAY, sizeof(uint32_t) },
	[UNIX_DIAG_RQLEN] = { LEN_MIN, sizeof(struct unix_diag_rqlen) },
	[UNIX_DIAG_MEMINFO] = { LEN_ARRAY, sizeof(uint32_t) },
	[UNIX_DIAG_SHUTDOWN] = { LEN_EXACT, sizeof(uint8_t) },
	[UNIX_DIAG_UID] = { LEN_EXACT, sizeof(uint32_t) },
};

static int unix_attr_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;
	uint16_t type = mnl_attr_get_type(attr);
	size_t len = mnl_attr_get_payload_len(attr);

	if (mnl_attr_type_valid(attr, UNIX_DIAG_MAX) <= 0)
		return MNL_CB_OK; /* newer kernel, newer attribute: not ours */
	size_t n = unix_attr_len[type].n;
	switch (unix_attr_len[type].kind) {
	case LEN_ANY:
		break;
	case LEN_EXACT:
		if (len != n)
			return MNL_CB_ERROR;
		break;
	case LEN_MIN:
		if (len < n)
			return MNL_CB_ERROR;
		break;
	case LEN_ARRAY:
		if (len % n)
			return MNL_CB_ERROR;
		break;
	}
	tb[type] = attr;
	return MNL_CB_OK;
}

int diag_unix_parse_msg(const struct nlmsghdr *nlh, struct sock *ret)
{
	const struct nlattr *tb[UNIX_DIAG_MAX + 1] = { 0 };
	const struct unix_diag_msg *m;
	struct sock s = { .family = AF_UNIX, .uid = UINT32_MAX };

	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*m)))
		return -EBADMSG;
	m = mnl_nlmsg_get_payload(nlh);
	if (m->udiag_family != AF_UNIX)
		return -EBADMSG;
	if (!diag_attrs_fit(nlh, sizeof(*m)) || mnl_attr_parse(nlh, sizeof(*m), unix_attr_cb, tb) < 0)
		return -EBADMSG;

	s.type = m->udiag_type;
	s.state = m->udiag_state;
	s.inode = m->udiag_ino;
	s.cookie = (uint64_t)m->udiag_cookie[0] | (uint64_t)m->udiag_cookie[1] << 32;
	if (tb[UNIX_DIAG_NAME]) {
		size_t len = mnl_attr_get_payload_len(tb[UNIX_DIAG_NAME]);
		if (len > sizeof(s.path))
			return -EBADMSG;
		memcpy(s.path, mnl_attr_get_payload(tb[UNIX_DIAG_NAME]), len);
		/* a path name comes with its terminating NUL (the length bind()
		 * stored); an abstract name is every byte, NULs included */
		if (len && s.path[0] != '\0')
			len = strnlen(s.path, len);
		s.path_len = (uint8_t)len;
	}
	if (tb[UNIX_DIAG_VFS]) {
		struct unix_diag_vfs v;
		memcpy(&v, mnl_attr_get_payload(tb[UNIX_DIAG_VFS]), sizeof(v));
		s.has_vfs = true;
		s.vfs_ino = v.udiag_vfs_ino;
		s.vfs_dev = v.udiag_vfs_dev;
	}
	if (tb[UNIX_DIAG_PEER])
		s.peer_inode = mnl_attr_get_u32(tb[UNIX_DIAG_PEER]);
	if (tb[UNIX_DIAG_ICONS])
		s.nicons = mnl_attr_get_payload_len(tb[UNIX_DIAG_ICONS]) / sizeof(uint32_t);
	if (tb[UNIX_DIAG_RQLEN]) {
		struct unix_diag_rqlen q;
		memcpy(&q, mnl_attr_get_payload(tb[UNIX_DIAG_RQLEN]), sizeof(q));
		s.rqueue = q.udiag_rqueue;
		s.wqueue = q.udiag_wqueue;
	}
	if (tb[UNIX_DIAG_SHUTDOWN])
		s.shutdown = mnl_attr_get_u8(tb[UNIX_DIAG_SHUTDOWN]);
	if (tb[UNIX_DIAG_UID])
		s.uid = mnl_attr_get_u32(tb[UNIX_DIAG_UID]);
	*ret = s;
	return 0;
}

struct ino_idx { uint64_t inode; size_t i; };

static int ino_idx_cmp(const void *a, const void *b)
{
	const struct ino_idx *x = a, *y = b;
	return (x->inode > y->inode) - (x->inode < y->inode);
}

int diag_unix_link_peers(struct sock_list *l, size_t first)
{
	size_t n = 0;
	_cleanup_free_ struct ino_idx *v = malloc((l->n - first + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (size_t i = first; i < l->n; i++)
		if (l->v[i].family == AF_UNIX && l->v[i].inode)
			v[n++] = (struct ino_idx){ l->v[i].inode, i };
	if (n)
		qsort(v, n, sizeof(*v), ino_idx_cmp);
	for (size_t i = first; i < l->n; i++) {
		struct sock *s = &l->v[i];
		if (s->family != AF_UNIX || !s->peer_inode || !n)
			continue;
		struct ino_idx key = { .inode = s->peer_inode };
		const struct ino_idx *p = bsearch(&key, v, n, sizeof(*v), ino_idx_cmp);
		if (!p)
			continue; /* the peer went away, or it is in another namespace */
		memcpy(s->peer_path, l->v[p->i].path, l->v[p->i].path_len);
		s->peer_path_len = l->v[p->i].path_len;
	}
	return 0;
}

int diag_dump_unix(uint32_t states, struct sock_list *out, FILE *record)
{
	return diag_dump_unix_fd(-1, states, out, record);
}

int diag_dump_unix_fd(int nlfd, uint32_t states, struct sock_list *out, FILE *record)
{
	const struct unix_diag_req req = {
		.sdiag_family = AF_UNIX,
		.udiag_states = states,
		.udiag_show = UDIAG_SHOW_NAME | UDIAG_SHOW_VFS | UDIAG_SHOW_PEER | UDIAG_SHOW_ICONS |
			      UDIAG_SHOW_RQLEN | UDIAG_SHOW_UID,
	};
	size_t first = out->n;
	int r = diag_dump_req_fd(nlfd, &req, sizeof(req), 0, out, record);
	return r < 0 ? r : diag_unix_link_peers(out, first);
}
