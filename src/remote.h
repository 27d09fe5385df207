/* remote: typed system calls run inside a stopped target, as one program.
 *
 * A program is a list of calls. An argument is an immediate, the result of
 * an earlier call of the program, or the address of bytes in the program's
 * data (option values, epoll events, result buffers). A call may need up to
 * two earlier calls to have succeeded (RP_OK(i)) or failed (RP_FAILED(i));
 * otherwise it does not run and its result stays RP_NOT_RUN. So a whole
 * per-fd replacement (placeholder socket, SO_LINGER, epoll DEL, dup3, epoll
 * ADD, close) is one group of calls whose later steps never run when an
 * earlier one failed, and whose repairs run only then.
 *
 * The same program runs call by call from sockreap (rp_run_calls, through
 * inj_call), or in one go inside the target (rp_run_inside: the crash-only
 * executor). Its data lives in the engine's scratch mapping. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "inject.h"

#define RP_NOT_RUN ((int64_t)1 << 62)

enum rp_kind { RP_IMM, RP_RET, RP_DATA, RP_MEM32 };
struct rp_arg {
	uint32_t kind;
	uint64_t v;
};
#define RP_IMM(x) ((struct rp_arg){ RP_IMM, (uint64_t)(x) })
#define RP_RET(i) ((struct rp_arg){ RP_RET, (uint64_t)(i) })
#define RP_DATA(off) ((struct rp_arg){ RP_DATA, (uint64_t)(off) })
/* the int32 an earlier call stored at data offset off (socketpair's fds) */
#define RP_MEM32(off) ((struct rp_arg){ RP_MEM32, (uint64_t)(off) })
#define RP_OK(i) ((int32_t)(i) + 1)
#define RP_FAILED(i) (-(int32_t)(i) - 1)

struct rp_call {
	enum arch_sys sys;
	struct rp_arg a[6];
	int32_t need[2];
	bool row;            /* a row (one fd's group of calls) begins here */
	bool expect_on;      /* rp_check_cookie: the 8 bytes stored at a[3] must be expect */
	uint64_t expect;
	int64_t ret;
};

/* deadline_ns: when the program must stop (now_ns(); 0: no limit). It is
 * checked only where a row begins, and never before the first: once it has
 * passed, no further row starts, and reached says where it stopped (the
 * first call of the first row not started; n when every row ran). Inside
 * the target, the executor gets what is left of it as a budget that it
 * measures on its own clock. */
struct rprog {
	struct rp_call *c;
	size_t n, cap;
	uint8_t *data;
	size_t ndata, capdata;
	bool row_next;       /* the next call added begins a row */
	uint64_t deadline_ns;
	size_t reached;
};

/* Append len bytes (NULL: zeros) to the data: their offset, or -ENOMEM. */
long rp_data(struct rprog *p, const void *src, size_t len);
/* The next call added begins a row: the budget may stop the program
 * before it. */
void rp_row(struct rprog *p);
/* Append a call: its index, or -ENOMEM. */
int rp_add(struct rprog *p, int32_t need0, int32_t need1, enum arch_sys sys, const struct rp_arg a[6]);

/* Typed calls. Each returns the new call's index or -ENOMEM. */
int rp_socket(struct rprog *p, int32_t need, int family, int type);
int rp_shutdown(struct rprog *p, int32_t need, struct rp_arg fd, int how);
/* socketpair(family, type, 0) into 8 bytes of data at *ret_off. */
int rp_socketpair(struct rprog *p, int32_t need, int family, int type, long *ret_off);
int rp_close(struct rprog *p, int32_t need0, int32_t need1, struct rp_arg fd);
int rp_dup3(struct rprog *p, int32_t need0, int32_t need1, struct rp_arg oldfd, int newfd, int flags);
int rp_setsockopt(struct rprog *p, int32_t need0, int32_t need1, struct rp_arg fd, int level, int name,
		  const void *val, size_t len);
/* getsockopt(fd, level, name) into len bytes of data at *ret_off. */
int rp_getsockopt(struct rprog *p, int32_t need, int fd, int level, int name, size_t len, long *ret_off);
/* Is fd still the socket with this cookie? getsockopt(SO_COOKIE) in the
 * target, checked where it runs: 0 when it is, -ESTALE when the fd holds
 * another socket, -ENOTSOCK or -EBADF when no socket or nothing. Run with
 * every thread stopped, right before the calls that need it. */
int rp_check_cookie(struct rprog *p, int fd, uint64_t cookie);
/* setsockopt with the value an earlier rp_getsockopt read (at off). */
int rp_setsockopt_from(struct rprog *p, int32_t need0, int32_t need1, int fd, int level, int name, long off,
		       size_t len);
int rp_epoll_ctl(struct rprog *p, int32_t need0, int32_t need1, int epfd, int op, struct rp_arg fd,
		 uint32_t events, uint64_t data);
int rp_fcntl(struct rprog *p, int32_t need, struct rp_arg fd, int cmd, long arg);

/* Could call i run, given the results so far? */
bool rp_runnable(const struct rprog *p, size_t i);

/* Run the calls in order with inj_call, from call *next on; the data is
 * first copied to data_addr in the target. 0 when every call ran or was
 * skipped by its needs; -errno when the engine could not go on (t->why),
 * with *next at the call that did not run. */
int rp_run_calls(struct inj *t, struct rprog *p, uint64_t data_addr, size_t *next);

/* Run the whole program at once inside the target, with the executor
 * (crash-only: see src/exec/exec.c). 0 when it ran (each call's result in
 * the program); -EAGAIN when the executor cannot be used for this target
 * (no extended-state regset, a shadow stack, no executable scratch page):
 * nothing was run, use rp_run_calls; other -errno when the engine failed
 * (t->why), with the results of what ran and in *ran how many calls
 * it got through. */
int rp_run_inside(struct inj *t, struct rprog *p, size_t *ran);
/* Only what rp_run_inside does before the program: the injection thread
 * chosen, the scratch mapping made and the executor's code in it (and a
 * new mapping's madvise() calls, run by the executor), for a stop whose
 * time the attach has used up. 0, -EAGAIN as rp_run_inside (nothing
 * done), or another -errno (t->why). */
int rp_ready(struct inj *t, const struct rprog *p);

void rprog_reset(struct rprog *p);
void rprog_free(struct rprog *p);
