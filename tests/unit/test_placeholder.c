/* The placeholder description: which kind for which socket, and that a
 * placeholder built as described really reads EOF and polls hang-up (built
 * here, in the test process, with the same calls the engine injects). */
#include "unit.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "placeholder.h"

static int build(const struct ph_desc *d)
{
	int fd, sv[2];
	if (d->kind == PH_UNIX_PAIR) {
		assert_int_equal(socketpair(AF_UNIX, d->type, 0, sv), 0);
		fd = sv[0];
		if (d->close_peer)
			close(sv[1]);
	} else {
		fd = socket(d->family, d->type, 0);
		assert_true(fd >= 0);
	}
	if (d->shutdown_self)
		shutdown(fd, SHUT_RDWR); /* ENOTCONN for unconnected sockets; the bits are set */
	return fd;
}

/* Reads give EOF at once (never block, never an error) and poll says
 * readable and hung up: the app's loop wakes and cleans up. */
static void assert_reads_eof(const struct ph_desc *d)
{
	char b[16];
	int fd = build(d);
	struct pollfd p = { .fd = fd, .events = POLLIN };
	assert_int_equal(poll(&p, 1, 0), 1);
	assert_true(p.revents & POLLIN);
	assert_true(p.revents & POLLHUP);
	/* A datagram socket shut down reads EOF only in a blocking read: a
	 * non-blocking one gives EAGAIN before it looks at the shutdown bits
	 * (__skb_recv_datagram). The wait is bounded here all the same. */
	if (d->type == SOCK_DGRAM) {
		struct timeval tv = { .tv_sec = 2 };
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	} else
		fcntl(fd, F_SETFL, O_NONBLOCK);
	ssize_t n = read(fd, b, sizeof(b));
	if (n != 0)
		fail_msg("%s type %d: read gave %zd (%s), not EOF", placeholder_kind_name(d->kind), d->type, n,
			 n < 0 ? strerror(errno) : "data");
	close(fd);
}

static void check(uint8_t family, uint8_t proto, uint8_t type, enum ph_kind kind)
{
	struct sock s = { .family = family, .proto = proto, .type = type };
	struct ph_desc d;
	assert_int_equal(placeholder_for(&s, &d), 0);
	assert_int_equal(d.kind, kind);
	assert_int_equal(d.family, family);
	assert_int_equal(d.type, type);
	assert_reads_eof(&d);
}

static void test_kinds(void **state)
{
	check(AF_INET, IPPROTO_TCP, SOCK_STREAM, PH_INET_STREAM);
	check(AF_INET6, IPPROTO_TCP, SOCK_STREAM, PH_INET_STREAM);
	check(AF_INET, IPPROTO_UDP, SOCK_DGRAM, PH_UDP);
	check(AF_INET6, IPPROTO_UDP, SOCK_DGRAM, PH_UDP);
	check(AF_UNIX, 0, SOCK_STREAM, PH_UNIX_PAIR);
	check(AF_UNIX, 0, SOCK_SEQPACKET, PH_UNIX_PAIR);
	check(AF_UNIX, 0, SOCK_DGRAM, PH_UNIX_PAIR);
}

/* Why a pair: a lone unix stream socket reads EINVAL, and a datagram end
 * whose peer closed still blocks, so the description must say more. */
static void test_why_a_pair(void **state)
{
	char b[4];
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
	assert_int_equal(read(fd, b, sizeof(b)), -1);
	assert_int_equal(errno, EINVAL);
	close(fd);

	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, sv), 0);
	close(sv[1]);
	assert_int_equal(read(sv[0], b, sizeof(b)), -1);
	assert_int_equal(errno, EAGAIN);
	close(sv[0]);

	struct ph_desc d;
	struct sock s = { .family = AF_UNIX, .type = SOCK_DGRAM };
	assert_int_equal(placeholder_for(&s, &d), 0);
	assert_true(d.close_peer && d.shutdown_self);
	s.type = SOCK_STREAM;
	assert_int_equal(placeholder_for(&s, &d), 0);
	assert_true(d.close_peer && !d.shutdown_self);
}

static void test_unknown(void **state)
{
	struct ph_desc d;
	struct sock s = { .family = AF_UNIX, .type = 99 };
	assert_int_equal(placeholder_for(&s, &d), -EOPNOTSUPP);
	assert_int_equal(d.kind, PH_NONE);
	struct sock raw = { .family = AF_INET, .proto = IPPROTO_ICMP, .type = SOCK_RAW };
	assert_int_equal(placeholder_for(&raw, &d), -EOPNOTSUPP);
	struct sock other = { .family = AF_PACKET };
	assert_int_equal(placeholder_for(&other, &d), -EOPNOTSUPP);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kinds),
		cmocka_unit_test(test_why_a_pair),
		cmocka_unit_test(test_unknown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
