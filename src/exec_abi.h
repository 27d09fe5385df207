/* The layout shared by sockreap and the executor it runs inside a target
 * (src/exec/exec.c): fixed-width fields only, no pointers of either side. */
#pragma once
#include <stdint.h>

enum { EXEC_IMM, EXEC_RET, EXEC_DATA, EXEC_MEM32 };

struct exec_op {
	int64_t nr;        /* system call number, for the target's mode */
	uint64_t a[6];
	uint32_t kind[6];  /* EXEC_IMM: a[k]; EXEC_RET: result of op a[k]; EXEC_DATA: data + a[k];
			    * EXEC_MEM32: the int32 stored at data + a[k] (socketpair's fds) */
	int32_t need[2];   /* i+1: op i succeeded; -(i+1): op i failed; 0: none */
	uint32_t flags;    /* EXEC_OP_ROW, EXEC_OP_EXPECT */
	uint32_t unused;
	uint64_t expect;   /* EXEC_OP_EXPECT */
	int64_t ret;       /* EXEC_NOT_RUN until the op ran */
};

/* A row (one fd's group of calls) begins at this op: the executor may stop
 * before it when its time budget is spent. */
#define EXEC_OP_ROW 1u
/* The op stored 8 bytes at its fourth argument (getsockopt(SO_COOKIE)):
 * when it succeeded but they are not expect, its result is -ESTALE (the fd
 * holds another socket), so the ops that need it do not run. */
#define EXEC_OP_EXPECT 2u
#define EXEC_ESTALE 116

#define EXEC_NOT_RUN ((int64_t)1 << 62)

struct exec_job {
	uint64_t nops;
	uint64_t ops;        /* address of nops struct exec_op */
	uint64_t data;       /* address of the program's data */
	uint64_t frame_sp;   /* stack pointer for rt_sigreturn (the frame + 8 on x86_64) */
	uint64_t altstack;   /* where sigaltstack() stores the current alternate stack */
	int64_t nr_wait, nr_sigaltstack; /* ppoll, sigaltstack */
	int64_t timeout[2];  /* struct timespec: how long to wait for sockreap (ppoll updates it) */
	uint32_t done;       /* 1 once every op ran */
	uint32_t unused;
	uint64_t progress;   /* ops run so far */
	/* The stop's budget: once budget_ns (CLOCK_MONOTONIC, measured by the
	 * executor itself from its start, so a time namespace does not
	 * matter) have passed, or half of that and CLOCK_REALTIME reads
	 * deadline_rt or later, the executor starts no further row; it goes
	 * on at op tail (the ops that always run) and stores in stopped_at the
	 * op it did not start (~0: it ran every row). 0: no budget.
	 *
	 * deadline_rt is the stop's end on the one clock no time namespace
	 * changes, so the time between sockreap's resume and the executor's
	 * start (a wakeup, often 0.1-0.3 ms) counts too; a step of the clock
	 * only moves it, and budget_ns still bounds the run. Half the budget
	 * is the executor's whatever its start cost: a late start (a loaded
	 * machine) must not shrink a stop to one row, as each stop costs the
	 * target its whole overhead again (stops of one row each, 300 and more
	 * for 2,000 fds, froze it far longer in all than fewer, fuller ones). */
	uint64_t budget_ns;
	int64_t nr_clock;    /* clock_gettime */
	uint64_t tail;
	uint64_t stopped_at;
	uint64_t deadline_rt; /* CLOCK_REALTIME ns; 0: none */
};

/* Offsets the entry code uses. */
#define EXEC_JOB_FRAME_SP 24
