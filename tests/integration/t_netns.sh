# Network namespaces (issue 11): a blocker holding CLOSE-WAIT sockets inside
# a namespace made with `unshare -n` or `ip netns add` is invisible to a
# plain run (which says so), and is found and reaped with --all-netns,
# --netns and --pid; verify re-reads the right namespace; sockreap's own
# namespace and the host's sockets are untouched; a namespace pinned only by
# a socket (its process left it) is found by asking the socket.
source "$(dirname "${BASH_SOURCE[0]}")/inject_lib.sh"

NS_LEAK=6

need_ns_tools() {
	need_root
	need_cmd ip
	need_cmd unshare
	need_cmd nsenter
	need_cmd jq
}

ns_ino() { stat -L -c %i "/proc/$1/ns/net"; }
self_ns() { stat -L -c %i /proc/self/ns/net; }

# start_blocker_in MODE: a blocker with NS_LEAK CLOSE-WAIT fds (and its
# listener, an ESTABLISHED pair, its peer child) in a new namespace: MODE
# unshare (`unshare -n`) or ipnetns (`ip netns add sr-test-$$`, deleted in
# teardown; NSNAME). Sets what start_blocker sets, and BNS.
start_blocker_in() {
	local mode=$1 i
	need_ns_tools
	READY=$TMP/b.ready.json REPORT=$TMP/b.report.json
	local inner="ip link set lo up && exec '$BIN/blocker' --leak $NS_LEAK --block nanosleep --duration-ms 120000 \
		--ready '$READY' --report '$REPORT' --fifo '$TMP/b.fifo'"
	case $mode in
	unshare) spawn unshare -n sh -c "$inner" ;;
	ipnetns)
		NSNAME=sr-test-$$
		ip netns add "$NSNAME" || fail "ip netns add $NSNAME failed"
		at_teardown "ip netns del $NSNAME"
		spawn ip netns exec "$NSNAME" sh -c "$inner"
		;;
	esac
	for ((i = 0; i < 3000; i++)); do
		[[ -s $READY ]] && break
		kill -0 "$SPAWNED" 2>/dev/null || fail "blocker in $mode namespace exited before it was ready"
		sleep 0.01
	done
	[[ -s $READY ]] || fail "blocker not ready after 30 s"
	eval "$(jq -r '@sh "PORT=\(.port) LISTEN_FD=\(.listen_fd) ESTAB_FD=\(.estab_fd) LEAK_FIRST=\(.leak_first) LEAK_LAST=\(.leak_last) FIFO=\(.fifo) PEER_PID=\(.peer_pid) BPID=\(.pid)"' "$READY")"
	track_pid "$PEER_PID"
	[[ $BPID == "$SPAWNED" ]] || track_pid "$BPID"
	FDS_BEFORE=$(fd_table "$BPID")
	BNS=$(ns_ino "$BPID")
	[[ $BNS != "$(self_ns)" ]] || fail "test bug: the blocker is in the test's own namespace"
	echo "blocker pid $BPID in net:[$BNS] ($mode) port $PORT leaks $LEAK_FIRST-$LEAK_LAST" >&2
}

in_ns_close_wait() { nsenter -t "$BPID" -n ss -Htan state close-wait "( sport = :$PORT )" | wc -l; }

# assert_reaped_in_ns: the blocker lost exactly its CLOSE-WAIT fds, the
# kernel of its namespace has none left on the port, every JSON row is
# done in that namespace and verify could read the namespace again.
assert_reaped_in_ns() {
	assert_rc 0
	assert_all_threads_untraced "$BPID"
	assert_only_leaks_closed
	assert_json_closed "$BPID"
	assert_eq "$(in_ns_close_wait)" 0 "CLOSE-WAIT sockets left in net:[$BNS]"
	assert_eq "$(json_count ".netns == $BNS")" "$NS_LEAK" "rows carrying net:[$BNS]"
	assert_eq "$(json_count '.verify != null and (.verify | test("^fd ([0-9]+ kept by a placeholder|freed); socket (gone|closing)"))')" "$NS_LEAK" \
		"rows verified in the blocker's namespace"
	assert_eq "$(jq -s "[.[] | select(.phase == \"result\" and .netns == $BNS)] | length" "$TMP/audit.log")" \
		"$NS_LEAK" "audit result records carrying net:[$BNS]"
}

# The dry run first: it must select only the blocker's sockets (so --yes
# cannot touch another test's), and --max bounds the acting run anyway.
assert_dry_selects_blocker() {
	run_sockreap --dry-run --json --audit-log "$TMP/audit.log" "$@"
	assert_rc 0
	assert_eq "$(json_count "true")" "$NS_LEAK" "dry-run rows"
	assert_eq "$(json_count ".pid == $BPID and .netns == $BNS and .state == \"CLOSE-WAIT\"")" "$NS_LEAK" \
		"dry-run rows of the blocker in net:[$BNS]"
}

invisible_case() {
	start_blocker_in "$1"
	run_sockreap --port "$PORT" --state close-wait --dry-run --json --audit-log "$TMP/audit.log"
	assert_rc 1
	[[ ! -s $OUT ]] || fail "a plain run saw sockets of another namespace"
	grep -q -- "in network namespaces this run did not search: add --all-netns" "$ERR" ||
		fail "the summary does not say that sockets were not searched, nor which flag finds them"
	assert_leaks_untouched
}

all_netns_case() {
	start_blocker_in "$1"
	assert_dry_selects_blocker --all-netns --port "$PORT" --state close-wait
	run_sockreap --all-netns --port "$PORT" --state close-wait --yes --json --max "$NS_LEAK" \
		--audit-log "$TMP/audit.log"
	assert_reaped_in_ns
	if [[ $1 == ipnetns ]]; then
		assert_eq "$(json_count ".netns_name == \"$NSNAME\"")" "$NS_LEAK" "rows naming $NSNAME"
	else
		assert_eq "$(json_count '.netns_name == null')" "$NS_LEAK" "rows of an unnamed namespace"
	fi
}

netns_flag_case() {
	start_blocker_in "$1"
	local spec=$BPID
	if [[ $1 == ipnetns ]]; then
		spec=$NSNAME
		assert_dry_selects_blocker --netns "/run/netns/$NSNAME" --port "$PORT" --state close-wait
	fi
	assert_dry_selects_blocker --netns "/proc/$BPID/ns/net" --port "$PORT" --state close-wait
	run_sockreap --netns "$spec" --port "$PORT" --state close-wait --yes --json --max "$NS_LEAK" \
		--audit-log "$TMP/audit.log"
	assert_reaped_in_ns
}

pid_case() {
	start_blocker_in "$1"
	assert_dry_selects_blocker --pid "$BPID" --state close-wait
	run_sockreap --pid "$BPID" --state close-wait --yes --json --audit-log "$TMP/audit.log"
	assert_reaped_in_ns
}

for _mode in unshare ipnetns; do
	eval "test_netns_${_mode}_invisible_without_flags() { invisible_case $_mode; }"
	eval "test_netns_${_mode}_all_netns() { all_netns_case $_mode; }"
	eval "test_netns_${_mode}_netns_flag() { netns_flag_case $_mode; }"
	eval "test_netns_${_mode}_pid() { pid_case $_mode; }"
done
unset _mode

# sockreap's own namespace is the same before, during (it says so with -v)
# and after; a blocker in the host namespace keeps every socket while the
# one in the named namespace is reaped.
test_netns_own_namespace_and_host_untouched() {
	start_blocker_in ipnetns
	local nbpid=$BPID nbns=$BNS nbport=$PORT nbfirst=$LEAK_FIRST nblast=$LEAK_LAST nbfds=$FDS_BEFORE
	BLK=h start_blocker blocker --leak 3 --block nanosleep --duration-ms 120000
	local hpid=$BPID hport=$PORT hfds=$FDS_BEFORE
	local host_before
	host_before=$(ss -Htan "( sport = :$hport or dport = :$hport )" | sort)
	[[ $(wc -l <<<"$host_before") -ge 5 ]] || fail "test bug: host blocker sockets not seen"

	run_sockreap --netns "$NSNAME" --state close-wait --yes --json -v --max "$NS_LEAK" --audit-log "$TMP/audit.log"
	assert_rc 0
	local self
	self=$(self_ns)
	grep -q "own network namespace net:\[$self\] at the end (net:\[$self\] at the start)" "$ERR" ||
		fail "sockreap does not report its own namespace net:[$self] unchanged"
	assert_eq "$(json_count ".pid == $nbpid and .netns == $nbns and .result == \"done\"")" "$NS_LEAK" \
		"rows done in the named namespace"
	assert_eq "$(json_count ".netns != $nbns")" 0 "rows outside the named namespace"
	BPID=$nbpid LEAK_FIRST=$nbfirst LEAK_LAST=$nblast FDS_BEFORE=$nbfds PORT=$nbport
	assert_leaks_replaced "$nbpid"
	assert_fds "$hpid" "$hfds"
	assert_eq "$(ss -Htan "( sport = :$hport or dport = :$hport )" | sort)" "$host_before" \
		"host sockets of the host blocker"
	assert_eq "$(self_ns)" "$self" "the test's own namespace"
}

# A namespace pinned by nothing but sockets: nshop made it, filled it and
# went back home. Only the sockets themselves can say where they live.
test_netns_pinned_only_by_sockets() {
	need_ns_tools
	spawn "$BIN/nshop" --leak 4 --ready "$TMP/hop.json"
	local hop=$SPAWNED away port first last p found=0
	wait_for_file "$TMP/hop.json"
	eval "$(jq -r '@sh "away=\(.netns) port=\(.port) first=\(.leak_first) last=\(.leak_last)"' "$TMP/hop.json")"
	assert_eq "$(ns_ino "$hop")" "$(self_ns)" "nshop's namespace after it went home"
	for p in /proc/[0-9]*/ns/net; do
		[[ $(stat -L -c %i "$p" 2>/dev/null) == "$away" ]] && found=$((found + 1))
	done
	assert_eq "$found" 0 "processes in the namespace nshop left"

	run_sockreap --port "$port" --state close-wait --dry-run --json --audit-log "$TMP/audit.log"
	assert_rc 1
	grep -q -- "add --all-netns" "$ERR" || fail "no hint about the sockets in the namespace nobody is in"

	run_sockreap --all-netns --port "$port" --state close-wait --dry-run --json --audit-log "$TMP/audit.log"
	assert_rc 0
	assert_eq "$(json_count "true")" 4 "rows found with --all-netns"
	assert_eq "$(json_count ".pid == $hop and .netns == $away")" 4 "rows of nshop in the namespace it left"

	local fd before=()
	for ((fd = first; fd <= last; fd++)); do
		before[fd]=$(fd_link "$hop" "$fd")
	done
	run_sockreap --pid "$hop" --state close-wait --yes --json --audit-log "$TMP/audit.log"
	assert_rc 0
	assert_eq "$(json_count ".netns == $away and .result == \"done\"")" 4 "rows done in the pinned namespace"
	assert_eq "$(json_count '.verify | test("^fd ([0-9]+ kept by a placeholder|freed); socket (gone|closing)")')" 4 \
		"rows verified in the pinned namespace"
	# the default close keeps each number with a placeholder of its own
	# (fds in the range that were no socket are not the leak)
	for ((fd = first; fd <= last; fd++)); do
		[[ ${before[fd]} == socket:* ]] || continue
		[[ $(fd_link "$hop" "$fd") == socket:* && $(fd_link "$hop" "$fd") != "${before[fd]}" ]] ||
			fail "fd $fd of nshop: ${before[fd]} before, $(fd_link "$hop" "$fd") now (expected a placeholder)"
	done
}

test_netns_bad_input() {
	need_root
	local a
	for a in "--netns sr-no-such-namespace-$$" "--netns /etc/hostname" "--netns 2147483647" \
		"--netns /nonexistent/x" "--netns ."; do
		# shellcheck disable=SC2086
		run_sockreap $a --dry-run --audit-log "$TMP/audit.log"
		assert_rc 2
		[[ $(wc -l <"$ERR") -eq 1 ]] && grep -q -- "--netns" "$ERR" ||
			fail "'$a': expected one line naming --netns"
	done
	run_sockreap --netns "" --dry-run --audit-log "$TMP/audit.log"
	assert_rc 2
	run_sockreap --netns 1 --all-netns --dry-run --audit-log "$TMP/audit.log"
	assert_rc 2
	grep -q -- "--all-netns" "$ERR" || fail "conflict not named"
	run_sockreap --explain --shutdown --audit-log "$TMP/audit.log"
	assert_rc 2
	run_sockreap --container "bad name" --audit-log "$TMP/audit.log"
	assert_rc 2
	grep -q -- "--container" "$ERR" || fail "--container not named"
}

# Unix sockets live in network namespaces too: a farm of them in a namespace
# of its own is not in a plain run's dump, is found where it lives by owner
# and by --all-netns (with the peers' owners from the same pass), and a
# shutdown on one is verified by a dump of that namespace.
test_netns_unix_sockets() {
	need_ns_tools
	mkdir -p "$TMP/socks"
	spawn unshare -n "$BIN/unixfarm" "$TMP/farm.json" "$TMP/socks"
	local farm=$SPAWNED child ns inodes n ino fd
	wait_for_file "$TMP/farm.json"
	child=$(jq .child "$TMP/farm.json")
	track_pid "$child"
	assert_eq "$(jq .pid "$TMP/farm.json")" "$farm" "the farm's pid"
	ns=$(ns_ino "$farm")
	[[ $ns != "$(self_ns)" ]] || fail "test bug: the farm is in the test's own namespace"
	inodes=$(jq -r '[.sockets[].inode | select(. > 0)] | join(",")' "$TMP/farm.json")
	n=$(jq '[.sockets[].inode | select(. > 0)] | length' "$TMP/farm.json")
	[[ $n -ge 19 ]] || fail "test bug: the farm lists $n sockets"

	run_sockreap -x --inode "$inodes" --dry-run --json --allow-listen --audit-log "$TMP/audit.log"
	assert_rc 1

	run_sockreap -x --pid "$farm,$child" --dry-run --json --allow-listen --audit-log "$TMP/audit.log"
	assert_rc 0
	assert_eq "$(json_count "true")" "$n" "unix rows of the farm, by owner"
	assert_eq "$(json_count ".family == \"unix\" and .netns == $ns")" "$n" "unix rows carrying net:[$ns]"
	[[ $(json_count ".peer_inode > 0 and (.peer_owners | map(.pid) | index($child)) != null") -ge 3 ]] ||
		fail "the child's ends are not shown as peer owners"

	run_sockreap --all-netns -x --inode "$inodes" --dry-run --json --allow-listen --audit-log "$TMP/audit.log"
	assert_rc 0
	assert_eq "$(json_count ".netns == $ns")" "$n" "unix rows found with --all-netns in net:[$ns]"

	ino=$(jq '.sockets[] | select(.name == "pstr0") | .inode' "$TMP/farm.json")
	fd=$(jq '.sockets[] | select(.name == "pstr0") | .owners[0][1]' "$TMP/farm.json")
	run_sockreap -x --pid "$farm" --inode "$ino" --shutdown --yes --json --audit-log "$TMP/audit.log"
	assert_rc 0
	assert_eq "$(json_count ".netns == $ns and .result == \"done\"")" 1 "shutdown done in net:[$ns]"
	[[ $(jq -r .verify "$OUT") == *"wr shut"* ]] ||
		fail "verify did not read the socket again in its namespace: $(jq -r .verify "$OUT")"
	[[ $(fd_link "$farm" "$fd") == "socket:[$ino]" ]] || fail "shutdown took the fd"
}

# --destroy in another namespace: SOCK_DESTROY only works from inside the
# socket's own namespace, so the request goes over the sock_diag socket made
# there. Every CLOSE-WAIT socket is destroyed (not "no such socket"), the
# kernel of that namespace has none left, the blocker keeps its fds.
test_netns_destroy_in_namespace() {
	start_blocker_in unshare
	local before
	before=$(fd_table "$BPID")
	run_sockreap --pid "$BPID" --state close-wait --destroy --yes --json --audit-log "$TMP/audit.log"
	assert_rc 0
	assert_eq "$(json_count ".netns == $BNS and .action == \"destroy\" and .result == \"done\"")" "$NS_LEAK" \
		"rows destroyed in net:[$BNS]"
	assert_eq "$(json_count '.verify | test("^socket gone")')" "$NS_LEAK" "rows verified gone in net:[$BNS]"
	assert_eq "$(in_ns_close_wait)" 0 "CLOSE-WAIT sockets left in net:[$BNS]"
	assert_fds "$BPID" "$before"
}
