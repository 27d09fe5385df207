/* verify: after acting, read the kernel's view again and say what really
 * happened to each row acted on: the fd freed or kept by a placeholder,
 * the socket gone, closing, or alive because other owners hold it; for
 * shutdown the new state; for --destroy whether the socket left the
 * kernel's tables. main calls it once, after act, for the whole run. */
#pragma once
#include "cli.h"
#include "plan.h"

/* Fills row->verify of every done row (one dump per kind of socket and
 * namespace for the whole run); a row whose fd still holds the socket
 * after a close, or a socket still there after --destroy, becomes failed. */
void verify_rows(struct plan *p, const struct options *o);
