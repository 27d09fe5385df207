/* What sockreap itself may do: its effective capabilities and the Yama
 * ptrace policy, read from /proc (so --check and main agree). */
#pragma once
#include <stdbool.h>
#include <stdint.h>

/* Capability numbers (linux/capability.h). */
enum {
	PRIV_CAP_DAC_READ_SEARCH = 2,
	PRIV_CAP_NET_ADMIN = 12,
	PRIV_CAP_SYS_PTRACE = 19,
	PRIV_CAP_SYS_ADMIN = 21,
};

/* CapEff of proc_root/self (or of a pid when pid > 0): 0 or -errno. */
int privs_cap_eff(const char *proc_root, int pid, uint64_t *ret);
bool privs_have(int cap);
/* kernel.yama.ptrace_scope (0-3), or -ENOENT without Yama. */
int privs_yama_scope(void);
