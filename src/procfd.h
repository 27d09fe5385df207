/* Owners: which processes and fds hold the wanted sockets. One pass over
 * <proc_root>/<pid>/fd, matching "socket:[inode]" links against a hash set of
 * the wanted inodes. Processes and fds that vanish while we read are normal.
 * The /proc root is a parameter so unit tests can use a fixture tree. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "diag.h"
#include "sock.h"

/* An epoll instance seen during the scan, in a process that owns a wanted
 * socket: plan reads what it watches without walking the fds again. */
struct epoll_fd { pid_t pid; int fd; };

/* A TCP or UDP socket fd whose inode no dump of this run returned: the
 * socket lives in a network namespace the run did not search. */
struct hidden_fd {
	struct owner o;   /* o.sock unused */
	uint64_t inode;
	uint8_t family, proto;
};
/* A process whose fds we could not read: owners may hide there. dir: its
 * fd directory is closed to us (other users' /proc/PID/fd need
 * CAP_DAC_READ_SEARCH); otherwise the links were (reading them needs ptrace
 * read access: CAP_SYS_PTRACE for processes with more privileges). */
struct hidden_proc { pid_t pid; bool dir; char comm[16]; };

struct owner_list {
	size_t n, cap;
	struct owner *v;
	size_t nep, capep;
	struct epoll_fd *ep;
	/* one per process that owns a wanted socket or holds a hidden one;
	 * owners point at them, the list frees them */
	size_t nproc, capproc;
	struct owner_proc **proc;
	/* sockets in namespaces the run did not search (not the same as
	 * hidden: processes whose fds could not be read at all) */
	size_t nhid, caphid;
	struct hidden_fd *hid;
	size_t nhidden, caphidden;
	struct hidden_proc *hidden;
	/* owners of the peers' inodes ("who is on the other end"), sorted by
	 * inode, pid, fd; their sock field is SIZE_MAX */
	size_t npeer, cappeer;
	struct owner *peer;
};

/* Append to out one owner per (pid, fd) whose link is socket:[inode] for the
 * inode of some socket in socks (sockets with inode 0 have no owner). The
 * owner's sock field is the index into socks; comm and uid are filled from
 * <proc_root>/<pid>/comm and the owner of <proc_root>/<pid>/status.
 * The owner's start_time (/proc/PID/stat field 22) and io_uring (the process
 * holds an anon_inode:[io_uring] fd) are filled too.
 * Owners come out sorted by pid, then fd. A process whose main thread has
 * exited (a zombie leader with live threads) is read through
 * <proc_root>/<pid>/task/<tid>/fd. Processes whose fds could not be read
 * (EACCES, EPERM) are listed in out->hidden. 0 or -errno (only for errors
 * that make the whole scan meaningless: proc_root unreadable, out of
 * memory). */
int procfd_scan(const char *proc_root, const struct sock_list *socks, struct owner_list *out);
/* The same pass also collecting into out->peer the owners of the npeers
 * inodes in peers (the other ends of unix connections), which need not be
 * among socks. */
int procfd_scan_peers(const char *proc_root, const struct sock_list *socks, const uint64_t *peers,
		      size_t npeers, struct owner_list *out);
/* The owners of inode among out->peer: their count, the first at *first. */
size_t procfd_peer_owners(const struct owner_list *l, uint64_t inode, size_t *first);

/* procfd_scan_peers, and in the same pass every TCP/UDP socket fd whose inode is
 * in neither socks nor known (every socket the run's dumps returned,
 * matching or not) goes to out->hid. Which protocol an unknown socket is
 * comes from its "system.sockprotoname" attribute (one getxattr, no open):
 * unix and netlink sockets are left out. Each owner and hidden fd gets its
 * process's owner_proc (namespace, container). */
int procfd_scan_all(const char *proc_root, const struct sock_list *socks, const uint64_t *peers, size_t npeers,
		    const struct sock_list *known, struct owner_list *out);

/* What pid's epoll instances epfds (as procfd_scan found them) watch, from
 * <proc_root>/<pid>/fdinfo/<epfd>: (fd, inode) pairs appended to out. */
struct epoll_watch {
	int fd;            /* the watched fd number (tfd) */
	uint64_t inode;    /* the watched file's inode, since tfd alone may be stale */
	int epfd;          /* the epoll fd of pid it was read from */
	uint32_t events;   /* as registered (EPOLLONESHOT disarmed: only flag bits) */
	uint64_t data;     /* epoll_data as registered */
};
struct epoll_watches { size_t n, cap; struct epoll_watch *v; };
/* The parser behind it, on the text of one epoll fd's fdinfo (fuzzed). */
int procfd_parse_epoll_fdinfo(const char *text, int epfd, struct epoll_watches *out);
/* "socket:[12345]" -> 12345; 0 if the link text is not a socket. */
uint64_t procfd_socket_inode(const char *link);
int procfd_epoll_watches(const char *proc_root, pid_t pid, const int *epfds, size_t nepfds,
			 struct epoll_watches *out);
bool epoll_watches_has(const struct epoll_watches *w, int fd, uint64_t inode);


/* The "flags:" of <proc_root>/<pid>/fdinfo/<fd> (octal, as open(2) flags:
 * O_NONBLOCK, O_CLOEXEC, ...). 0 or -errno. */
int procfd_fd_flags(const char *proc_root, pid_t pid, int fd, unsigned *ret);

/* Open fds of pid and its RLIMIT_NOFILE soft limit (UINT64_MAX: unlimited). */
int procfd_fd_headroom(const char *proc_root, pid_t pid, uint64_t *nopen, uint64_t *limit);

/* Does <proc_root>/<pid>/fd/<fd> link to socket:[inode] right now? 1 yes,
 * 0 it links to something else, -ENOENT no such fd (or process). */
int procfd_fd_check(const char *proc_root, pid_t pid, int fd, uint64_t inode);
bool procfd_fd_is(const char *proc_root, pid_t pid, int fd, uint64_t inode);

void owner_list_free(struct owner_list *l);
