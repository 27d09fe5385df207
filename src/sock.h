/* The plain structs at the pipeline's edges: one socket as sock_diag reported
 * it, and one owner (a process and fd that hold it). */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "container.h"

/* TCP states as the kernel numbers them (include/net/tcp_states.h). */
enum {
	SK_ESTABLISHED = 1, SK_SYN_SENT, SK_SYN_RECV, SK_FIN_WAIT1, SK_FIN_WAIT2,
	SK_TIME_WAIT, SK_CLOSE, SK_CLOSE_WAIT, SK_LAST_ACK, SK_LISTEN, SK_CLOSING,
	SK_NEW_SYN_RECV, SK_STATE_MAX
};
#define SK_ALL_STATES ((uint32_t)((1u << SK_STATE_MAX) - 2))

/* sun_path's size: a unix socket's name is at most this many bytes. */
#define SOCK_UNIX_PATH_MAX 108

struct sock {
	uint8_t proto;    /* IPPROTO_TCP or IPPROTO_UDP; 0 for unix sockets */
	uint8_t family;   /* AF_INET, AF_INET6 or AF_UNIX */
	uint8_t state;    /* SK_* (unix sockets use the same numbers) */
	uint8_t type;     /* SOCK_STREAM, SOCK_DGRAM or SOCK_SEQPACKET */
	uint8_t src[16], dst[16]; /* network order; v4 uses the first 4 bytes */
	uint16_t sport, dport;    /* host order */
	uint32_t ifindex;
	uint32_t uid;
	uint64_t inode;   /* 0: no file, so no owner (TIME_WAIT, request, orphan) */
	uint64_t cookie;  /* stable identity of this socket, even if the 4-tuple is reused */
	uint32_t rqueue, wqueue;
	bool has_tcpi;
	uint32_t rtt_us, retrans, last_data_recv_ms, unacked;
	uint32_t last_data_sent_ms, last_ack_recv_ms;
	uint8_t shutdown; /* INET_DIAG_SHUTDOWN: 1 receive, 2 send side shut */
	uint8_t timer;    /* idiag_timer: 0 none, 1 retransmit, 2 keepalive,
			   * 3 TIME_WAIT, 4 zero window probe */
	uint32_t expires_ms; /* idiag_expires: when that timer fires */
	uint64_t netns;   /* inode of the network namespace it was dumped in */

	/* Unix sockets only (unix_diag). A name is raw bytes: path[0] == '\0'
	 * is an abstract name (shown "@name"), path_len 0 no name at all
	 * (socketpair, or never bound; shown "*"). */
	uint8_t path_len, peer_path_len;
	char path[SOCK_UNIX_PATH_MAX];
	char peer_path[SOCK_UNIX_PATH_MAX]; /* the peer's name, filled by diag_unix_link_peers */
	uint64_t peer_inode;  /* UNIX_DIAG_PEER: the other end, 0 none */
	uint32_t nicons;      /* UNIX_DIAG_ICONS: LISTEN: connections not yet accepted */
	bool has_vfs;         /* UNIX_DIAG_VFS: bound to a file in the file system */
	uint32_t vfs_dev;
	uint64_t vfs_ino;
};

struct owner {
	pid_t pid;
	int fd;
	uint64_t inode;   /* the socket's inode (as the fd link names it) */
	uid_t uid;
	char comm[16];
	size_t sock;      /* index into the socket array */
	/* field 22 of /proc/PID/stat at the scan (0: unknown): with the pid
	 * it names this process only, so a pid reused by another process
	 * between the scan and the attach is recognised and left alone */
	uint64_t start_time;
	/* the process holds an io_uring instance (anon_inode:[io_uring]): it
	 * may hold the socket too (a registered file, an operation in flight),
	 * which closing or replacing the fd does not end */
	bool io_uring;
	const struct owner_proc *proc; /* its process's namespace and container;
					* NULL unknown (owned by the owner list) */
};

/* What is known of an owning process beyond pid and comm: one per process,
 * shared by its owners. */
struct owner_proc {
	pid_t pid;
	uint64_t netns;   /* inode of its /proc/PID/ns/net, 0 unknown */
	struct container ctr;
};

/* ss-style name, e.g. "CLOSE-WAIT"; UDP and unix sockets in state CLOSE
 * are "UNCONN", as ss prints them. */
const char *sock_state_name(const struct sock *s);
/* Parse one state name (any case, '-' or '_' or nothing between words) or a
 * group ("all", "connected", "synchronized", "bucket") into a bit mask of
 * (1 << SK_*): 0 if unknown. */
uint32_t sock_state_parse(const char *name);
/* "tcp", "udp" or "unix". */
const char *sock_proto_name(const struct sock *s);
/* ss's netid for the table: "tcp", "udp6", "u_str", "u_dgr", "u_seq". */
const char *sock_netid(const struct sock *s);
/* "stream", "dgram", "seqpacket" (or "unknown"). */
const char *sock_type_name(const struct sock *s);
/* How long a TCP connection has been idle: the least of the times since
 * data was last received, data last sent and an ACK last received (ms);
 * meaningful only with has_tcpi. */
uint32_t sock_idle_ms(const struct sock *s);
/* A bound socket that takes datagrams from anyone (no peer): a UDP server
 * (DNS, syslog, NTP) or a unix datagram server (/dev/log). */
bool sock_is_dgram_server(const struct sock *s);
/* "127.0.0.1:8080" or "[::1]:8080" into buf (at least SOCK_ADDR_MAX bytes);
 * for unix sockets the name (local) or the peer's name, see
 * sock_unix_name_format. */
#define SOCK_ADDR_MAX (4 * SOCK_UNIX_PATH_MAX + 8)
void sock_addr_format(const struct sock *s, bool local, char *buf, size_t size);
/* A unix socket name for display: "*" when unnamed, "@name" when abstract,
 * else the path; every byte outside printable ASCII (NUL bytes of an
 * abstract name included) and the backslash are escaped as \xHH, so the
 * text is safe on a terminal and plain ASCII in JSON. */
void sock_unix_name_format(const char *name, size_t len, char *buf, size_t size);
