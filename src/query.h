/* What the user asked for: filters on sockets and on owners. Parsing of each
 * filter value lives here too, so the unit tests can reach it directly. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "sock.h"

struct port_range { uint16_t lo, hi; };
struct port_list { size_t n; struct port_range *r; };

struct cidr { uint8_t family; uint8_t plen; uint8_t addr[16]; };
struct cidr_list { size_t n; struct cidr *c; };

struct u64_list { size_t n; uint64_t *v; };
struct str_list { size_t n; char **s; };

struct query {
	uint32_t states;          /* mask of 1 << SK_*; all states if 0 */
	bool tcp, udp;            /* neither (and no unix_socks): both */
	bool unix_socks;          /* -x/--unix: unix sockets (only with it) */
	bool v4, v6;              /* neither: both */
	struct port_list port, sport, dport;
	struct cidr_list src, dst;
	struct u64_list pid, uid, inode;
	struct str_list comm;
	struct str_list container, pod; /* owner filters on container identity */
	struct str_list path;     /* --path: fnmatch globs on a unix socket's or its peer's name */
	bool has_idle;
	uint32_t idle_ms;         /* --idle: TCP sockets idle at least this long */
};

/* Each parser appends to its list and returns 0, or -EINVAL for a malformed
 * value, -ERANGE for a number out of range. */
int port_list_parse(struct port_list *l, const char *arg);
int cidr_parse(const char *arg, struct cidr *ret);
int cidr_list_parse(struct cidr_list *l, const char *arg);
int u64_list_parse(struct u64_list *l, const char *arg, uint64_t min, uint64_t max);
int str_list_add(struct str_list *l, const char *arg);
int state_list_parse(uint32_t *mask, const char *arg);

bool port_list_match(const struct port_list *l, uint16_t port);
bool cidr_match(const struct cidr *c, uint8_t family, const uint8_t *addr);
bool u64_list_has(const struct u64_list *l, uint64_t v);
bool str_list_has(const struct str_list *l, const char *s);

uint32_t query_states(const struct query *q);
bool query_wants(const struct query *q, uint8_t family, uint8_t proto);
/* Does the socket itself pass every socket-level filter? */
bool query_match_sock(const struct query *q, const struct sock *s);
/* Does one --path glob match the socket's name or its peer's (as shown,
 * "@name" for abstract ones)? */
bool query_match_path(const struct query *q, const struct sock *s);
/* Are there owner-level filters (pid, comm, container, pod)? Then
 * ownerless sockets fail. */
bool query_has_owner_filter(const struct query *q);
bool query_match_owner(const struct query *q, const struct owner *o);
void query_free(struct query *q);
