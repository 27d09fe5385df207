#include "privs.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

int privs_cap_eff(const char *proc_root, int pid, uint64_t *ret)
{
	char path[128], buf[4096], v[32];
	if (pid > 0)
		snprintf(path, sizeof(path), "%s/%d/status", proc_root, pid);
	else
		snprintf(path, sizeof(path), "%s/self/status", proc_root);
	ssize_t n = read_small_file(AT_FDCWD, path, buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	if (proc_status_field(buf, "CapEff", v, sizeof(v)) < 0 || sscanf(v, "%" SCNx64, ret) != 1)
		return -EBADMSG;
	return 0;
}

bool privs_have(int cap)
{
	uint64_t eff;
	return privs_cap_eff("/proc", 0, &eff) == 0 && (eff & (1ull << cap));
}

int privs_yama_scope(void)
{
	char buf[16];
	uint64_t v;
	ssize_t n = read_small_file(AT_FDCWD, "/proc/sys/kernel/yama/ptrace_scope", buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	buf[strcspn(buf, "\n")] = '\0';
	return parse_u64(buf, 3, &v) < 0 ? -EBADMSG : (int)v;
}
