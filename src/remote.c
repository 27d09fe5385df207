#include "remote.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

long rp_data(struct rprog *p, const void *src, size_t len)
{
	size_t off = (p->ndata + 15) & ~(size_t)15;
	if (off + len > p->capdata) {
		size_t cap = MAX(off + len, 2 * p->capdata);
		uint8_t *v = realloc(p->data, MAX(cap, 256));
		if (!v)
			return -ENOMEM;
		p->data = v;
		p->capdata = MAX(cap, 256);
	}
	memset(p->data + p->ndata, 0, off - p->ndata);
	if (src)
		memcpy(p->data + off, src, len);
	else
		memset(p->data + off, 0, len);
	p->ndata = off + len;
	return (long)off;
}

int rp_add(struct rprog *p, int32_t need0, int32_t need1, enum arch_sys sys, const struct rp_arg a[6])
{
	if (GROW(p->c, p->cap, p->n) < 0)
		return -ENOMEM;
	struct rp_call *c = &p->c[p->n];
	*c = (struct rp_call){ .sys = sys, .need = { need0, need1 }, .ret = RP_NOT_RUN };
	memcpy(c->a, a, sizeof(c->a));
	return (int)p->n++;
}

int rp_socket(struct rprog *p, int32_t need, int family, int type)
{
	return rp_add(p, need, 0, ASYS_SOCKET, (struct rp_arg[6]){ RP_IMM(family), RP_IMM(type), RP_IMM(0) });
}

int rp_shutdown(struct rprog *p, int32_t need, struct rp_arg fd, int how)
{
	return rp_add(p, need, 0, ASYS_SHUTDOWN, (struct rp_arg[6]){ fd, RP_IMM(how) });
}

int rp_close(struct rprog *p, int32_t need0, int32_t need1, struct rp_arg fd)
{
	return rp_add(p, need0, need1, ASYS_CLOSE, (struct rp_arg[6]){ fd });
}

int rp_dup3(struct rprog *p, int32_t need0, int32_t need1, struct rp_arg oldfd, int newfd, int flags)
{
	return rp_add(p, need0, need1, ASYS_DUP3, (struct rp_arg[6]){ oldfd, RP_IMM(newfd), RP_IMM(flags) });
}

int rp_setsockopt(struct rprog *p, int32_t need0, int32_t need1, struct rp_arg fd, int level, int name,
		  const void *val, size_t len)
{
	long off = rp_data(p, val, len);
	if (off < 0)
		return (int)off;
	return rp_add(p, need0, need1, ASYS_SETSOCKOPT,
		      (struct rp_arg[6]){ fd, RP_IMM(level), RP_IMM(name), RP_DATA(off), RP_IMM(len) });
}

int rp_getsockopt(struct rprog *p, int32_t need, int fd, int level, int name, size_t len, long *ret_off)
{
	uint32_t l = (uint32_t)len;
	long loff = rp_data(p, &l, sizeof(l));
	long off = loff < 0 ? loff : rp_data(p, NULL, len);
	if (off < 0)
		return (int)off;
	*ret_off = off;
	return rp_add(p, need, 0, ASYS_GETSOCKOPT,
		      (struct rp_arg[6]){ RP_IMM(fd), RP_IMM(level), RP_IMM(name), RP_DATA(off), RP_DATA(loff) });
}

int rp_setsockopt_from(struct rprog *p, int32_t need0, int32_t need1, int fd, int level, int name, long off,
		       size_t len)
{
	return rp_add(p, need0, need1, ASYS_SETSOCKOPT,
		      (struct rp_arg[6]){ RP_IMM(fd), RP_IMM(level), RP_IMM(name), RP_DATA(off), RP_IMM(len) });
}

int rp_epoll_ctl(struct rprog *p, int32_t need0, int32_t need1, int epfd, int op, struct rp_arg fd,
		 uint32_t events, uint64_t data)
{
	struct rp_arg ev = RP_IMM(0);
	if (op != EPOLL_CTL_DEL) {
		/* struct epoll_event is packed on x86_64 (12 bytes), natural
		 * elsewhere: the local definition matches the target's ABI,
		 * which is sockreap's own (arch_sysno refuses other modes). */
		struct epoll_event e = { .events = events, .data.u64 = data };
		long off = rp_data(p, &e, sizeof(e));
		if (off < 0)
			return (int)off;
		ev = RP_DATA(off);
	}
	return rp_add(p, need0, need1, ASYS_EPOLL_CTL, (struct rp_arg[6]){ RP_IMM(epfd), RP_IMM(op), fd, ev });
}

int rp_fcntl(struct rprog *p, int32_t need, struct rp_arg fd, int cmd, long arg)
{
	return rp_add(p, need, 0, ASYS_FCNTL, (struct rp_arg[6]){ fd, RP_IMM(cmd), RP_IMM(arg) });
}

static bool need_met(const struct rprog *p, int32_t need)
{
	if (need == 0)
		return true;
	size_t i = (size_t)(need > 0 ? need : -need) - 1;
	int64_t r = p->c[i].ret;
	if (r == RP_NOT_RUN)
		return false;
	return need > 0 ? r >= 0 : r < 0;
}

bool rp_runnable(const struct rprog *p, size_t i)
{
	return need_met(p, p->c[i].need[0]) && need_met(p, p->c[i].need[1]);
}

int rp_run_calls(struct inj *t, struct rprog *p, uint64_t data_addr, size_t *next)
{
	int r;
	if (p->ndata && *next == 0 && (r = t->ops->write_mem(t->pid, data_addr, p->data, p->ndata)) < 0)
		return r;
	for (; *next < p->n; (*next)++) {
		struct rp_call *c = &p->c[*next];
		if (!rp_runnable(p, *next))
			continue;
		uint64_t args[6];
		for (int k = 0; k < 6; k++)
			args[k] = c->a[k].kind == RP_RET ? (uint64_t)p->c[c->a[k].v].ret
				: c->a[k].kind == RP_DATA ? data_addr + c->a[k].v : c->a[k].v;
		long ret;
		if ((r = inj_call(t, c->sys, args, &ret)) < 0)
			return r;
		c->ret = ret;
	}
	return 0;
}

void rprog_reset(struct rprog *p)
{
	p->n = p->ndata = 0;
}

void rprog_free(struct rprog *p)
{
	free(p->c);
	free(p->data);
	*p = (struct rprog){ 0 };
}
