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

struct sock {
	uint8_t proto;    /* IPPROTO_TCP or IPPROTO_UDP */
	uint8_t family;   /* AF_INET or AF_INET6 */
	uint8_t state;    /* SK_* */
	uint8_t src[16], dst[16]; /* network order; v4 uses the first 4 bytes */
	uint16_t sport, dport;    /* host order */
	uint32_t ifindex;
	uint32_t uid;
	uint64_t inode;   /* 0: no file, so no owner (TIME_WAIT, request, orphan) */
	uint64_t cookie;  /* stable identity of this socket, even if the 4-tuple is reused */
	uint32_t rqueue, wqueue;
	bool has_tcpi;
	uint32_t rtt_us, retrans, last_data_recv_ms, unacked;
	uint8_t shutdown; /* INET_DIAG_SHUTDOWN: 1 receive, 2 send side shut */
	uint8_t timer;    /* idiag_timer: 0 none, 1 retransmit, 2 keepalive,
			   * 3 TIME_WAIT, 4 zero window probe */
	uint32_t expires_ms; /* idiag_expires: when that timer fires */
	uint64_t netns;   /* inode of the network namespace it was dumped in */
};

struct owner {
	pid_t pid;
	int fd;
	uid_t uid;
	char comm[16];
	size_t sock;      /* index into the socket array */
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

/* ss-style name, e.g. "CLOSE-WAIT"; UDP in state CLOSE is "UNCONN". */
const char *sock_state_name(const struct sock *s);
/* Parse one state name (any case, '-' or '_' or nothing between words) or a
 * group ("all", "connected", "synchronized", "bucket") into a bit mask of
 * (1 << SK_*): 0 if unknown. */
uint32_t sock_state_parse(const char *name);
const char *sock_proto_name(const struct sock *s);
/* "127.0.0.1:8080" or "[::1]:8080" into buf (at least SOCK_ADDR_MAX bytes). */
#define SOCK_ADDR_MAX 56
void sock_addr_format(const struct sock *s, bool local, char *buf, size_t size);
