#include "privs.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "procinfo.h"
#include "util.h"

int privs_cap_eff(const char *proc_root, int pid, uint64_t *ret)
{
	char path[128], v[32];
	_cleanup_free_ char *text = NULL;
	if (pid > 0)
		snprintf(path, sizeof(path), "%s/%d/status", proc_root, pid);
	else
		snprintf(path, sizeof(path), "%s/self/status", proc_root);
	/* the whole file: with many supplementary groups it passes 4 KiB
	 * before the CapEff line (procinfo.h) */
	int r = procinfo_read_file(AT_FDCWD, path, &text, NULL);
	if (r < 0)
		return r;
	if ((r = procinfo_status_field(text, "CapEff", v, sizeof(v))) < 0)
		return r;
	char *end;
	errno = 0;
	*ret = strtoull(v, &end, 16);
	if (errno || end == v || *end)
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
