/* Socket discovery through sock_diag (NETLINK_SOCK_DIAG, inet_diag) with
 * libmnl. The parser is separate from the socket so recorded replies can be
 * fed to it in unit tests. */
#pragma once
#include <stdint.h>
#include <stdio.h>
#include <linux/netlink.h>

#include "sock.h"

struct sock_list { size_t n, cap; struct sock *v; };

/* Parse one SOCK_DIAG_BY_FAMILY reply of protocol proto into ret.
 * 0, or -EBADMSG when the message is too short or its attributes malformed. */
int diag_parse_msg(const struct nlmsghdr *nlh, uint8_t proto, struct sock *ret);

/* Parse a buffer of replies as received from the kernel, appending every
 * socket to out. Returns 1 when the buffer ended the dump (NLMSG_DONE),
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
 * one inside each namespace): the dump is of that socket's namespace. */
int diag_dump_fd(int nlfd, uint8_t family, uint8_t proto, uint32_t states, struct sock_list *out,
		 FILE *record);

int sock_list_push(struct sock_list *l, const struct sock *s);
void sock_list_free(struct sock_list *l);
