/* The /proc/PID/status parser (procinfo_status_field, behind the engine's
 * status_field, --check and privs). Input: the text of a status file. */

#include "fuzz.h"
#include "procinfo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const fuzz_status_names[] = { "State", "TracerPid", "CapEff", "Seccomp", "Threads", "" };
	char *text = fuzz_strndup(data, size);
	for (size_t i = 0; i < sizeof(fuzz_status_names) / sizeof(fuzz_status_names[0]); i++) {
		char out[64], small[4];
		if (procinfo_status_field(text, fuzz_status_names[i], out, sizeof(out)) == 0 && strlen(out) >= sizeof(out))
			abort();
		if (procinfo_status_field(text, fuzz_status_names[i], small, sizeof(small)) == 0 && strlen(small) >= 4)
			abort();
	}
	free(text);
	return 0;
}
