/* Discovery across network namespaces: which namespaces to search (the
 * options decide), one sock_diag dump of each, one /proc pass for the
 * owners of all of them, then the sockets that pass showed in a namespace
 * no dump covered: with --all-netns or an owner filter, each such socket is
 * asked where it lives (SIOCGSKNS) and that namespace is dumped too; by
 * default they are only counted, for the summary's hint. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cli.h"
#include "diag.h"
#include "procfd.h"

/* A namespace the run wanted but could not search. */
struct netns_skip { uint64_t ino; pid_t pid; int err; };

struct discovery {
	struct sock_list socks;     /* the matching sockets, netns set */
	struct owner_list owners;   /* their owners, sorted by pid and fd */
	size_t nsearched;           /* namespaces dumped */
	/* without namespace flags: TCP/UDP sockets held by processes but in
	 * no namespace searched (sockets, processes, one example) */
	size_t hidden_socks, hidden_procs;
	pid_t hidden_pid;
	char hidden_comm[16];
	struct netns_skip *skipped; /* namespaces that could not be entered */
	size_t nskipped;
};

/* Run discovery. 0, or -errno with a one-line message in err: -EINVAL for
 * a --netns argument that names nothing usable (exit 2), anything else an
 * environment problem (exit 4). */
int discover_run(const struct options *o, const char *proc_root, struct discovery *ret, char *err,
		 size_t errlen);
/* The summary's hint about sockets this run could not see, into buf:
 * false when there is nothing to say. */
bool discover_hint(const struct discovery *d, char *buf, size_t size);
void discovery_free(struct discovery *d);
