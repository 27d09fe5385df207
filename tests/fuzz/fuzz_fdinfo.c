/* The epoll fdinfo parser (procfd_parse_epoll_fdinfo) and the fd link
 * parser (procfd_socket_inode). Input: fdinfo text; its first line is also
 * taken as an fd link. */
#include "fuzz.h"
#include "procfd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_strndup(data, size);
	struct epoll_watches w = { 0 };
	if (procfd_parse_epoll_fdinfo(text, 3, &w) == 0)
		for (size_t i = 0; i < w.n; i++)
			if (!epoll_watches_has(&w, w.v[i].fd, w.v[i].inode))
				abort();
	free(w.v);
	text[strcspn(text, "\n")] = '\0';
	procfd_socket_inode(text);
	free(text);
	return 0;
}
