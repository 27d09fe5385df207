/* The kernel's SOCK_DESTROY (what `ss -K` does), one socket at a time, with
 * the full socket id discovery read, cookie included: a 4-tuple reused by
 * a new connection since the dump is never hit (the kernel answers ESTALE).
 * No ptrace, no pidfd: the owning processes never stop, and they keep
 * their fds (an fd leak stays a leak). It reaches sockets nobody owns:
 * TIME-WAIT, orphaned FIN-WAIT and LAST-ACK, requests.
 *
 * The netlink socket is a parameter: a socket lives in one network
 * namespace, and only a netlink socket opened inside it can destroy it.
 * destroy_open() opens one in the current namespace; a caller that has
 * entered another (setns) opens one there the same way. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "sock.h"

struct mnl_socket;

/* A NETLINK_SOCK_DIAG socket in the current network namespace. 0 or -errno. */
int destroy_open(struct mnl_socket **ret);
/* The same over a duplicate of nlfd, a bound NETLINK_SOCK_DIAG socket made
 * in another namespace (netns.c keeps one per namespace): it destroys
 * sockets of that namespace. nlfd stays the caller's. 0 or -errno. */
int destroy_open_fd(int nlfd, struct mnl_socket **ret);
void destroy_close(struct mnl_socket *nl);

/* Build the SOCK_DESTROY request for s into buf (a netlink message with
 * NLM_F_ACK): its length, or 0 when buf is too small or s is of no family
 * sock_diag knows. */
size_t destroy_build(void *buf, size_t size, const struct sock *s, uint32_t seq);
/* Read the kernel's answer to request seq: 0 destroyed, or the -errno the
 * kernel reported; -EAGAIN when buf holds no message answering seq (read
 * on); -EBADMSG for a malformed answer or a buffer ending mid-message. */
int destroy_parse_ack(const void *buf, size_t len, uint32_t seq, uint32_t portid);

/* Destroy s through nl. 0 done; -ENOENT the kernel has no such socket any
 * more; -ESTALE the id now names another socket (cookie differs), untouched;
 * -EOPNOTSUPP the kernel cannot destroy this kind of socket (unix sockets;
 * any socket without CONFIG_INET_DIAG_DESTROY); -EPERM no CAP_NET_ADMIN in
 * the socket's network namespace; other -errno as the kernel said. */
int destroy_sock(struct mnl_socket *nl, const struct sock *s);

/* A plain sentence for the user about err from destroy_sock on s. */
const char *destroy_strerror(const struct sock *s, int err);
