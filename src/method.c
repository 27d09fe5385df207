#include "method.h"

static const struct method_info methods[METHOD__MAX] = {
	[METHOD_CLOSE] = {
		.name = "close", .inside = INSIDE_REPLACE,
		.fd_survives = true, .placeholder = true, .frees_socket = true, .peer_sees = "FIN",
	},
	[METHOD_FREE_FD] = {
		.name = "free-fd", .inside = INSIDE_CLOSE,
		.frees_socket = true, .peer_sees = "FIN",
	},
	[METHOD_SHUTDOWN] = {
		.name = "shutdown", .per_socket = true, .outside = OUTSIDE_SHUTDOWN, .inside = INSIDE_SHUTDOWN,
		.fd_survives = true, .peer_sees = "FIN",
	},
	[METHOD_RESET] = {
		/* SO_LINGER is a property of the socket, shared by every owner */
		.name = "reset", .per_socket = true, .inside = INSIDE_REPLACE, .linger0 = true,
		.fd_survives = true, .placeholder = true, .frees_socket = true, .peer_sees = "RST",
	},
	[METHOD_DESTROY] = {
		/* the kernel ends the connection; the process keeps its fd */
		.name = "destroy", .per_socket = true, .outside = OUTSIDE_DESTROY, .inside = INSIDE_NONE,
		.fd_survives = true, .peer_sees = "RST",
	},
};

const struct method_info *method_info(enum method m)
{
	return &methods[m < METHOD__MAX ? m : METHOD_CLOSE];
}
