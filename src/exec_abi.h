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
	int64_t ret;       /* EXEC_NOT_RUN until the op ran */
};

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
};

/* Offsets the entry code uses. */
#define EXEC_JOB_FRAME_SP 24
