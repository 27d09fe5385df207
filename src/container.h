/* Container identity of a process: which runtime started it and with which
 * container id, its Kubernetes pod (UID from the cgroup path; name and
 * namespace from its environment or files where readable), the systemd
 * service it runs in, and its PID inside its own PID namespace. Everything
 * comes from /proc/PID (cgroup, status, environ, root/...); the parsers take
 * text so unit tests feed them fixture files. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct container {
	char runtime[16];   /* "docker", "containerd", "cri-o", "podman", "cri"
			     * (a kubepods cgroup without a runtime prefix),
			     * "systemd" (a service), "" none */
	char id[80];        /* the container id (usually 64 hex digits) or the
			     * systemd unit name; "" none */
	char name[64];      /* container name where known (docker), "" */
	char pod_uid[40];   /* Kubernetes pod UID, with dashes; "" none */
	char pod_name[64];  /* from POD_NAME or HOSTNAME (in a pod), "" unknown */
	char pod_ns[64];    /* from POD_NAMESPACE or the service account file */
	char cgroup[256];   /* the cgroup path the identity was read from */
	pid_t nspid;        /* PID in the innermost PID namespace, 0 unknown */
	bool pidns;         /* in a PID namespace below ours (NSpid has more
			     * than one entry) */
};

/* Fill c's runtime, id, pod_uid and cgroup from the text of /proc/PID/cgroup
 * (v2 "0::/path" preferred, v1 lines after). Fields not found stay as they
 * are. true when a container, pod or service was recognised. */
bool container_parse_cgroup(const char *text, struct container *c);

/* The NSpid line of /proc/PID/status: the last entry into *nspid, and
 * whether there is more than one into *pidns. -ENOENT without the line. */
int container_parse_nspid(const char *status, pid_t *nspid, bool *pidns);

/* Pod name and namespace from a process environment (NUL-separated, as
 * /proc/PID/environ): POD_NAME, POD_NAMESPACE; HOSTNAME as the pod name when
 * KUBERNETES_SERVICE_HOST says the process runs in a pod. */
void container_parse_environ(const char *env, size_t len, struct container *c);

/* The "Name" of a docker config.v2.json ("/web" -> "web") into name. 0 or
 * -ENOENT. */
int container_docker_name(const char *config_json, char *name, size_t size);

/* Read everything above for the process whose /proc directory is piddir.
 * Missing or unreadable files leave fields empty: never an error. */
void container_read(int piddir, struct container *c);

/* "docker:3f2a9c81e0b1" (runtime:id, id cut to 12) into buf; "" when none. */
void container_short(const struct container *c, char *buf, size_t size);

/* c as a JSON object ("null" when there is no container, pod or service). */
#include <stdio.h>
void container_json(FILE *f, const struct container *c);

/* Does c match a --container argument: a prefix of the id (optionally
 * "runtime:" first), or the container name? */
bool container_match(const struct container *c, const char *arg);
/* Does c match a --pod argument: the pod name, "namespace/name", or a
 * prefix of the pod UID? */
bool container_match_pod(const struct container *c, const char *arg);
