/* stepper: a program that single-steps itself (x86_64: TF set with popf,
 * a SIGTRAP handler counting the steps, TF cleared again), most of its
 * time inside the stepped stretch, holding N CLOSE_WAIT fds. A stop taken
 * there holds TF in the thread's flags: the engine's own code must not run
 * with it (each instruction would trap). On SIGTERM it writes its report
 * and exits.
 *
 *   stepper N READY REPORT
 *
 * READY gets {"pid":..,"port":..}; REPORT {"steps":..,"rounds":..,"ok":..}:
 * ok when every round saw its steps (a handler reset to SIG_DFL would have
 * killed it instead). Elsewhere than x86_64 it exits 77 at once. */
#include <signal.h>

#include "target.h"

#if !defined(__x86_64__)
int main(void)
{
	return 77;
}
#else
static volatile long steps;
static volatile sig_atomic_t stop;

static void on_trap(int sig) { steps++; }
static void on_term(int sig) { stop = 1; }

int main(int argc, char **argv)
{
	if (argc != 4)
		die("usage: stepper N READY REPORT");
	uint16_t port;
	int first, last;
	tgt_leak_close_wait(atoi(argv[1]), &port, &first, &last);
	struct sigaction sa = { .sa_handler = on_trap };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTRAP, &sa, NULL);
	struct sigaction st = { .sa_handler = on_term };
	sigaction(SIGTERM, &st, NULL);
	char buf[256];
	snprintf(buf, sizeof(buf), "{\"pid\":%d,\"port\":%u}", (int)getpid(), port);
	tgt_write_file_atomic(argv[2], buf);
	long rounds = 0, short_rounds = 0;
	while (!stop) {
		long before = steps;
		/* TF on, 32 stepped instructions, TF off */
		__asm__ volatile("pushfq\n\torq $0x100, (%%rsp)\n\tpopfq\n\t"
				 ".rept 32\n\tnop\n\t.endr\n\t"
				 "pushfq\n\tandq $~0x100, (%%rsp)\n\tpopfq"
				 ::: "memory", "cc");
		rounds++;
		short_rounds += steps - before < 32;
	}
	snprintf(buf, sizeof(buf), "{\"steps\":%ld,\"rounds\":%ld,\"short_rounds\":%ld,\"ok\":%s}", steps, rounds,
		 short_rounds, short_rounds ? "false" : "true");
	tgt_write_file_atomic(argv[3], buf);
	return 0;
}
#endif
