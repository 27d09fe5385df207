#include "container.h"
#include "escape.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util.h"

#ifndef SYS_openat2
#define SYS_openat2 437
#endif

#define DOCKER_ROOT "/var/lib/docker/containers"
#define K8S_NS_FILE "var/run/secrets/kubernetes.io/serviceaccount/namespace"

static bool is_hex(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* Names other users choose (pod names, unit names, docker names) are kept
 * only when they are plain: printable ASCII from a small set, so nothing
 * they contain can reach a terminal or break a line of output. */
static bool is_plain(const char *s, size_t n, const char *extra)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		      strchr(extra, ch)) || ch == '\0')
			return false;
	}
	return true;
}

static void copy(char *dst, size_t size, const char *src, size_t n)
{
	n = MIN(n, size - 1);
	memcpy(dst, src, n);
	dst[n] = '\0';
}

static bool has_prefix(const char *s, size_t n, const char *prefix)
{
	size_t p = strlen(prefix);
	return n >= p && !memcmp(s, prefix, p);
}

static bool has_suffix(const char *s, size_t n, const char *suffix)
{
	size_t k = strlen(suffix);
	return n >= k && !memcmp(s + n - k, suffix, k);
}

/* A pod UID as the kubelet writes it into slice names (dashes become
 * underscores there): 36 characters of hex and dashes. */
static bool set_pod_uid(struct container *c, const char *s, size_t n)
{
	char uid[40];
	if (n != 36)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i] == '_' ? '-' : s[i];
		if (ch != '-' && !is_hex(&ch, 1))
			return false;
		uid[i] = ch;
	}
	copy(c->pod_uid, sizeof(c->pod_uid), uid, n);
	return true;
}

/* "<prefix><hex id>.scope" (systemd cgroup driver) or, with an empty
 * suffix, "<prefix><hex id>" (cgroupfs driver). */
static bool scope_id(const char *comp, size_t n, const char *prefix, const char *suffix,
		     const char **id, size_t *idlen)
{
	if (!has_prefix(comp, n, prefix) || !has_suffix(comp, n, suffix))
		return false;
	*id = comp + strlen(prefix);
	*idlen = n - strlen(prefix) - strlen(suffix);
	return *idlen >= 12 && is_hex(*id, *idlen);
}

static const struct {
	const char *prefix, *suffix, *runtime;
} scopes[] = {
	{ "docker-", ".scope", "docker" },
	{ "cri-containerd-", ".scope", "containerd" },
	{ "crio-", ".scope", "cri-o" },
	{ "libpod-", ".scope", "podman" },
	{ "libpod-", "", "podman" },      /* podman, cgroupfs: /libpod_parent/libpod-<id> */
};

/* One cgroup path, component by component, into found: the innermost
 * container wins (a container inside a container's cgroup is the one that
 * runs it); a systemd service only when there is no container. 2: a
 * container or pod, 1: a service, 0: nothing. */
static int parse_path(const char *path, size_t len, struct container *found)
{
	const char *prev = "", *service = NULL;
	size_t prevlen = 0, servicelen = 0;
	bool kubepods = false, any = false;

	*found = (struct container){ 0 };
	for (size_t at = 0; at < len;) {
		while (at < len && path[at] == '/')
			at++;
		const char *comp = path + at;
		size_t n = 0;
		while (at + n < len && comp[n] != '/')
			n++;
		at += n;
		if (!n)
			break;

		const char *id;
		size_t idlen;
		bool matched = false;
		for (size_t i = 0; i < ARRAY_SIZE(scopes) && !matched; i++)
			if (scope_id(comp, n, scopes[i].prefix, scopes[i].suffix, &id, &idlen)) {
				snprintf(found->runtime, sizeof(found->runtime), "%s", scopes[i].runtime);
				copy(found->id, sizeof(found->id), id, idlen);
				matched = any = true;
			}
		if (!matched && n >= 12 && is_hex(comp, n) &&
		    (kubepods || (prevlen == 6 && !memcmp(prev, "docker", 6)))) {
			/* cgroupfs drivers: /docker/<id>, /kubepods/<qos>/pod<uid>/<id> */
			snprintf(found->runtime, sizeof(found->runtime), "%s", kubepods ? "cri" : "docker");
			copy(found->id, sizeof(found->id), comp, n);
			matched = any = true;
		}
		if (has_prefix(comp, n, "kubepods"))
			kubepods = true;
		if (!matched && has_prefix(comp, n, "kubepods") && has_suffix(comp, n, ".slice")) {
			/* kubepods-besteffort-pod<uid>.slice, kubepods-pod<uid>.slice */
			const char *pod = NULL;
			for (size_t i = 0; i + 4 <= n; i++)
				if (!memcmp(comp + i, "-pod", 4))
					pod = comp + i + 4;
			if (pod && set_pod_uid(found, pod, (size_t)(comp + n - 6 - pod)))
				any = true;
		} else if (!matched && kubepods && has_prefix(comp, n, "pod")) {
			if (set_pod_uid(found, comp + 3, n - 3))
				any = true;
		}
		if (!matched && has_suffix(comp, n, ".service") && is_plain(comp, n, "-_.:@\\")) {
			service = comp;
			servicelen = n;
		}
		prev = comp;
		prevlen = n;
	}
	copy(found->cgroup, sizeof(found->cgroup), path, len);
	if (any)
		return 2;
	if (!service)
		return 0;
	snprintf(found->runtime, sizeof(found->runtime), "systemd");
	copy(found->id, sizeof(found->id), service, servicelen);
	return 1;
}

static void take(struct container *c, const struct container *found)
{
	memcpy(c->runtime, found->runtime, sizeof(c->runtime));
	memcpy(c->id, found->id, sizeof(c->id));
	memcpy(c->pod_uid, found->pod_uid, sizeof(c->pod_uid));
	memcpy(c->cgroup, found->cgroup, sizeof(c->cgroup));
}

bool container_parse_cgroup(const char *text, struct container *c)
{
	struct container found, service = { 0 };
	/* pass 0: the unified hierarchy ("0::/path"); pass 1: v1 lines. A
	 * container on any line beats a service (hybrid hosts show docker's
	 * cgroupfs containers on v1 lines only). */
	for (int pass = 0; pass < 2; pass++)
		for (const char *line = text; line && *line;) {
			const char *end = strchr(line, '\n');
			size_t n = end ? (size_t)(end - line) : strlen(line);
			const char *c1 = memchr(line, ':', n);
			const char *c2 = c1 ? memchr(c1 + 1, ':', n - (size_t)(c1 + 1 - line)) : NULL;
			bool v2 = c1 == line + 1 && line[0] == '0' && c2 == c1 + 1;
			if (c2 && v2 == (pass == 0)) {
				const char *path = c2 + 1;
				int k = parse_path(path, n - (size_t)(path - line), &found);
				if (k == 2) {
					take(c, &found);
					return true;
				}
				if (k == 1 && !service.id[0])
					service = found;
			}
			line = end ? end + 1 : NULL;
		}
	if (!service.id[0])
		return false;
	take(c, &service);
	return true;
}

int container_parse_nspid(const char *status, pid_t *nspid, bool *pidns)
{
	const char *p = !strncmp(status, "NSpid:", 6) ? status : strstr(status, "\nNSpid:");
	if (!p)
		return -ENOENT;
	p = strchr(p, ':') + 1;
	long last = 0;
	int count = 0;
	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p < '0' || *p > '9')
			break;
		char *end;
		last = strtol(p, &end, 10);
		p = end;
		count++;
	}
	if (!count || last <= 0)
		return -ENOENT;
	*nspid = (pid_t)last;
	*pidns = count > 1;
	return 0;
}

/* A DNS-1123 name as Kubernetes uses for pods and namespaces. */
static bool is_k8s_name(const char *s, size_t n)
{
	return n <= 253 && is_plain(s, n, "-.") && strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-.") >= n;
}

void container_parse_environ(const char *env, size_t len, struct container *c)
{
	const char *pod = NULL, *ns = NULL, *host = NULL;
	size_t podn = 0, nsn = 0, hostn = 0;
	bool k8s = false;

	for (size_t at = 0; at < len;) {
		const char *e = env + at;
		size_t n = strnlen(e, len - at);
		at += n + 1;
		if (has_prefix(e, n, "POD_NAME="))
			pod = e + 9, podn = n - 9;
		else if (has_prefix(e, n, "POD_NAMESPACE="))
			ns = e + 14, nsn = n - 14;
		else if (has_prefix(e, n, "HOSTNAME="))
			host = e + 9, hostn = n - 9;
		else if (has_prefix(e, n, "KUBERNETES_SERVICE_HOST="))
			k8s = true;
	}
	if (!pod && k8s && host)
		pod = host, podn = hostn;
	if (pod && is_k8s_name(pod, podn))
		copy(c->pod_name, sizeof(c->pod_name), pod, podn);
	if (ns && is_k8s_name(ns, nsn))
		copy(c->pod_ns, sizeof(c->pod_ns), ns, nsn);
}

int container_docker_name(const char *config_json, char *name, size_t size)
{
	const char *p = strstr(config_json, "\"Name\":\"");
	if (!p)
		return -ENOENT;
	p += 8;
	if (*p == '/')
		p++;
	size_t n = strcspn(p, "\"\\");
	if (p[n] != '"' || !is_plain(p, n, "_.-"))
		return -ENOENT;
	copy(name, size, p, n);
	return 0;
}

/* A file inside the process's own root, resolving every symlink inside that
 * root: a container's /var/run -> /run must not lead to the host's /run, and
 * a hostile one must not make us read a host file. */
static ssize_t read_in_root(int piddir, const char *rel, char *buf, size_t size)
{
	_cleanup_close_ int root = openat(piddir, "root", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		return -errno;
	struct open_how how = {
		.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV,
	};
	_cleanup_close_ int fd = (int)syscall(SYS_openat2, root, rel, &how, sizeof(how));
	if (fd < 0)
		return -errno;
	ssize_t n = read(fd, buf, size - 1);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return n;
}

static void read_docker_name(struct container *c)
{
	char path[sizeof(DOCKER_ROOT) + sizeof(c->id) + 32];
	size_t size = 256 * 1024;
	if (!is_hex(c->id, strlen(c->id)))
		return;
	snprintf(path, sizeof(path), DOCKER_ROOT "/%s/config.v2.json", c->id);
	_cleanup_free_ char *buf = malloc(size);
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (!buf || fd < 0)
		return;
	size_t len = 0;
	ssize_t n;
	while (len + 1 < size && (n = read(fd, buf + len, size - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	container_docker_name(buf, c->name, sizeof(c->name));
}

void container_read(int piddir, struct container *c)
{
	char buf[8192];

	*c = (struct container){ 0 };
	if (read_small_file(piddir, "status", buf, sizeof(buf)) > 0)
		container_parse_nspid(buf, &c->nspid, &c->pidns);
	if (read_small_file(piddir, "cgroup", buf, sizeof(buf)) <= 0 || !container_parse_cgroup(buf, c))
		return;
	if (!strcmp(c->runtime, "docker"))
		read_docker_name(c);
	if (!c->pod_uid[0])
		return;
	/* A pod: its name and namespace, if the process's environment or its
	 * service account files say them. */
	size_t size = 64 * 1024;
	_cleanup_free_ char *env = malloc(size);
	ssize_t n = env ? read_small_file(piddir, "environ", env, size) : -ENOMEM;
	if (n > 0)
		container_parse_environ(env, (size_t)n, c);
	if (!c->pod_ns[0] && (n = read_in_root(piddir, K8S_NS_FILE, buf, 256)) > 0) {
		size_t len = strcspn(buf, "\n");
		if (is_k8s_name(buf, len))
			copy(c->pod_ns, sizeof(c->pod_ns), buf, len);
	}
}

void container_short(const struct container *c, char *buf, size_t size)
{
	if (!c || !c->runtime[0]) {
		if (c && c->pod_uid[0])
			snprintf(buf, size, "pod:%.8s", c->pod_uid);
		else if (size)
			buf[0] = '\0';
		return;
	}
	if (!strcmp(c->runtime, "systemd"))
		snprintf(buf, size, "%s:%s", c->runtime, c->id);
	else
		snprintf(buf, size, "%s:%.12s", c->runtime, c->id);
}

bool container_match(const struct container *c, const char *arg)
{
	if (!c || !c->id[0] || !*arg)
		return false;
	const char *colon = strchr(arg, ':');
	if (colon) {
		size_t n = (size_t)(colon - arg);
		if (strlen(c->runtime) != n || strncmp(c->runtime, arg, n))
			return false;
		arg = colon + 1;
		if (!*arg)
			return true;
	}
	return !strncmp(c->id, arg, strlen(arg)) || (c->name[0] && !strcmp(c->name, arg));
}

bool container_match_pod(const struct container *c, const char *arg)
{
	if (!c || !*arg)
		return false;
	const char *slash = strchr(arg, '/');
	if (slash) {
		size_t n = (size_t)(slash - arg);
		return c->pod_name[0] && strlen(c->pod_ns) == n && !strncmp(c->pod_ns, arg, n) &&
		       !strcmp(c->pod_name, slash + 1);
	}
	if (c->pod_name[0] && !strcmp(c->pod_name, arg))
		return true;
	return c->pod_uid[0] && !strncmp(c->pod_uid, arg, strlen(arg));
}

static void json_member(FILE *f, const char *key, const char *v, bool *first)
{
	if (!*v)
		return;
	if (!*first)
		fputc(',', f);
	esc_json_field(f, key, v); /* names from the process's environment */
	*first = false;
}

void container_json(FILE *f, const struct container *c)
{
	bool first = true;
	if (!c || (!c->runtime[0] && !c->pod_uid[0])) {
		fputs("null", f);
		return;
	}
	fputc('{', f);
	json_member(f, "runtime", c->runtime, &first);
	json_member(f, "id", c->id, &first);
	json_member(f, "name", c->name, &first);
	json_member(f, "pod_uid", c->pod_uid, &first);
	json_member(f, "pod_name", c->pod_name, &first);
	json_member(f, "pod_namespace", c->pod_ns, &first);
	json_member(f, "cgroup", c->cgroup, &first);
	fputc('}', f);
}
