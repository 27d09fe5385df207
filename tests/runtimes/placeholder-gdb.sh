#!/bin/bash
# Developer tool, not used by CI: the reuse-safe close done by hand with gdb,
# to check that tests/integration/t_runtimes.sh is right before sockreap
# does it itself (RT_REAPER=gdb bash tests/integration/run.sh t_runtimes).
#
#   tests/runtimes/placeholder-gdb.sh [--reset | --free-fd] PID FD...
#
# For each FD (a TCP socket of PID), inside PID through gdb:
#   ph = socket(FD's family (getsockname), SOCK_STREAM | SOCK_NONBLOCK if
#        the old file had O_NONBLOCK, 0); shutdown(ph, SHUT_RDWR) (returns
#        ENOTCONN, works)
#   --reset: setsockopt(FD, SOL_SOCKET, SO_LINGER, {1, 0}) first
#   epoll_ctl(E, EPOLL_CTL_DEL, FD) for every epoll fd E of PID that has FD
#        registered (matched on tfd and the socket's inode in its fdinfo)
#   dup3(ph, FD, O_CLOEXEC if the old fd had it)
#   epoll_ctl(E, EPOLL_CTL_ADD, FD, {same events, same data}) for each of them
#   close(ph)
# --free-fd: only close(FD) (what the number-freeing close does).
#
# Limits: the epoll registrations are read from /proc before gdb stops the
# target, so a registration the program changes in between is re-added as it
# was read; a disarmed EPOLLONESHOT entry (events 40000000 alone) is not
# re-added (re-adding would fire it). IPv4/IPv6 TCP only. The target must
# have libc's socket/dup3/epoll_ctl/mmap symbols (any dynamically linked
# program). Prints one line per fd: "FD old-inode -> link".
set -euo pipefail
mode=placeholder
case ${1:-} in
--reset) mode=reset; shift ;;
--free-fd) mode=free; shift ;;
esac
[[ $# -ge 2 ]] || { echo "usage: $0 [--reset|--free-fd] PID FD..." >&2; exit 2; }
pid=$1
shift
command -v gdb >/dev/null || { echo "$0: needs gdb" >&2; exit 4; }

O_CLOEXEC=$((0x80000)) O_NONBLOCK=$((0x800)) SOCK_STREAM=1

# Everything about the target is read before gdb stops it, with shell
# builtins only (the program keeps running meanwhile: be quick).
# (The socket's family is asked inside, with getsockname: /proc/net/tcp
# can be long.)
declare -A link regs
while read -r f l; do link[$f]=$l; done < <(find "/proc/$pid/fd" -mindepth 1 -printf '%f %l\n' 2>/dev/null)
# regs["TFD INODE(hex)"]: "EPFD EVENTS DATA" lines, one per epoll fd of the
# target that has it registered.
for e in "${!link[@]}"; do
	[[ ${link[$e]} == "anon_inode:[eventpoll]" ]] || continue
	while read -r k tfd _ ev _ data _ ino _; do
		[[ $k == tfd: ]] || continue
		regs["$tfd ${ino#ino:}"]+="$e $ev $data"$'\n'
	done <"/proc/$pid/fdinfo/$e" 2>/dev/null
done

cmds=$(mktemp)
trap 'rm -f "$cmds"' EXIT
{
	echo "set language c"
	echo "set pagination off"
	echo "set confirm off"
	echo "set unwindonsignal on"
	echo "set scheduler-locking on"
	for s in SIGSEGV SIGBUS SIGURG SIGPIPE SIGUSR1 SIGUSR2 SIGCHLD SIGPROF SIGALRM SIGWINCH SIGQUIT; do
		echo "handle $s nostop noprint pass"
	done
	echo 'set $buf = (long)mmap((long)0, (long)4096, 3, 0x22, -1, (long)0)'
	echo 'if $buf == -1'
	echo '  printf "ERR mmap\n"'
	echo '  quit 1'
	echo 'end'
} >"$cmds"

declare -A old
for fd in "$@"; do
	l=${link[$fd]:-}
	[[ -n $l ]] || { echo "$0: pid $pid has no fd $fd" >&2; exit 1; }
	[[ $l =~ ^socket:\[([0-9]+)\]$ ]] || { echo "$0: fd $fd is $l, not a socket" >&2; exit 1; }
	ino=${BASH_REMATCH[1]}
	old[$fd]=$ino
	if [[ $mode == free ]]; then
		printf 'set $r = (int)close(%d)\nprintf "close(%d) = %%d\\n", $r\n' "$fd" "$fd" >>"$cmds"
		continue
	fi
	fl=0
	while read -r k v; do [[ $k == flags: ]] && fl=$v; done <"/proc/$pid/fdinfo/$fd"
	type=$SOCK_STREAM
	(((8#$fl) & O_NONBLOCK)) && type=$((type | O_NONBLOCK))
	cloexec=0
	(((8#$fl) & O_CLOEXEC)) && cloexec=$O_CLOEXEC
	printf -v inohex '%x' "$ino"
	mapfile -t myregs < <(printf '%s' "${regs["$fd $inohex"]:-}")
	{
		# family = getsockname(fd)'s sa_family (sockaddr at $buf+64, len at $buf+32)
		printf 'set *(int *)($buf + 32) = 128\n'
		printf 'set $r = (int)getsockname(%d, $buf + 64, $buf + 32)\n' "$fd"
		printf 'set $fam = *(unsigned short *)($buf + 64)\n'
		printf 'if $r != 0 || ($fam != 2 && $fam != 10)\n  printf "ERR fd %d is not an IPv4/IPv6 socket\\n"\n  quit 1\nend\n' "$fd"
		printf 'set $ph = (int)socket($fam, %d, 0)\n' "$type"
		printf 'if $ph < 0\n  printf "ERR socket for fd %d\\n"\n  quit 1\nend\n' "$fd"
		printf 'set $r = (int)shutdown($ph, 2)\n'
		if [[ $mode == reset ]]; then
			printf 'set *(int *)$buf = 1\nset *(int *)($buf + 4) = 0\n'
			printf 'set $r = (int)setsockopt(%d, 1, 13, $buf, 8)\n' "$fd"
			printf 'if $r != 0\n  printf "ERR SO_LINGER on fd %d\\n"\n  quit 1\nend\n' "$fd"
		fi
		for r in "${myregs[@]}"; do
			read -r epfd ev data <<<"$r"
			printf 'set $r = (int)epoll_ctl(%d, 2, %d, (long)0)\n' "$epfd" "$fd"
			printf 'printf "epoll %d DEL fd %d = %%d\\n", $r\n' "$epfd" "$fd"
		done
		printf 'set $r = (int)dup3($ph, %d, %d)\n' "$fd" "$cloexec"
		printf 'if $r != %d\n  printf "ERR dup3 onto fd %d\\n"\n  quit 1\nend\n' "$fd" "$fd"
		for r in "${myregs[@]}"; do
			read -r epfd ev data <<<"$r"
			if [[ $((16#$ev & ~0x40000000)) -eq 0 ]]; then
				printf 'printf "epoll %d fd %d: disarmed EPOLLONESHOT, not re-added\\n"\n' "$epfd" "$fd"
				continue
			fi
			printf 'set *(unsigned int *)$buf = 0x%s\n' "$ev"
			printf 'set *(unsigned long *)($buf + 4) = 0x%s\n' "$data"
			printf 'set $r = (int)epoll_ctl(%d, 1, %d, $buf)\n' "$epfd" "$fd"
			printf 'printf "epoll %d ADD fd %d events 0x%s data 0x%s = %%d\\n", $r\n' \
				"$epfd" "$fd" "$ev" "$data"
		done
		printf 'set $r = (int)close($ph)\n'
	} >>"$cmds"
done
echo 'set $r = (int)munmap($buf, (long)4096)' >>"$cmds"
echo 'detach' >>"$cmds"
echo 'quit 0' >>"$cmds"

out=$(timeout -k 5 120 gdb -nx -q -batch -iex 'set auto-load off' \
	-iex 'set debuginfod enabled off' -p "$pid" -x "$cmds" 2>&1) || {
	echo "$out" >&2
	echo "$0: gdb failed on pid $pid" >&2
	exit 1
}
grep -E '^(ERR|epoll|close\()' <<<"$out" || true
for fd in "$@"; do
	echo "$fd ${old[$fd]} -> $(readlink "/proc/$pid/fd/$fd" 2>/dev/null || echo '(none)')"
done
