/* Socket discovery through sock_diag (NETLINK_SOCK_DIAG, inet_diag) with
 * libmnl. The parser is separate from the socket so recorded replies can be
 * fed to it in unit tests. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <linux/netlink.h>

#include "sock.h"

struct sock_list { size_t n, cap; struct sock *v; };
struct mnl_socket;

/* A libmnl socket over a duplicate of the netlink socket nlfd (libmnl
 * closes the fd it wraps; the caller keeps nlfd). 0 or -errno. */
int diag_mnl_dup(int nlfd, struct mnl_socket **ret);

/* Do the attributes after the hdrlen-byte family header fill the message
 * exactly, each inside nlmsg_len (not just its aligned length)? Checked
 * before any attribute is read. */
bool diag_attrs_fit(const struct nlmsghdr *nlh, size_t hdrlen);

/* Parse one SOCK_DIAG_BY_FAMILY reply of protocol proto into ret.
 * 0, or -EBADMSG when the message is too short or its attributes malformed.
 * nlh->nlmsg_len must already be known to lie within the buffer, aligned
 * (diag_parse_buf checks every header before parsing). */
int diag_parse_msg(const struct nlmsghdr *nlh, uint8_t proto, struct sock *ret);

/* Parse a buffer of replies as received from the kernel, appending every
 * socket to out (inet or unix, as each message's family says; proto is the
 * inet protocol the request asked for, which inet_diag_msg does not carry). Returns 1 when the buffer ended the dump (NLMSG_DONE),
 * 0 when more is to come, -EINTR when the dump was interrupted
 * (NLM_F_DUMP_INTR: the caller dumps again), -EBADMSG for malformed data,
 * -errno for an error the kernel reported (NLMSG_ERROR, or in NLMSG_DONE). */
int diag_parse_buf(const void *buf, size_t len, uint32_t seq, uint32_t portid,
		   uint8_t proto, struct sock_list *out);

/* Dump every socket of the given family (AF_INET, AF_INET6) and protocol
 * (IPPROTO_TCP, IPPROTO_UDP) whose state is in states (mask of 1 << SK_*)
 * in the current network namespace; append to out. When record is not NULL,
 * every raw reply buffer is written to it, each preceded by its length as a
 * native uint32_t (the fixture format of tests/fixtures). */
int diag_dump(uint8_t family, uint8_t proto, uint32_t states, struct sock_list *out,
	      FILE *record);

/* The same on an existing NETLINK_SOCK_DIAG socket, bound (netns.c makes
 * one inside each namespace): the dump is of that socket's namespace.
 * nlfd < 0: a socket of sockreap's own namespace, opened for the dump. */
int diag_dump_fd(int nlfd, uint8_t family, uint8_t proto, uint32_t states, struct sock_list *out,
		 FILE *record);
/* The same for one prepared request (the payload after the netlink header:
 * an inet_diag_req_v2 or a unix_diag_req); proto as for diag_parse_buf. */
int diag_dump_req(const void *req, size_t reqlen, uint8_t proto, struct sock_list *out, FILE *record);
/* diag_dump_req on the socket nlfd (as for diag_dump_fd). */
int diag_dump_req_fd(int nlfd, const void *req, size_t reqlen, uint8_t proto, struct sock_list *out,
		     FILE *record);

/* Unix sockets (unix_diag, diag_unix.c). Parse one SOCK_DIAG_BY_FAMILY
 * reply of family AF_UNIX into ret: 0, or -EBADMSG when the message or
 * any attribute is shorter than it must be, an attribute overruns the
 * message, or a name is longer than sun_path. */
int diag_unix_parse_msg(const struct nlmsghdr *nlh, struct sock *ret);
/* Dump every unix socket (stream, dgram, seqpacket) whose state is in
 * states, with name, peer, pending connections, queue lengths, file
 * (vfs) and uid; append to out and fill in each socket's peer_path from
 * the peers found in the same dump. record as for diag_dump. */
int diag_dump_unix(uint32_t states, struct sock_list *out, FILE *record);
/* The same on the socket nlfd (as for diag_dump_fd): the unix sockets of
 * that socket's network namespace. */
int diag_dump_unix_fd(int nlfd, uint32_t states, struct sock_list *out, FILE *record);
/* Copy each peer's name into peer_path for the unix sockets of l from
 * index first on, looking the peer up by inode among them. 0 or -ENOMEM. */
int diag_unix_link_peers(struct sock_list *l, size_t first);

int sock_list_push(struct sock_list *l, const struct sock *s);
void sock_list_free(struct sock_list *l);
