/* unixfarm: a known set of unix sockets for the discovery tests and the
 * unix_diag fixtures.
 *
 *   unixfarm READY-FILE DIR
 *
 * Opens, with path names under DIR and abstract names made unique by the pid:
 *   lst     stream LISTEN on DIR/stream.sock, with one connection accepted
 *           (srv, in the parent; its client end cli in the child) and one
 *           still waiting in the accept queue (pend's client end, parent)
 *   abs     stream LISTEN on an abstract name with a NUL byte inside it
 *           ("@sockreap-farm-PID\0x"), one connection accepted (asrv; the
 *           client acli unnamed, in the child)
 *   seql    seqpacket LISTEN on DIR/seq.sock, one connection (qsrv, qcli)
 *   dsrv    dgram bound to DIR/dgram.sock, no peer (a datagram server),
 *           dcli an unnamed dgram socket connected to it (child); dsrv's
 *           state is null: UNCONN before Linux 5.18, ESTAB since (the
 *           kernel marks a datagram server ESTAB once a client connects)
 *   pstr, pseq, pdgr  socketpairs of each type: one end in each process
 *   lone    a stream socket never bound nor connected
 * and writes READY-FILE:
 *   {"pid":P,"child":C,"sockets":[{"name":"lst","type":"stream","state":"LISTEN",
 *     "path":"DIR/stream.sock","inode":I,"peer":I,"owners":[[pid,fd]]}, ...]}
 * where path is as sockreap shows it ("*" unnamed, "@..." abstract with the
 * NUL as \x00), peer the peer socket's inode (0: none; null: not known,
 * for pend whose peer is the kernel's embryo socket in the accept queue). Then it sleeps until
 * killed (the test kills both pids). */
#include <signal.h>
#include <stddef.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "target.h"

struct usk {
	const char *name, *type, *state;
	char path[160];
	int fd;
	bool in_child;
	int peer;      /* index of the peer socket in the table, -1 none, -2
			* unknown (a connection still in the accept queue) */
	uint64_t ino;
};

static socklen_t addr_of(const char *name, size_t len, struct sockaddr_un *a)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	memcpy(a->sun_path, name, len);
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
}

static int listener(int type, const char *name, size_t len, int backlog)
{
	struct sockaddr_un a;
	socklen_t alen = addr_of(name, len, &a);
	int fd = socket(AF_UNIX, type, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, alen) < 0 || listen(fd, backlog) < 0)
		die("unix listen");
	return fd;
}

static int connector(int type, const char *name, size_t len)
{
	struct sockaddr_un a;
	socklen_t alen = addr_of(name, len, &a);
	int fd = socket(AF_UNIX, type, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, alen) < 0)
		die("unix connect");
	return fd;
}

static uint64_t ino_of(int fd)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		die("fstat");
	return st.st_ino;
}

static const char *peer_text(const struct usk *s, size_t i)
{
	static char buf[32];
	if (s[i].peer == -2)
		return "null";
	snprintf(buf, sizeof(buf), "%llu", s[i].peer >= 0 ? (unsigned long long)s[s[i].peer].ino : 0ull);
	return buf;
}

int main(int argc, char **argv)
{
	char spath[160], qpath[160], dpath[160], abs[64];
	int sv[2], qv[2], dv[2];

	if (argc != 3) {
		fprintf(stderr, "usage: unixfarm READY-FILE DIR\n");
		return 2;
	}
	snprintf(spath, sizeof(spath), "%s/stream.sock", argv[2]);
	snprintf(qpath, sizeof(qpath), "%s/seq.sock", argv[2]);
	snprintf(dpath, sizeof(dpath), "%s/dgram.sock", argv[2]);
	int alen = snprintf(abs, sizeof(abs), "%csockreap-farm-%d%cx", 0, (int)getpid(), 0);

	int lst = listener(SOCK_STREAM, spath, strlen(spath), 8);
	int cli = connector(SOCK_STREAM, spath, strlen(spath));
	int srv = accept(lst, NULL, NULL);
	int pend = connector(SOCK_STREAM, spath, strlen(spath)); /* never accepted */
	int al = listener(SOCK_STREAM, abs, (size_t)alen, 8);
	int acli = connector(SOCK_STREAM, abs, (size_t)alen);
	int asrv = accept(al, NULL, NULL);
	int ql = listener(SOCK_SEQPACKET, qpath, strlen(qpath), 8);
	int qcli = connector(SOCK_SEQPACKET, qpath, strlen(qpath));
	int qsrv = accept(ql, NULL, NULL);
	struct sockaddr_un da;
	socklen_t dalen = addr_of(dpath, strlen(dpath), &da);
	int dsrv = socket(AF_UNIX, SOCK_DGRAM, 0);
	if (dsrv < 0 || bind(dsrv, (struct sockaddr *)&da, dalen) < 0)
		die("dgram bind");
	int dcli = connector(SOCK_DGRAM, dpath, strlen(dpath));
	if (srv < 0 || asrv < 0 || qsrv < 0 || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0 ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET, 0, qv) < 0 || socketpair(AF_UNIX, SOCK_DGRAM, 0, dv) < 0)
		die("accept or socketpair");
	int lone = socket(AF_UNIX, SOCK_STREAM, 0);

	char absshow[64];
	snprintf(absshow, sizeof(absshow), "@sockreap-farm-%d\\\\x00x", (int)getpid());
	struct usk s[] = {
		{ "lst", "stream", "LISTEN", "", lst, false, -1, 0 },
		{ "srv", "stream", "ESTAB", "", srv, false, 2, 0 },
		{ "cli", "stream", "ESTAB", "*", cli, true, 1, 0 },
		{ "pend", "stream", "ESTAB", "*", pend, false, -2, 0 },
		{ "abs", "stream", "LISTEN", "", al, false, -1, 0 },
		{ "asrv", "stream", "ESTAB", "", asrv, false, 6, 0 },
		{ "acli", "stream", "ESTAB", "*", acli, true, 5, 0 },
		{ "seql", "seqpacket", "LISTEN", "", ql, false, -1, 0 },
		{ "qsrv", "seqpacket", "ESTAB", "", qsrv, false, 9, 0 },
		{ "qcli", "seqpacket", "ESTAB", "*", qcli, true, 8, 0 },
		{ "dsrv", "dgram", NULL, "", dsrv, false, -1, 0 },
		{ "dcli", "dgram", "ESTAB", "*", dcli, true, 10, 0 },
		{ "pstr0", "stream", "ESTAB", "*", sv[0], false, 13, 0 },
		{ "pstr1", "stream", "ESTAB", "*", sv[1], true, 12, 0 },
		{ "pseq0", "seqpacket", "ESTAB", "*", qv[0], false, 15, 0 },
		{ "pseq1", "seqpacket", "ESTAB", "*", qv[1], true, 14, 0 },
		{ "pdgr0", "dgram", "ESTAB", "*", dv[0], false, 17, 0 },
		{ "pdgr1", "dgram", "ESTAB", "*", dv[1], true, 16, 0 },
		{ "lone", "stream", "UNCONN", "*", lone, false, -1, 0 },
	};
	/* accepted sockets carry the listener's name, as the kernel reports it */
	snprintf(s[0].path, sizeof(s[0].path), "%s", spath);
	snprintf(s[1].path, sizeof(s[1].path), "%s", spath);
	snprintf(s[4].path, sizeof(s[4].path), "%s", absshow);
	snprintf(s[5].path, sizeof(s[5].path), "%s", absshow);
	snprintf(s[7].path, sizeof(s[7].path), "%s", qpath);
	snprintf(s[8].path, sizeof(s[8].path), "%s", qpath);
	snprintf(s[10].path, sizeof(s[10].path), "%s", dpath);
	size_t n = sizeof(s) / sizeof(s[0]);
	for (size_t i = 0; i < n; i++)
		s[i].ino = ino_of(s[i].fd);

	int ready[2];
	if (pipe(ready) < 0)
		die("pipe");
	pid_t child = fork();
	if (child < 0)
		die("fork");
	if (child == 0) {
		for (size_t i = 0; i < n; i++)
			if (!s[i].in_child)
				close(s[i].fd);
		close(ready[0]);
		close(ready[1]);
		for (;;)
			pause();
	}
	close(ready[1]);
	char b;
	if (read(ready[0], &b, 1) < 0)
		die("wait for the child");
	for (size_t i = 0; i < n; i++)
		if (s[i].in_child)
			close(s[i].fd);

	char text[16384];
	size_t len = (size_t)snprintf(text, sizeof(text), "{\"pid\":%d,\"child\":%d,\"sockets\":[", (int)getpid(),
				      (int)child);
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len,
					"%s{\"name\":\"%s\",\"type\":\"%s\",\"state\":%s%s%s,\"path\":\"%s\","
					"\"inode\":%llu,\"peer\":%s,\"owners\":[[%d,%d]]}",
					i ? "," : "", s[i].name, s[i].type, s[i].state ? "\"" : "", s[i].state ? s[i].state : "null",
					s[i].state ? "\"" : "", s[i].path,
					(unsigned long long)s[i].ino, peer_text(s, i),
					s[i].in_child ? (int)child : (int)getpid(), s[i].fd);
	snprintf(text + len, sizeof(text) - len, "]}\n");
	tgt_write_file_atomic(argv[1], text);
	for (;;)
		pause();
}
