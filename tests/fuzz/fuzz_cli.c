/* The command line (cli_parse and every filter parser behind it). Input:
 * arguments separated by NUL bytes, after an implicit "sockreap". Every
 * parse must end in CLI_OK, CLI_EXIT or -EINVAL with a message. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "cli.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
#ifndef FUZZ_REPLAY
	static int fuzz_cli_quiet;
	if (!fuzz_cli_quiet++) {
		/* --help and --version print to stdout */
		int fd = open("/dev/null", O_WRONLY);
		if (fd >= 0)
			dup2(fd, STDOUT_FILENO);
	}
#endif
	char *text = fuzz_strndup(data, size);
	char *argv[66] = { "sockreap" };
	int argc = 1;
	for (size_t i = 0; i <= size && argc < 65;) {
		argv[argc++] = text + i;
		i += strlen(text + i) + 1;
	}
	argv[argc] = NULL;
	struct options o;
	char err[256] = "";
	int r = cli_parse(argc, argv, &o, err, sizeof(err));
	if (r != CLI_OK && r != CLI_EXIT && (r != -EINVAL || !err[0]))
		abort();
	options_free(&o);
	free(text);
	return 0;
}
