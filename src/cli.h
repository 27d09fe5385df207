/* The command line: argv into struct options, every bad value rejected with
 * one line naming the flag and the value. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#include "method.h"
#include "query.h"

struct options {
	struct query q;
	enum method method;
	int how;                   /* SHUT_RD, SHUT_WR, SHUT_RDWR for --shutdown */
	bool dry_run, inject, yes;
	bool single_stop;          /* one stop for all fds of a process (benchmarks) */
	bool allow_listen, allow_ancestors;
	bool has_max;
	uint64_t max;
	struct u64_list exclude_pid;
	struct str_list exclude_comm;
	struct str_list netns;     /* --netns: PATH, PID or NAME each */
	bool all_netns;            /* --all-netns */
	bool explain;              /* --explain: read-only report, never acts */
	const char *audit_log;     /* NULL: default (/var/log/sockreap.log as root) */
	bool backtrace, json, quiet;
	bool check;                /* --check: the pre-flight answer for one --pid */
	int verbose;
	int argc;                  /* the full command line, for the audit record */
	char **argv;
};

enum { CLI_OK = 0, CLI_EXIT = 1 };

/* Parse argv. CLI_OK: go on; CLI_EXIT: --help or --version was printed, exit
 * 0; -EINVAL: err holds one line (without "sockreap: " and newline) naming
 * the flag and the bad value; exit 2. */
int cli_parse(int argc, char **argv, struct options *o, char *err, size_t errlen);
void cli_usage(FILE *f);
void options_free(struct options *o);
