/* Network namespaces: the set this run searches, with one sock_diag socket
 * inside each. The sockets are created by a short-lived thread that
 * setns()es from one namespace to the next, so no thread of sockreap's that
 * goes on running ever leaves its own namespace; a netlink socket keeps
 * talking to the namespace it was created in.
 *
 * The set is one per run (module state, like the fd table it lives in):
 * discovery dumps each namespace once, verify dumps the same ones again
 * after acting, the report names them. Namespaces are told apart by inode,
 * as /proc/PID/ns/net shows them (net:[INODE]). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "diag.h"

struct netns {
	uint64_t ino;        /* the namespace, as in net:[INO] */
	char name[64];       /* its name under /run/netns, "" if none */
	pid_t pid;           /* a process seen in it, 0 if none (pinned by a
			      * bind mount or only by a socket) */
	bool self;           /* sockreap's own namespace */
	const char *source;  /* how it was found: "self", "--netns", "process",
			      * "/run/netns", "socket" */
	int nsfd;            /* the namespace file until its socket is made */
	int nlfd;            /* sock_diag socket inside it, -1 until opened */
	int err;             /* -errno when no socket could be made in it */
	bool searched;       /* dumped at least once this run */
};

/* Start a run: remember the /proc and /run/netns roots (tests may point
 * them elsewhere), register sockreap's own namespace (inode 0 if its file
 * cannot be read) and read the names under run_netns. 0 or -ENOMEM. */
int netns_init(const char *proc_root, const char *run_netns);
/* Close every socket and forget the set. */
void netns_reset(void);

/* The file a --netns argument names: a path (anything with a '/'), a PID
 * (digits: <proc_root>/PID/ns/net) or a name under run_netns. 0, or -EINVAL
 * for an empty or unusable name. */
int netns_spec_path(const char *spec, const char *proc_root, const char *run_netns, char *path,
		    size_t size);

/* Add the namespace a --netns argument names; its inode into *ret_ino.
 * -ENOENT no such file, process or name; -EINVAL not a network namespace;
 * -EACCES/-EPERM not allowed to open it. */
int netns_add_spec(const char *spec, uint64_t *ret_ino);
/* Add the namespace of process pid. -ESRCH gone, -EACCES not allowed. */
int netns_add_pid(pid_t pid, uint64_t *ret_ino);
/* Add an open namespace file (from SIOCGSKNS): taken over, closed on
 * every path. */
int netns_add_fd(int nsfd, const char *source, uint64_t *ret_ino);
/* Add every network namespace some process is in or that is bind-mounted
 * under run_netns, each once. Processes that vanish or cannot be read are
 * skipped. 0 or -ENOMEM. */
int netns_add_all(void);

/* Make the sock_diag socket of every namespace that has none yet. A
 * namespace that cannot be entered keeps its -errno in err; the call fails
 * only on -ENOMEM or when no thread can be started. */
int netns_open_sockets(void);

/* Dump sockets (as diag_dump; family AF_UNIX: as diag_dump_unix, proto
 * ignored) inside the namespace ino, appending to out with each socket's
 * netns set to ino. -ENOENT unknown namespace, its err
 * when it could not be entered. */
int netns_dump(uint64_t ino, uint8_t family, uint8_t proto, uint32_t states, struct sock_list *out);

size_t netns_count(void);
/* How many namespaces were dumped this run. */
size_t netns_searched(void);
const struct netns *netns_at(size_t i);
const struct netns *netns_find(uint64_t ino);
/* sockreap's own namespace (0 before netns_init). */
uint64_t netns_self(void);
/* The name of ino under /run/netns, or NULL. */
const char *netns_name(uint64_t ino);

/* Inode of <proc_root>/PID/ns/net. 0 or -errno. */
int netns_pid_ino(pid_t pid, uint64_t *ino);
/* The namespace a socket itself lives in: SIOCGSKNS on a pidfd_getfd
 * duplicate of fd in the process behind pidfd. An open namespace file into
 * *ret_nsfd, or -errno. */
int netns_of_fd(int pidfd, int fd, int *ret_nsfd);
