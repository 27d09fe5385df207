/* --explain: "why can't my service bind 8080?" and "what is holding this
 * port?". For every socket of the plan, grouped by port and namespace: who
 * holds it (process, fd, container) or why nobody does (TIME-WAIT and how
 * long it has left, an orphan the kernel is closing, a request in the SYN
 * queue, a connection waiting in a listener's accept queue), each
 * listener's accept-queue fill, and what sockreap could do about it, as
 * the exact command (--destroy for what only the kernel can remove). Read-only: it only reads the
 * plan. Text like a short report, or one JSON object per socket. */
#pragma once
#include <stdio.h>

#include "cli.h"
#include "plan.h"

void explain_print(FILE *f, const struct plan *p, const struct options *o);
/* One line for stderr: how much was explained, and that nothing was touched. */
void explain_summary(FILE *f, const struct plan *p);
