#include "unwind.h"

#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <libunwind-ptrace.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tracee.h"
#include "util.h"

#define MAX_FRAMES 32

struct thread_stack {
	pid_t tid;
	int nframes;
	uint64_t ip[MAX_FRAMES];
	int err;             /* libunwind error that ended the walk early, or 0 */
};

struct unwind_bt {
	pid_t pid;
	char *maps;
	size_t n, skipped;
	uint64_t budget_ns;
	struct thread_stack t[];
};

static void walk(unw_addr_space_t as, struct thread_stack *ts)
{
	unw_cursor_t c;
	void *upt = _UPT_create(ts->tid);
	if (!upt) {
		ts->err = -UNW_ENOMEM;
		return;
	}
	int r = unw_init_remote(&c, as, upt);
	while (r >= 0 && ts->nframes < MAX_FRAMES) {
		unw_word_t ip;
		if ((r = unw_get_reg(&c, UNW_REG_IP, &ip)) < 0 || ip == 0)
			break;
		ts->ip[ts->nframes++] = ip;
		r = unw_step(&c);
		if (r == 0)
			break;
	}
	ts->err = r < 0 ? r : 0;
	_UPT_destroy(upt);
}

int unwind_signal_context(pid_t tid, const struct arch_regs *live, struct arch_regs *ctx)
{
#if defined(SOCKREAP_ARCH_x86_64)
	static const struct {
		int reg;
		size_t off;
	} gp[] = {
#define GP(u, f) { UNW_X86_64_##u, offsetof(struct user_regs_struct, f) }
		GP(RAX, rax), GP(RDX, rdx), GP(RCX, rcx), GP(RBX, rbx), GP(RSI, rsi), GP(RDI, rdi),
		GP(RBP, rbp), GP(RSP, rsp), GP(R8, r8), GP(R9, r9), GP(R10, r10), GP(R11, r11),
		GP(R12, r12), GP(R13, r13), GP(R14, r14), GP(R15, r15), GP(RIP, rip),
#undef GP
	};
	unw_addr_space_t as = unw_create_addr_space(&_UPT_accessors, 0);
	void *upt = as ? _UPT_create(tid) : NULL;
	unw_cursor_t c;
	int r = upt ? unw_init_remote(&c, as, upt) : -UNW_ENOMEM, found = 0;
	for (int frames = 0; r >= 0 && frames < MAX_FRAMES; frames++) {
		if (unw_is_signal_frame(&c) > 0) {
			/* one step through the trampoline's frame: the cursor is
			 * then in the interrupted context, every register loaded
			 * from the sigcontext */
			if ((r = unw_step(&c)) <= 0)
				break;
			*ctx = *live;
			for (size_t i = 0; i < ARRAY_SIZE(gp) && r >= 0; i++) {
				unw_word_t v;
				if ((r = unw_get_reg(&c, gp[i].reg, &v)) >= 0)
					*(uint64_t *)((uint8_t *)&ctx->r + gp[i].off) = v;
			}
			ctx->r.orig_rax = (uint64_t)-1;
			found = r >= 0;
			break;
		}
		if ((r = unw_step(&c)) <= 0)
			break;
	}
	if (upt)
		_UPT_destroy(upt);
	if (as)
		unw_destroy_addr_space(as);
	return found ? 1 : r < 0 ? -EIO : 0;
#else
	return 0;
#endif
}

struct unwind_bt *unwind_collect(pid_t pid, uint64_t budget_ns)
{
	uint64_t end = now_ns() + budget_ns;
	_cleanup_free_ pid_t *tids = NULL;
	size_t n = 0;

	if (tracee_real.list_threads(pid, &tids, &n) < 0)
		n = 0;
	struct unwind_bt *bt = calloc(1, sizeof(*bt) + n * sizeof(bt->t[0]));
	if (!bt)
		return NULL;
	bt->pid = pid;
	bt->n = n;
	tracee_real.read_maps(pid, &bt->maps);
	unw_addr_space_t as = unw_create_addr_space(&_UPT_accessors, 0);
	bt->budget_ns = budget_ns;
	size_t done = 0;
	for (; done < n && now_ns() < end; done++) {
		bt->t[done].tid = tids[done];
		if (as)
			walk(as, &bt->t[done]);
		else
			bt->t[done].err = -UNW_ENOMEM;
	}
	bt->skipped = n - done;
	bt->n = done;
	if (as)
		unw_destroy_addr_space(as);
	return bt;
}

void unwind_file_of(const char *maps, uint64_t ip, char *buf, size_t size)
{
	snprintf(buf, size, "?");
	for (const char *line = maps; line && *line;) {
		uint64_t lo, hi;
		int name_at = 0;
		const char *next = strchr(line, '\n');
		size_t len = next ? (size_t)(next - line) : strlen(line);
		if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %*s %*s %*s %*s %n", &lo, &hi, &name_at) >= 2 &&
		    ip >= lo && ip < hi) {
			if (name_at && (size_t)name_at < len)
				snprintf(buf, size, "%.*s", (int)(len - (size_t)name_at), line + name_at);
			return;
		}
		line = next ? next + 1 : NULL;
	}
}

char *unwind_resolve(struct unwind_bt *bt)
{
	char *text = NULL;
	size_t len = 0;
	if (!bt)
		return NULL;
	FILE *f = open_memstream(&text, &len);
	unw_addr_space_t as = unw_create_addr_space(&_UPT_accessors, 0);
	/* _UPT_get_proc_name reads /proc/PID/maps and the ELF files on disk:
	 * it works on the running process, no ptrace stop needed. */
	void *upt = _UPT_create(bt->pid);
	for (size_t i = 0; f && i < bt->n; i++) {
		const struct thread_stack *ts = &bt->t[i];
		fprintf(f, "  thread %d:\n", (int)ts->tid);
		for (int k = 0; k < ts->nframes; k++) {
			char name[256] = "??", file[256];
			unw_word_t off = 0;
			/* Return addresses point after the call: look up ip-1
			 * for every frame but the first. */
			uint64_t ip = ts->ip[k], look = k ? ip - 1 : ip;
			if (!as || !upt || _UPT_accessors.get_proc_name(as, look, name, sizeof(name), &off, upt) < 0)
				snprintf(name, sizeof(name), "??");
			else
				off += ip - look;
			unwind_file_of(bt->maps, ip, file, sizeof(file));
			fprintf(f, "    #%d 0x%" PRIx64 " %s+0x%lx (%s)\n", k, ip, name, (unsigned long)off, file);
		}
		if (ts->err)
			fprintf(f, "    (stack walk ended early: %s)\n", unw_strerror(ts->err));
	}
	if (f && bt->skipped)
		fprintf(f, "  (%zu more thread%s not walked: the %.0f ms budget for stopping the target ran out)\n",
			bt->skipped, bt->skipped == 1 ? "" : "s", (double)bt->budget_ns / 1e6);
	if (upt)
		_UPT_destroy(upt);
	if (as)
		unw_destroy_addr_space(as);
	if (f)
		fclose(f);
	free(bt->maps);
	free(bt);
	return text;
}
