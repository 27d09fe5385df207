#include "act.h"

#include <errno.h>

volatile sig_atomic_t act_interrupted;

int act_run(struct plan *p, const struct options *o, struct audit *a)
{
	/* The engine lands in the next commit. */
	for (size_t i = 0; i < p->n; i++)
		if (p->rows[i].result == RES_PLANNED) {
			p->rows[i].result = RES_FAILED;
			p->rows[i].err = ENOSYS;
		}
	return 0;
}
