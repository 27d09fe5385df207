#include "cli.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "util.h"

enum {
	OPT_SPORT = 0x100, OPT_DPORT, OPT_SRC, OPT_DST, OPT_PID, OPT_COMM, OPT_UID,
	OPT_INODE, OPT_SHUTDOWN, OPT_RESET, OPT_FREE_FD, OPT_SINGLE_STOP, OPT_INJECT, OPT_MAX, OPT_ALLOW_LISTEN,
	OPT_ALLOW_ANCESTORS, OPT_EXCLUDE_PID, OPT_EXCLUDE_COMM, OPT_AUDIT_LOG,
	OPT_BACKTRACE, OPT_JSON, OPT_HELP, OPT_VERSION, OPT_PATH, OPT_DESTROY, OPT_IDLE,
	OPT_NETNS, OPT_ALL_NETNS, OPT_CONTAINER, OPT_POD, OPT_EXPLAIN, OPT_CHECK,
};

static const struct option longopts[] = {
	{ "port", required_argument, NULL, 'p' },
	{ "sport", required_argument, NULL, OPT_SPORT },
	{ "dport", required_argument, NULL, OPT_DPORT },
	{ "state", required_argument, NULL, 's' },
	{ "src", required_argument, NULL, OPT_SRC },
	{ "dst", required_argument, NULL, OPT_DST },
	{ "tcp", no_argument, NULL, 't' },
	{ "udp", no_argument, NULL, 'u' },
	{ "unix", no_argument, NULL, 'x' },
	{ "path", required_argument, NULL, OPT_PATH },
	{ "idle", required_argument, NULL, OPT_IDLE },
	{ "pid", required_argument, NULL, OPT_PID },
	{ "comm", required_argument, NULL, OPT_COMM },
	{ "uid", required_argument, NULL, OPT_UID },
	{ "inode", required_argument, NULL, OPT_INODE },
	{ "shutdown", optional_argument, NULL, OPT_SHUTDOWN },
	{ "reset", no_argument, NULL, OPT_RESET },
	{ "free-fd", no_argument, NULL, OPT_FREE_FD },
	{ "single-stop", no_argument, NULL, OPT_SINGLE_STOP },
	{ "destroy", no_argument, NULL, OPT_DESTROY },
	{ "dry-run", no_argument, NULL, 'n' },
	{ "inject", no_argument, NULL, OPT_INJECT },
	{ "yes", no_argument, NULL, 'y' },
	{ "max", required_argument, NULL, OPT_MAX },
	{ "allow-listen", no_argument, NULL, OPT_ALLOW_LISTEN },
	{ "allow-ancestors", no_argument, NULL, OPT_ALLOW_ANCESTORS },
	{ "exclude-pid", required_argument, NULL, OPT_EXCLUDE_PID },
	{ "exclude-comm", required_argument, NULL, OPT_EXCLUDE_COMM },
	{ "audit-log", required_argument, NULL, OPT_AUDIT_LOG },
	{ "backtrace", no_argument, NULL, OPT_BACKTRACE },
	{ "check", no_argument, NULL, OPT_CHECK },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "quiet", no_argument, NULL, 'q' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "netns", required_argument, NULL, OPT_NETNS },
	{ "all-netns", no_argument, NULL, OPT_ALL_NETNS },
	{ "container", required_argument, NULL, OPT_CONTAINER },
	{ "pod", required_argument, NULL, OPT_POD },
	{ "explain", no_argument, NULL, OPT_EXPLAIN },
	{ "help", no_argument, NULL, OPT_HELP },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ 0 }
};
static const char shortopts[] = ":p:s:tux46nyqv";

void cli_usage(FILE *f)
{
	fputs("Usage: sockreap [FILTERS] [ACTION] [OPTIONS]\n"
	      "Free stuck sockets inside the processes that hold them.\n"
	      "\n"
	      "Filters (all must match; a comma list within one flag matches any):\n"
	      "  -p, --port P[,P|P-Q]   local or remote port\n"
	      "      --sport P, --dport P  local / remote port\n"
	      "  -s, --state S[,S]      ss state names in any case (close-wait, CLOSE_WAIT),\n"
	      "                         or all, connected, synchronized, bucket (default all)\n"
	      "      --src A[/N], --dst A[/N]  local / remote address or CIDR (v4 or v6)\n"
	      "  -t, --tcp  -u, --udp  -4  -6\n"
	      "  -x, --unix             unix sockets (only with -x or --path; alone: only them)\n"
	      "      --path GLOB        unix socket whose name or peer's name matches (fnmatch;\n"
	      "                         abstract names as @name); implies --unix\n"
	      "      --idle SECONDS     TCP connections with no data sent or received, and no\n"
	      "                         ACK received, for at least SECONDS\n"
	      "      --pid N[,N]  --comm NAME  --uid N[,N]  --inode N[,N]\n"
	      "      --container ID|NAME  container id prefix (docker, containerd, cri-o, podman;\n"
	      "                         runtime:ID also), container name, or systemd service\n"
	      "      --pod NAME         Kubernetes pod: name, namespace/name or UID prefix\n"
	      "\n"
	      "Network namespaces (default: sockreap's own, or the owners' with --pid, --comm,\n"
	      "--container, --pod):\n"
	      "      --netns PATH|PID|NAME  search this namespace: a file such as /run/netns/NAME,\n"
	      "                         a name under /run/netns, or a process's (repeatable)\n"
	      "      --all-netns        every namespace in use by a process, bind-mounted under\n"
	      "                         /run/netns, or holding a socket a process has\n"
	      "\n"
	      "Action (default: close the socket inside each owner through ptrace, keeping the\n"
	      "fd number taken by an inert placeholder that reads EOF until the app closes it):\n"
	      "      --free-fd          plain close(fd): frees the number too (the app may later\n"
	      "                         use the reused number as its old socket; see the manual)\n"
	      "      --shutdown[=rd|wr|rdwr]  shutdown(fd, how) instead; the fd stays (default rdwr)\n"
	      "      --reset            close with SO_LINGER {1,0}: the peer gets RST, no TIME_WAIT\n"
	      "      --destroy          the kernel's SOCK_DESTROY (as ss -K), once per socket: the\n"
	      "                         peer gets RST, the process is never stopped but KEEPS ITS\n"
	      "                         FD (an fd leak stays a leak); reaches TIME-WAIT and orphans\n"
	      "  -n, --dry-run          show what would be done, touch nothing\n"
	      "      --check --pid N    would acting on process N work? capabilities, Yama,\n"
	      "                         seccomp, tracer, pidfd_getfd, SOCK_DESTROY, fd headroom\n"
	      "                         (touches nothing; exit 0 yes, 4 no)\n"
	      "      --inject           do shutdown inside the target, not on a pidfd duplicate\n"
	      "      --single-stop      one stop per process for all its fds instead of short\n"
	      "                         batches (for measurements; the stop grows with the fds)\n"
	      "      --explain          why each matching port is busy and who holds it, with what\n"
	      "                         sockreap could do (read-only; every namespace by default)\n"
	      "\n"
	      "Safety:\n"
	      "  -y, --yes              act without asking (required without a terminal)\n"
	      "      --max N            act on nothing if more than N sockets would be touched\n"
	      "      --allow-listen     allow acting on LISTEN sockets\n"
	      "      --allow-ancestors  allow acting on sockreap's own ancestors (your ssh session)\n"
	      "      --exclude-pid N[,N]  --exclude-comm NAME  never touch these owners\n"
	      "\n"
	      "Output:\n"
	      "      --audit-log PATH   audit log (default /var/log/sockreap.log)\n"
	      "      --backtrace        record each target thread's stack while it is stopped\n"
	      "      --json             JSON Lines, one object per (socket, owner)\n"
	      "  -q, --quiet            no summary line on stderr\n"
	      "  -v, --verbose          more detail on stderr\n"
	      "      --help, --version\n"
	      "\n"
	      "Exit status: 0 done (or dry run with matches), 1 nothing matched, 2 bad input,\n"
	      "3 some actions failed or were refused, 4 no permission or unusable environment.\n",
	      f);
}

static int errf(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* The flag as the user typed it, for messages: "--port" or "-p". */
static const char *flag_name(int c, char *buf, size_t size)
{
	for (const struct option *o = longopts; o->name; o++)
		if (o->val == c) {
			snprintf(buf, size, "--%s", o->name);
			return buf;
		}
	snprintf(buf, size, "-%c", c);
	return buf;
}

static const char *why(int r, const char *what)
{
	switch (r) {
	case -ERANGE: return "out of range";
	case -EDOM: return "reversed range";
	case -ENOMEM: return "out of memory";
	default: return what;
	}
}

static int parse_one(struct options *o, int c, const char *arg, char *err, size_t errlen)
{
	struct query *q = &o->q;
	char flag[32];
	int r;

	flag_name(c, flag, sizeof(flag));
	switch (c) {
	case 'p':
		r = port_list_parse(&q->port, arg);
		goto port;
	case OPT_SPORT:
		r = port_list_parse(&q->sport, arg);
		goto port;
	case OPT_DPORT:
		r = port_list_parse(&q->dport, arg);
	port:
		if (r < 0)
			return errf(err, errlen, "%s: invalid port list '%s' (%s; expected 0-65535, e.g. 80,443,8000-8100)",
				    flag, arg, why(r, "not a port number"));
		return 0;
	case 's':
		if ((r = state_list_parse(&q->states, arg)) < 0)
			return errf(err, errlen, "%s: unknown state in '%s' (expected ss names like close-wait, estab, listen, time-wait, or all)",
				    flag, arg);
		return 0;
	case OPT_SRC:
	case OPT_DST:
		if ((r = cidr_list_parse(c == OPT_SRC ? &q->src : &q->dst, arg)) < 0)
			return errf(err, errlen, "%s: invalid address or prefix '%s' (expected e.g. 10.0.0.0/8, ::1, [fe80::]/64)",
				    flag, arg);
		return 0;
	case 't': q->tcp = true; return 0;
	case 'u': q->udp = true; return 0;
	case 'x': q->unix_socks = true; return 0;
	case OPT_PATH:
		if (!*arg || strlen(arg) > 4 * SOCK_UNIX_PATH_MAX)
			return errf(err, errlen, "--path: invalid pattern '%s' (a glob such as /run/*.sock or @name*)", arg);
		if (str_list_add(&q->path, arg) < 0)
			return errf(err, errlen, "out of memory");
		q->unix_socks = true;
		return 0;
	case OPT_IDLE: {
		uint64_t sec;
		/* tcp_info counts milliseconds in 32 bits: about 49 days */
		if ((r = parse_u64(arg, UINT32_MAX / 1000, &sec)) < 0 || sec == 0)
			return errf(err, errlen, "--idle: invalid time '%s' (%s)", arg,
				    r == -ERANGE ? "at most 4294967 seconds" : "expected whole seconds from 1");
		q->has_idle = true;
		q->idle_ms = (uint32_t)(sec * 1000);
		return 0;
	}
	case '4': q->v4 = true; return 0;
	case '6': q->v6 = true; return 0;
	case OPT_PID:
	case OPT_EXCLUDE_PID:
		r = u64_list_parse(c == OPT_PID ? &q->pid : &o->exclude_pid, arg, 1, INT32_MAX);
		if (r < 0)
			return errf(err, errlen, "%s: invalid pid '%s' (%s)", flag, arg,
				    why(r, "expected a positive number"));
		return 0;
	case OPT_UID:
		if ((r = u64_list_parse(&q->uid, arg, 0, UINT32_MAX - 1)) < 0)
			return errf(err, errlen, "%s: invalid uid '%s' (%s)", flag, arg,
				    why(r, "expected a number"));
		return 0;
	case OPT_INODE:
		if ((r = u64_list_parse(&q->inode, arg, 1, UINT64_MAX)) < 0)
			return errf(err, errlen, "%s: invalid inode '%s' (%s)", flag, arg,
				    why(r, "expected a positive number"));
		return 0;
	case OPT_COMM:
	case OPT_EXCLUDE_COMM:
		if (!*arg || strlen(arg) > 15)
			return errf(err, errlen, "%s: invalid process name '%s' (1 to 15 characters, as in /proc/PID/comm)",
				    flag, arg);
		if (str_list_add(c == OPT_COMM ? &q->comm : &o->exclude_comm, arg) < 0)
			return errf(err, errlen, "out of memory");
		return 0;
	case OPT_SHUTDOWN:
		if (o->method != METHOD_CLOSE && o->method != METHOD_SHUTDOWN)
			return errf(err, errlen, "--shutdown: conflicts with --%s (choose one method)",
				    method_info(o->method)->name);
		o->method = METHOD_SHUTDOWN;
		if (!arg || !strcmp(arg, "rdwr"))
			o->how = SHUT_RDWR;
		else if (!strcmp(arg, "rd"))
			o->how = SHUT_RD;
		else if (!strcmp(arg, "wr"))
			o->how = SHUT_WR;
		else
			return errf(err, errlen, "--shutdown: invalid direction '%s' (expected rd, wr or rdwr)", arg);
		return 0;
	case OPT_RESET:
	case OPT_FREE_FD:
	case OPT_DESTROY: {
		enum method m = c == OPT_RESET ? METHOD_RESET : c == OPT_FREE_FD ? METHOD_FREE_FD : METHOD_DESTROY;
		if (o->method != METHOD_CLOSE && o->method != m)
			return errf(err, errlen, "--%s: conflicts with --%s (choose one method)", method_info(m)->name,
				    method_info(o->method)->name);
		o->method = m;
		return 0;
	}
	case 'n': o->dry_run = true; return 0;
	case OPT_INJECT: o->inject = true; return 0;
	case OPT_SINGLE_STOP: o->single_stop = true; return 0;
	case 'y': o->yes = true; return 0;
	case OPT_MAX:
		if ((r = parse_u64(arg, INT32_MAX, &o->max)) < 0 || o->max == 0)
			return errf(err, errlen, "--max: invalid count '%s' (expected a number from 1)", arg);
		o->has_max = true;
		return 0;
	case OPT_ALLOW_LISTEN: o->allow_listen = true; return 0;
	case OPT_ALLOW_ANCESTORS: o->allow_ancestors = true; return 0;
	case OPT_AUDIT_LOG:
		if (!*arg)
			return errf(err, errlen, "--audit-log: empty path");
		o->audit_log = arg;
		return 0;
	case OPT_NETNS:
		if (!*arg || strlen(arg) > 4000)
			return errf(err, errlen, "--netns: invalid namespace '%s' (expected a path such as "
				    "/run/netns/NAME, a PID, or a name under /run/netns)", arg);
		if (o->all_netns)
			return errf(err, errlen, "--netns: conflicts with --all-netns (which searches every namespace)");
		if (str_list_add(&o->netns, arg) < 0)
			return errf(err, errlen, "out of memory");
		return 0;
	case OPT_ALL_NETNS:
		if (o->netns.n)
			return errf(err, errlen, "--all-netns: conflicts with --netns (choose one)");
		o->all_netns = true;
		return 0;
	case OPT_CONTAINER:
	case OPT_POD:
		if (!*arg || strlen(arg) > 79 || strspn(arg, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
							"0123456789-_.:@/\\") != strlen(arg))
			return errf(err, errlen, "%s: invalid %s '%s' (expected %s)", flag,
				    c == OPT_POD ? "pod" : "container", arg,
				    c == OPT_POD ? "a pod name, namespace/name or UID prefix"
						 : "a container id prefix, runtime:id, a container name or a service");
		if (str_list_add(c == OPT_POD ? &q->pod : &q->container, arg) < 0)
			return errf(err, errlen, "out of memory");
		return 0;
	case OPT_EXPLAIN: o->explain = true; return 0;
	case OPT_BACKTRACE: o->backtrace = true; return 0;
	case OPT_CHECK: o->check = true; return 0;
	case OPT_JSON: o->json = true; return 0;
	case 'q': o->quiet = true; return 0;
	case 'v': o->verbose++; return 0;
	}
	return errf(err, errlen, "internal error: option %d not handled", c);
}

/* --check answers for one process and looks at no socket. */
static int check_usage(const struct options *o, char *err, size_t errlen)
{
	const struct query *q = &o->q;
	if (!o->check)
		return CLI_OK;
	if (q->pid.n != 1)
		return errf(err, errlen, "--check: needs exactly one process: --check --pid N");
	if (q->port.n || q->sport.n || q->dport.n || q->states || q->src.n || q->dst.n || q->tcp || q->udp ||
	    q->v4 || q->v6 || q->comm.n || q->uid.n || q->inode.n || q->unix_socks || q->path.n || q->has_idle ||
	    q->container.n || q->pod.n || o->netns.n || o->all_netns)
		return errf(err, errlen, "--check: takes no socket filters, it checks one process (--check --pid N)");
	if (o->explain)
		return errf(err, errlen, "--check: conflicts with --explain (--check --pid N checks one process)");
	return CLI_OK;
}

int cli_parse(int argc, char **argv, struct options *o, char *err, size_t errlen)
{
	*o = (struct options){ .how = SHUT_RDWR, .argc = argc, .argv = argv };
	opterr = 0;
	optind = 0; /* full re-initialisation: unit tests parse many times */

	for (;;) {
		int idx = -1;
		int c = getopt_long(argc, argv, shortopts, longopts, &idx);
		if (c == -1)
			break;
		if (c == '?') {
			if (optopt && optopt < 0x100)
				return errf(err, errlen, "unknown option '-%c' (see --help)", optopt);
			return errf(err, errlen, "unknown option '%s' (see --help)", argv[optind - 1]);
		}
		if (c == ':') {
			char flag[32];
			const char *name = argv[optind - 1];
			if (optopt)
				name = flag_name(optopt, flag, sizeof(flag));
			return errf(err, errlen, "%s: missing argument", name);
		}
		if (c == OPT_HELP) {
			cli_usage(stdout);
			return CLI_EXIT;
		}
		if (c == OPT_VERSION) {
			printf("sockreap %s\n", SOCKREAP_VERSION);
			return CLI_EXIT;
		}
		int r = parse_one(o, c, optarg, err, errlen);
		if (r < 0)
			return r;
	}
	if (optind < argc)
		return errf(err, errlen, "unexpected argument '%s' (filters are flags, e.g. --port %s)",
			    argv[optind], argv[optind]);
	if (o->explain && o->method != METHOD_CLOSE)
		return errf(err, errlen, "--explain: is read-only, it cannot --%s (drop --explain to act)",
			    method_info(o->method)->name);
	if (o->explain && o->q.unix_socks)
		return errf(err, errlen, "--explain: explains TCP/UDP ports; unix sockets have none (drop %s)",
			    o->q.path.n ? "--path" : "-x/--unix");
	if (o->method == METHOD_DESTROY && o->inject)
		return errf(err, errlen, "--inject: conflicts with --destroy (the kernel destroys the socket; nothing runs in the target)");
	return check_usage(o, err, errlen);
}

void options_free(struct options *o)
{
	query_free(&o->q);
	free(o->exclude_pid.v);
	for (size_t i = 0; i < o->exclude_comm.n; i++)
		free(o->exclude_comm.s[i]);
	free(o->exclude_comm.s);
	for (size_t i = 0; i < o->netns.n; i++)
		free(o->netns.s[i]);
	free(o->netns.s);
}
