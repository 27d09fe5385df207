/* The methods, as one table that plan, act, verify and report read instead
 * of re-deriving meaning from command-line flags.
 *
 *   scope    per fd: each (socket, owner) row is its own action;
 *            per socket: the action changes the socket for every owner, so
 *            if any owner is refused, no owner is acted on.
 *   outside  what is done from outside the target, on a pidfd_getfd()
 *            duplicate checked by SO_COOKIE (the target never stops).
 *   inside   what must happen inside the target, in one stop.
 *   fd       what the application's fd number holds afterwards. */
#pragma once
#include <stdbool.h>

/* METHOD_DESTROY: the kernel's SOCK_DESTROY per socket, no ptrace, no
 * pidfd (destroy.h, act_destroy.c). */
enum method { METHOD_CLOSE, METHOD_FREE_FD, METHOD_SHUTDOWN, METHOD_RESET, METHOD_DESTROY, METHOD__MAX };

enum method_inside {
	INSIDE_NONE,     /* nothing (the outside part did it all) */
	INSIDE_REPLACE,  /* dup3() an inert placeholder over the fd */
	INSIDE_CLOSE,    /* close(fd): the number is freed */
	INSIDE_SHUTDOWN, /* shutdown(fd): only where the outside part cannot run */
};

enum method_outside { OUTSIDE_NONE, OUTSIDE_SHUTDOWN, OUTSIDE_DESTROY /* by netlink, with the cookie */ };

struct method_info {
	const char *name;
	bool per_socket;
	enum method_outside outside;
	enum method_inside inside;
	bool linger0;       /* SO_LINGER {1,0} set inside, right before the replacement */
	bool fd_survives;   /* the number stays taken (the socket or a placeholder) */
	bool placeholder;   /* ... by a placeholder */
	bool frees_socket;  /* this fd's reference to the socket goes */
	const char *peer_sees;
};

const struct method_info *method_info(enum method m);

/* SO_RCVLOWAT of every placeholder: how a later run recognises them. */
#define PLACEHOLDER_MARK 0x5eed
