#include "session.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util.h"

/* An address as sshd prints it: v4, v6, v6 with a zone ("fe80::1%eth0").
 * v4-mapped v6 is stored as v4 (OpenSSH prints those as v4 too). */
static int parse_addr(const char *text, uint8_t *family, uint8_t addr[16])
{
	char buf[INET6_ADDRSTRLEN + 16];
	if (strlen(text) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, text);
	buf[strcspn(buf, "%")] = '\0';
	memset(addr, 0, 16);
	if (inet_pton(AF_INET, buf, addr) == 1) {
		*family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, buf, addr) != 1)
		return -EINVAL;
	static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };
	if (!memcmp(addr, mapped, 12)) {
		memmove(addr, addr + 12, 4);
		memset(addr + 4, 0, 12);
		*family = AF_INET;
	} else
		*family = AF_INET6;
	return 0;
}

static int parse_port(const char *text, uint16_t *port)
{
	uint64_t v;
	if (parse_u64(text, 65535, &v) < 0 || v == 0)
		return -EINVAL;
	*port = (uint16_t)v;
	return 0;
}

int session_parse(const char *value, bool connection, struct session *ret)
{
	char buf[256], *f[5], *save = NULL;
	size_t n = 0;
	struct session s = { 0 };
	uint8_t fam2;

	if (strlen(value) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, value);
	for (char *t = strtok_r(buf, " ", &save); t && n < 5; t = strtok_r(NULL, " ", &save))
		f[n++] = t;
	if (n != (connection ? 4u : 3u))
		return -EINVAL;
	if (parse_addr(f[0], &s.family, s.client) < 0 || parse_port(f[1], &s.client_port) < 0)
		return -EINVAL;
	if (connection) {
		if (parse_addr(f[2], &fam2, s.server) < 0 || fam2 != s.family || parse_port(f[3], &s.server_port) < 0)
			return -EINVAL;
		s.has_server = true;
	} else if (parse_port(f[2], &s.server_port) < 0)
		return -EINVAL;
	*ret = s;
	return 0;
}

static bool same(const struct session *a, const struct session *b)
{
	return a->family == b->family && a->client_port == b->client_port && a->server_port == b->server_port &&
	       a->has_server == b->has_server && !memcmp(a->client, b->client, 16) &&
	       !memcmp(a->server, b->server, 16);
}

static int add(struct session_list *out, const struct session *s)
{
	for (size_t i = 0; i < out->n; i++)
		if (same(&out->v[i], s))
			return 0;
	if (GROW(out->v, out->cap, out->n) < 0)
		return -ENOMEM;
	out->v[out->n++] = *s;
	return 0;
}

int session_from_environ(const char *buf, size_t len, struct session_list *out)
{
	static const struct { const char *name; bool connection; } vars[] = {
		{ "SSH_CONNECTION=", true }, { "SSH_CLIENT=", false },
	};
	for (size_t off = 0; off < len;) {
		const char *e = buf + off;
		size_t elen = strnlen(e, len - off);
		for (size_t v = 0; v < ARRAY_SIZE(vars); v++) {
			size_t nl = strlen(vars[v].name);
			char value[256];
			struct session s;
			if (elen <= nl || elen - nl >= sizeof(value) || strncmp(e, vars[v].name, nl) != 0)
				continue;
			memcpy(value, e + nl, elen - nl);
			value[elen - nl] = '\0';
			if (session_parse(value, vars[v].connection, &s) == 0 && add(out, &s) < 0)
				return -ENOMEM;
		}
		off += elen + 1;
	}
	return 0;
}

/* The whole environ file (it can be up to the exec limit). */
static int read_environ(const char *proc_root, pid_t pid, char **ret, size_t *len)
{
	char path[128], chunk[8192];
	snprintf(path, sizeof(path), "%s/%d/environ", proc_root, (int)pid);
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	char *buf = NULL;
	FILE *m = open_memstream(&buf, len);
	if (!m)
		return -ENOMEM;
	ssize_t k;
	size_t total = 0;
	while ((k = read(fd, chunk, sizeof(chunk))) > 0 && total < (8u << 20)) {
		fwrite(chunk, 1, (size_t)k, m);
		total += (size_t)k;
	}
	if (fclose(m) != 0) {
		free(buf);
		return -ENOMEM;
	}
	*ret = buf;
	return 0;
}

int session_collect(const char *proc_root, pid_t self, const pid_t *ancestors, size_t n,
		    struct session_list *out)
{
	for (size_t i = 0; i <= n; i++) {
		pid_t pid = i == 0 ? self : ancestors[i - 1];
		char *buf = NULL;
		size_t len = 0;
		if (read_environ(proc_root, pid, &buf, &len) < 0)
			continue; /* gone, or not ours to read */
		int r = session_from_environ(buf, len, out);
		free(buf);
		if (r < 0)
			return r;
	}
	return 0;
}

/* The socket's address as sessions store it (v4-mapped as v4). */
static void sock_addr(const struct sock *s, bool local, uint8_t *family, uint8_t addr[16])
{
	static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };
	const uint8_t *a = local ? s->src : s->dst;
	memset(addr, 0, 16);
	if (s->family == AF_INET6 && !memcmp(a, mapped, 12)) {
		memcpy(addr, a + 12, 4);
		*family = AF_INET;
	} else {
		memcpy(addr, a, s->family == AF_INET ? 4 : 16);
		*family = s->family;
	}
}

/* Does one end (ip, port) of the socket match? server: ip may be unknown. */
static bool end_is(uint8_t fam, const uint8_t *addr, uint16_t port, const struct session *ss, bool server)
{
	if (fam != ss->family)
		return false;
	if (server)
		return port == ss->server_port && (!ss->has_server || !memcmp(addr, ss->server, 16));
	return port == ss->client_port && !memcmp(addr, ss->client, 16);
}

bool session_match(const struct session_list *l, const struct sock *s)
{
	if (!l || s->proto != IPPROTO_TCP)
		return false;
	uint8_t lf, pf, la[16], pa[16];
	sock_addr(s, true, &lf, la);
	sock_addr(s, false, &pf, pa);
	for (size_t i = 0; i < l->n; i++) {
		const struct session *ss = &l->v[i];
		/* sshd's end: local is the server; or the ssh client's end */
		if ((end_is(lf, la, s->sport, ss, true) && end_is(pf, pa, s->dport, ss, false)) ||
		    (end_is(lf, la, s->sport, ss, false) && end_is(pf, pa, s->dport, ss, true)))
			return true;
	}
	return false;
}

void session_list_free(struct session_list *l)
{
	free(l->v);
	*l = (struct session_list){ 0 };
}
