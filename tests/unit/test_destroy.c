/* SOCK_DESTROY requests: the full id of the dump (addresses, ports in
 * network order, interface, cookie) goes back to the kernel; its answer
 * is read strictly. */
#include "unit.h"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/inet_diag.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "destroy.h"

static void test_build_inet(void **state)
{
	uint8_t buf[512] __attribute__((aligned(8)));
	struct sock s = { .family = AF_INET6, .proto = IPPROTO_TCP, .state = SK_ESTABLISHED, .sport = 8080,
			  .dport = 40000, .ifindex = 1, .cookie = 0x1122334455667788ull };
	inet_pton(AF_INET6, "::1", s.src);
	inet_pton(AF_INET6, "fe80::2", s.dst);
	size_t len = destroy_build(buf, sizeof(buf), &s, 77);
	assert_true(len > 0);
	const struct nlmsghdr *h = (const void *)buf;
	assert_int_equal(h->nlmsg_len, len);
	assert_int_equal(h->nlmsg_type, SOCK_DESTROY);
	assert_int_equal(h->nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK);
	assert_int_equal(h->nlmsg_seq, 77);
	const struct inet_diag_req_v2 *r = mnl_nlmsg_get_payload(h);
	assert_int_equal(r->sdiag_family, AF_INET6);
	assert_int_equal(r->sdiag_protocol, IPPROTO_TCP);
	assert_int_equal(r->id.idiag_sport, htons(8080));
	assert_int_equal(r->id.idiag_dport, htons(40000));
	assert_int_equal(r->id.idiag_if, 1);
	assert_int_equal(r->id.idiag_cookie[0], 0x55667788u);
	assert_int_equal(r->id.idiag_cookie[1], 0x11223344u);
	assert_memory_equal(r->id.idiag_src, s.src, 16);
	assert_memory_equal(r->id.idiag_dst, s.dst, 16);

	struct sock u = { .family = AF_UNIX, .type = SOCK_STREAM, .inode = 4242, .cookie = 5 };
	len = destroy_build(buf, sizeof(buf), &u, 78);
	assert_true(len > 0);
	const struct unix_diag_req *ur = mnl_nlmsg_get_payload(h);
	assert_int_equal(ur->sdiag_family, AF_UNIX);
	assert_int_equal(ur->udiag_ino, 4242);
	assert_int_equal(ur->udiag_cookie[0], 5);

	struct sock other = { .family = AF_PACKET };
	assert_int_equal(destroy_build(buf, sizeof(buf), &other, 1), 0);
	assert_int_equal(destroy_build(buf, 8, &s, 1), 0); /* too small */
}

static size_t ack(uint8_t *buf, uint32_t seq, int error, uint16_t type)
{
	struct nlmsghdr *h = mnl_nlmsg_put_header(buf);
	h->nlmsg_type = type;
	h->nlmsg_seq = seq;
	struct nlmsgerr *e = mnl_nlmsg_put_extra_header(h, sizeof(*e));
	e->error = error;
	return h->nlmsg_len;
}

static void test_parse_ack(void **state)
{
	uint8_t buf[512] __attribute__((aligned(8)));
	memset(buf, 0, sizeof(buf));
	assert_int_equal(destroy_parse_ack(buf, ack(buf, 9, 0, NLMSG_ERROR), 9, 0), 0);
	assert_int_equal(destroy_parse_ack(buf, ack(buf, 9, -EOPNOTSUPP, NLMSG_ERROR), 9, 0), -EOPNOTSUPP);
	assert_int_equal(destroy_parse_ack(buf, ack(buf, 9, -EPERM, NLMSG_ERROR), 9, 0), -EPERM);
	/* not ours: read on */
	assert_int_equal(destroy_parse_ack(buf, ack(buf, 8, 0, NLMSG_ERROR), 9, 0), -EAGAIN);
	/* ours but not an ACK, or too short, or cut */
	assert_int_equal(destroy_parse_ack(buf, ack(buf, 9, 0, NLMSG_DONE), 9, 0), -EBADMSG);
	size_t len = ack(buf, 9, 0, NLMSG_ERROR);
	((struct nlmsghdr *)buf)->nlmsg_len = NLMSG_HDRLEN + 2;
	assert_int_equal(destroy_parse_ack(buf, len, 9, 0), -EBADMSG);
	len = ack(buf, 9, 0, NLMSG_ERROR);
	assert_int_equal(destroy_parse_ack(buf, len - 4, 9, 0), -EBADMSG);
}

static void test_messages(void **state)
{
	struct sock u = { .family = AF_UNIX };
	struct sock t = { .family = AF_INET, .proto = IPPROTO_TCP };
	assert_non_null(strstr(destroy_strerror(&u, -EOPNOTSUPP), "cannot destroy unix sockets"));
	assert_non_null(strstr(destroy_strerror(&t, -EOPNOTSUPP), "CONFIG_INET_DIAG_DESTROY"));
	assert_non_null(strstr(destroy_strerror(&t, -EPERM), "CAP_NET_ADMIN"));
	assert_non_null(strstr(destroy_strerror(&t, -ESTALE), "cookie"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_build_inet),
		cmocka_unit_test(test_parse_ack),
		cmocka_unit_test(test_messages),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
