/* The operator's own ssh connection, from SSH_CONNECTION ("client-ip
 * client-port server-ip server-port") and SSH_CLIENT ("client-ip
 * client-port server-port") in the environment of sockreap and of its
 * ancestors: under tmux, screen, setsid or nohup the sshd holding it is
 * no ancestor, yet cutting it cuts the operator off. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "sock.h"

struct session {
	uint8_t family;              /* AF_INET or AF_INET6 */
	uint8_t client[16], server[16];
	uint16_t client_port, server_port;
	bool has_server;             /* SSH_CLIENT names no server address */
};

struct session_list { size_t n, cap; struct session *v; };

/* Parse the value of SSH_CONNECTION (4 fields) or SSH_CLIENT (3 fields).
 * 0, or -EINVAL. */
int session_parse(const char *value, bool connection, struct session *ret);
/* Every SSH_CONNECTION= and SSH_CLIENT= in an environ block (NUL-separated
 * "NAME=value" strings, as in /proc/PID/environ) appended to out, except
 * ones already there. 0 or -ENOMEM. */
int session_from_environ(const char *buf, size_t len, struct session_list *out);
/* From <proc_root>/<pid>/environ of self and each ancestor. Unreadable
 * environments are skipped. 0 or -ENOMEM. */
int session_collect(const char *proc_root, pid_t self, const pid_t *ancestors, size_t n,
		    struct session_list *out);
/* Is s this connection, seen from the server's or the client's end? */
bool session_match(const struct session_list *l, const struct sock *s);
void session_list_free(struct session_list *l);
