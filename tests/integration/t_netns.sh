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
	assert_eq "$(json_count '.verify != null and (.verify | test("(fd freed|kept by a placeholder); socket (gone|closing)"))')" "$NS_LEAK" \
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
	local nblisten=$LISTEN_FD nbestab=$ESTAB_FD
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
	assert_fds "$hpid" "$hfds"
	BPID=$nbpid LEAK_FIRST=$nbfirst LEAK_LAST=$nblast FDS_BEFORE=$nbfds PORT=$nbport
	LISTEN_FD=$nblisten ESTAB_FD=$nbestab
	assert_only_leaks_closed
	assert_eq "$(ss -Htan "( sport = :$hport or dport = :$hport )" | sort)" "$host_before" \
		"host sockets of the host blocker"
	assert_eq "$(self_ns)" "$self" "the test's own namespace"
}

# A namespace pinned by nothing but sockets: nshop made it, filled it and
# went back home. Only the sockets themselves can say where they live.
test_netns_pinned_only_by_sockets() {
	need_ns_tools
	spawn "$BIN/nshop" --leak 4 --ready "$TMP/hop.json"
	local hop=$SPAWNED away port fds p found=0
	wait_for_file "$TMP/hop.json"
	eval "$(jq -r '@sh "away=\(.netns) port=\(.port) fds=\(.leak_fds | map(tostring) | join(" "))"' "$TMP/hop.json")"
	assert_eq "$(ns_ino "$hop")" "$(self_ns)" "nshop's namespace after it went home"
	local -a links
	for p in $fds; do links[p]=$(fd_link "$hop" "$p"); done
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

	run_sockreap --pid "$hop" --state close-wait --yes --json --audit-log "$TMP/audit.log"
	assert_rc 0
	assert_eq "$(json_count ".netns == $away and .result == \"done\"")" 4 "rows done in the pinned namespace"
	assert_eq "$(json_count '.verify | test("(fd freed|kept by a placeholder); socket (gone|closing)")')" 4 \
		"rows verified in the pinned namespace"
	local fd
	for fd in $fds; do
		[[ ${links[fd]} == socket:* ]] || fail "test bug: fd $fd of nshop was ${links[fd]}"
		[[ $(fd_link "$hop" "$fd") != "${links[fd]}" ]] || fail "fd $fd of nshop still ${links[fd]}"
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

# Unix sockets live in network namespaces too: unixfarm inside `unshare -n`
# is found with -x through its pid or the namespace, the peers' owners are
# shown, and a shutdown is verified by a unix_diag dump of that namespace.
test_netns_unix_sockets() {
	need_ns_tools
	mkdir -p "$TMP/socks"
	spawn unshare -n "$BIN/unixfarm" "$TMP/farm.json" "$TMP/socks"
	local farm=$SPAWNED child ns want
	wait_for_file "$TMP/farm.json"
	child=$(jq .child "$TMP/farm.json")
	track_pid "$child"
	assert_eq "$(jq .pid "$TMP/farm.json")" "$farm" "unixfarm's pid"
	ns=$(ns_ino "$farm")
	[[ $ns != "$(self_ns)" ]] || fail "test bug: unixfarm in our namespace"
	want=$(jq '[.sockets[] | .owners | length] | add' "$TMP/farm.json")

	run_sockreap -x --dry-run --json --audit-log "$TMP/audit.log"
	assert_eq "$(json_count ".pid == $farm or .pid == $child")" 0 "unixfarm rows in a plain run"
	grep -q -- "add --all-netns" "$ERR" || fail "no hint about the unix sockets in another namespace"

	local sel
	for sel in "--pid $farm,$child" "--netns $farm" "--all-netns"; do
		# shellcheck disable=SC2086
		run_sockreap -x $sel --dry-run --json --audit-log "$TMP/audit.log"
		assert_eq "$(json_count "(.pid == $farm or .pid == $child) and .netns == $ns")" "$want" \
			"unixfarm's owners found with $sel"
	done
	assert_eq "$(json_count ".pid == $farm and .local == \"$TMP/socks/seq.sock\" and .state == \"ESTAB\" and
		(.peer_owners | map(.pid) | index($child) != null)")" 1 "the seqpacket connection's peer owner"

	run_sockreap -x --pid "$farm" --path "$TMP/socks/seq.sock" --state estab --shutdown --yes --json \
		--audit-log "$TMP/audit.log"
	assert_rc 0
	# verify must read the socket where it lives: from our own namespace
	# it would look gone ("-> CLOSE")
	local shut='.result == "done" and (.verify | test("-> ESTAB, rd shut, wr shut"))'
	assert_eq "$(json_count ".netns == $ns and $shut")" 1 "shutdown of the seqpacket connection verified in its namespace"
}
