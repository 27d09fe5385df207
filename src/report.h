/* The report on stdout: an aligned table or JSON Lines, one line per
 * (socket, owner) row; and the summary line on stderr. */
#pragma once
#include <stdio.h>

#include "cli.h"
#include "plan.h"

/* The fields of one row as JSON members (no braces), shared with audit. */
void report_row_json_fields(FILE *f, const struct plan *p, const struct row *rw,
			    const struct options *o);
/* "netns":INO,"netns_name":NAME|null, (with the trailing comma), and
 * ,"nspid":N,"container":{...} of an owner's process: shared with explain. */
void report_netns_json(FILE *f, uint64_t netns);
void report_owner_proc_json(FILE *f, const struct owner_proc *pr);
void report_print(FILE *f, const struct plan *p, const struct options *o);
void report_summary(FILE *f, const struct plan *p, const struct options *o);
const char *action_name(const struct plan *p, const struct row *rw, const struct options *o);
