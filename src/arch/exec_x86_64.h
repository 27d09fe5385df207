/* x86_64 half of the in-target executor. */
#pragma once
#include <asm/unistd_64.h>
#include <stdint.h>

#include "exec_abi.h"

/* Numbers and offsets go into the entry code as text, from their headers. */
#define EXEC_STR_(x) #x
#define EXEC_STR(x) EXEC_STR_(x)

static inline __attribute__((always_inline)) int64_t exec_syscall6(int64_t nr, uint64_t a0, uint64_t a1,
							      uint64_t a2, uint64_t a3, uint64_t a4,
							      uint64_t a5)
{
	register uint64_t r10 __asm__("r10") = a3;
	register uint64_t r8 __asm__("r8") = a4;
	register uint64_t r9 __asm__("r9") = a5;
	int64_t ret;
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(nr), "D"(a0), "S"(a1), "d"(a2), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}

/* Entry: r12 = stack top, r13/r14 = the data range to make writable (it is
 * mapped read-only and written by sockreap through /proc/PID/mem, so the
 * target never has a page both writable and executable), r15 = the job.
 * After exec_main (or if mprotect failed), rt_sigreturn from the frame
 * (struct exec_job.frame_sp, EXEC_JOB_FRAME_SP bytes into the job). */
__asm__(".pushsection sockreap_exec, \"ax\", @progbits\n"
	".globl exec_entry\n"
	".type exec_entry, @function\n"
	"exec_entry:\n"
	"	mov $" EXEC_STR(__NR_mprotect) ", %eax\n"
	"	mov %r13, %rdi\n"
	"	mov %r14, %rsi\n"
	"	mov $3, %edx\n"           /* PROT_READ | PROT_WRITE */
	"	syscall\n"
	"	test %rax, %rax\n"
	"	jnz 1f\n"
	"	mov %r12, %rsp\n"
	"	mov %r15, %rdi\n"
	"	call exec_main\n"
	"1:	mov " EXEC_STR(EXEC_JOB_FRAME_SP) "(%r15), %rsp\n"
	"	mov $" EXEC_STR(__NR_rt_sigreturn) ", %eax\n"
	"	syscall\n"
	"	ud2\n"
	".size exec_entry, . - exec_entry\n"
	".popsection\n");
