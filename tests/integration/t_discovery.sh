# Discovery (issue 2): sockreap's JSON against the sockets tests/bin/sockfarm
# made and describes in its ready file. Every expectation is derived from
# that file, none is hard-coded.

farm_start() {
	need_root
	spawn "$BIN/sockfarm" "$TMP/farm.json"
	FARM=$SPAWNED
	wait_for_file "$TMP/farm.json"
	CHILD=$(jq .child "$TMP/farm.json")
	track_pid "$CHILD"
	P4=$(jq '.sockets[] | select(.name == "l4") | .lport' "$TMP/farm.json")
	P6=$(jq '.sockets[] | select(.name == "l6") | .lport' "$TMP/farm.json")
}

# expected JQ-PREDICATE: "pid fd state local-port" of the farm's sockets
# the predicate selects, one line per owner, sorted.
expected() {
	jq -r ".sockets[] | select($1) | . as \$s | .owners[] | \"\(.[0]) \(.[1]) \(\$s.state) \(\$s.lport)\"" \
		"$TMP/farm.json" | sort
}

# reported ARGS...: the same lines from sockreap --dry-run --json, limited
# to the farm's processes (the host may have other sockets matching).
reported() {
	run_sockreap --dry-run --json --audit-log "$TMP/audit.log" "$@"
	jq -r "select(.pid == $FARM or .pid == $CHILD) | \"\(.pid) \(.fd) \(.state) \(.local | sub(\".*:\"; \"\"))\"" "$OUT" | sort
}

check() {
	local pred=$1
	shift
	local want got
	want=$(expected "$pred")
	got=$(reported "$@")
	[[ -n $want ]] || fail "test bug: the predicate selects nothing"
	[[ $got == "$want" ]] || fail "sockreap $* reported:
$got
expected:
$want"
}

test_port_either_end() {
	farm_start
	check ".lport == $P4 or .rport == $P4" --port "$P4"
}

test_sport_and_dport() {
	farm_start
	check ".lport == $P4" --sport "$P4"
	check ".rport == $P4" --dport "$P4"
}

test_port_list_and_range() {
	farm_start
	local lo=$((P4 < P6 ? P4 : P6)) hi=$((P4 < P6 ? P6 : P4))
	check ".lport == $P4 or .lport == $P6" --sport "$P4,$P6"
	check ".lport >= $lo and .lport <= $hi and .proto == \"tcp\"" --sport "$lo-$hi" -t
}

test_state_spellings() {
	farm_start
	local s
	for s in CLOSE_WAIT close-wait Close_Wait closewait; do
		check '.state == "CLOSE-WAIT"' --state "$s" --pid "$FARM,$CHILD"
	done
	check '.state == "CLOSE-WAIT" or .state == "LISTEN"' -s close-wait,listen --pid "$FARM,$CHILD"
	check '.proto == "tcp" and .state == "ESTAB"' -t -s established --pid "$FARM,$CHILD"
}

test_protocols_and_families() {
	farm_start
	check '.proto == "udp"' -u --pid "$FARM,$CHILD"
	check '.proto == "tcp" and .family == "ipv6"' -t -6 --pid "$FARM,$CHILD"
	check '.family == "ipv4"' -4 --pid "$FARM,$CHILD"
	check 'true' -4 -6 --pid "$FARM,$CHILD"
}

test_addresses_v4_v6() {
	farm_start
	check '.family == "ipv4"' --src 127.0.0.0/8 --pid "$FARM,$CHILD"
	check '.family == "ipv6"' --src ::1 --pid "$FARM,$CHILD"
	check '.family == "ipv6" and .rport != 0' --dst '[::1]/128' --pid "$FARM,$CHILD"
}

test_owner_filters() {
	farm_start
	run_sockreap --dry-run --json --audit-log "$TMP/audit.log" --pid "$CHILD"
	assert_rc 0
	[[ $(jq -r .pid "$OUT" | sort -u) == "$CHILD" ]] || fail "--pid $CHILD reported other pids"
	check 'true' --comm sockfarm --uid 0 --pid "$FARM,$CHILD"
	local ino
	ino=$(jq -r 'select(.fd != null) | .inode' "$OUT" | head -1)
	run_sockreap --dry-run --json --audit-log "$TMP/audit.log" --inode "$ino"
	assert_rc 0
	[[ $(jq -r .inode "$OUT" | sort -u) == "$ino" ]] || fail "--inode $ino reported other sockets"
}

# A shared socket lists every owner: both processes, and the dup()ed fd.
test_shared_socket_owners() {
	farm_start
	local port
	port=$(jq '.sockets[] | select(.name == "cw4") | .rport' "$TMP/farm.json")
	check '.name == "cw4"' --dport "$port" -s close-wait
	run_sockreap --dry-run --json --audit-log "$TMP/audit.log" --dport "$port" -s close-wait
	[[ $(jq -s 'map(.owners) | unique | .[0]' "$OUT") == 3 ]] || fail "owners count is not 3"
}

test_nothing_matches_exit_1() {
	farm_start
	run_sockreap --dry-run --json --audit-log "$TMP/audit.log" --port "$P4" --state syn-sent
	assert_rc 1
	[[ ! -s $OUT ]] || fail "output for no match"
}

test_table_and_summary() {
	farm_start
	run_sockreap --dry-run --audit-log "$TMP/audit.log" --pid "$FARM" -s close-wait
	assert_rc 0
	grep -q '^PROTO  *STATE  *LOCAL  *PEER' "$OUT" || fail "no table header"
	[[ $(grep -c "sockfarm/$FARM/" "$OUT") == $(expected ".state == \"CLOSE-WAIT\"" | grep -c "^$FARM ") ]] ||
		fail "table rows do not match the farm"
	grep -q '^sockreap: 2 sockets, 1 process; dry run' "$ERR" || fail "summary line missing or wrong"
	run_sockreap --dry-run -q --audit-log "$TMP/audit.log" --pid "$FARM" -s close-wait
	[[ ! -s $ERR ]] || fail "-q still printed on stderr"
}

# Dry run: the farm's fd tables are byte for byte the same, never traced.
test_dry_run_touches_nothing() {
	farm_start
	local before after
	before=$(ls -l "/proc/$FARM/fd" "/proc/$CHILD/fd"; cat "/proc/$FARM/status" | grep -E 'TracerPid|SigBlk')
	run_sockreap --dry-run --audit-log "$TMP/audit.log" --pid "$FARM,$CHILD" --allow-listen
	assert_rc 0
	after=$(ls -l "/proc/$FARM/fd" "/proc/$CHILD/fd"; cat "/proc/$FARM/status" | grep -E 'TracerPid|SigBlk')
	[[ $before == "$after" ]] || fail "the dry run changed the target"
}

# The owner's event loop still watching an fd is shown (epoll), with a
# warning for close; only the registered (pid, fd) is flagged.
test_epoll_watched() {
	farm_start
	local wpid wfd port
	wpid=$(jq '.epoll_watches[0]' "$TMP/farm.json")
	wfd=$(jq '.epoll_watches[1]' "$TMP/farm.json")
	port=$(jq '.sockets[] | select(.name == "cw4") | .rport' "$TMP/farm.json")
	run_sockreap --dry-run --json --audit-log "$TMP/audit.log" --dport "$port" -s close-wait
	assert_rc 0
	[[ $(jq -c 'select(.epoll) | [.pid, .fd]' "$OUT") == "[$wpid,$wfd]" ]] || fail "epoll flag on the wrong rows"
	# the default close re-registers the placeholder: no warning; freeing
	# the number is the risky case
	jq -se 'map(select(.epoll)) | length == 1 and all(.[]; (.note // "") | test("event loop") | not)' "$OUT" >/dev/null ||
		fail "an epoll warning for the default close"
	run_sockreap --dry-run --json --audit-log "$TMP/audit.log" --dport "$port" -s close-wait --free-fd
	jq -se 'map(select(.epoll)) | .[0].note | test("default close")' "$OUT" >/dev/null || fail "no hint for --free-fd"
	run_sockreap --dry-run --json --audit-log "$TMP/audit.log" --dport "$port" -s close-wait --shutdown
	[[ $(jq -r 'select(.epoll) | .note' "$OUT") == null ]] || fail "a warning for --shutdown"
}
