/* Record a real sock_diag dump into a fixture file for the unit tests:
 * every reply buffer as received, preceded by its length (uint32_t).
 *
 *   record_diag OUT.bin {4|6} {tcp|udp}
 *   record_diag OUT.bin unix */
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "diag.h"

int main(int argc, char **argv)
{
	struct sock_list l = { 0 };

	bool unix_socks = argc == 3 && !strcmp(argv[2], "unix");
	if (argc != 4 && !unix_socks) {
		fprintf(stderr, "usage: record_diag OUT.bin {4|6} {tcp|udp}\n"
				"       record_diag OUT.bin unix\n");
		return 2;
	}
	FILE *f = fopen(argv[1], "wb");
	if (!f) {
		perror(argv[1]);
		return 1;
	}
	int r = unix_socks ? diag_dump_unix(SK_ALL_STATES, &l, f)
			   : diag_dump(!strcmp(argv[2], "6") ? AF_INET6 : AF_INET,
				       !strcmp(argv[3], "udp") ? IPPROTO_UDP : IPPROTO_TCP, SK_ALL_STATES, &l, f);
	if (fclose(f) != 0 || r < 0) {
		fprintf(stderr, "record_diag: %s\n", strerror(r < 0 ? -r : 5));
		return 1;
	}
	printf("%s: %zu sockets\n", argv[1], l.n);
	sock_list_free(&l);
	return 0;
}
