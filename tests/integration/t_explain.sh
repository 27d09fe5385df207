# --explain (issue 11): tests/bin/portstate leaves a TIME-WAIT port, an
# orphaned FIN-WAIT-2, a listener with a full accept queue and a normal
# listener; --explain must say who holds each socket or why nobody does,
# the accept-queue fill, and a command that does what it says. It is
# read-only: no audit record, no attach.

ps_start() {
	need_root
	need_cmd jq
	need_cmd ss
	local mode=${1:-host} i
	PSREADY=$TMP/ps.ready.json
	if [[ $mode == host ]]; then
		spawn "$BIN/portstate" --ready "$PSREADY"
	else
		need_cmd unshare
		spawn unshare -n sh -c "ip link set lo up && exec '$BIN/portstate' --ready '$PSREADY'"
	fi
	for ((i = 0; i < 2000; i++)); do
		[[ -s $PSREADY ]] && break
		kill -0 "$SPAWNED" 2>/dev/null || fail "portstate exited before it was ready"
		sleep 0.01
	done
	[[ -s $PSREADY ]] || fail "portstate not ready"
	eval "$(jq -r '@sh "PS=\(.pid) FULL=\(.full_port) NORMAL=\(.normal_port) TW=\(.tw_port) ORPHAN=\(.orphan_port)"' "$PSREADY")"
	[[ $PS == "$SPAWNED" ]] || track_pid "$PS"
	PSNS=$(stat -L -c %i "/proc/$PS/ns/net")
}

explain() {
	run_sockreap --explain --audit-log "$TMP/audit.log" "$@"
}

# one OBJ: the single JSON object of $OUT matching the jq FILTER
one() {
	local n
	n=$(jq -s "[.[] | select($1)] | length" "$OUT")
	[[ $n == 1 ]] || fail "expected one object with $1, got $n: $(cat "$OUT")"
	jq -c "select($1)" "$OUT"
}

assert_read_only() {
	[[ ! -e $TMP/audit.log ]] || fail "--explain wrote the audit log"
	[[ $(awk '/^TracerPid:/ {print $2}' "/proc/$PS/status") == 0 ]] || fail "portstate is traced"
	[[ $(awk '/^State:/ {print $2}' "/proc/$PS/status") != t ]] || fail "portstate left stopped"
}

test_explain_time_wait() {
	ps_start
	explain --port "$TW" --json
	assert_rc 0
	local o
	o=$(one '.state == "TIME-WAIT"')
	jq -e '.why == "time-wait" and .holders == [] and .port == '"$TW"' and .port_side == "local"
		and .expires_ms > 0 and .expires_ms <= 60000 and .sockreap_can_act == false' <<<"$o" >/dev/null ||
		fail "TIME-WAIT not explained as such: $o"
	local cmd
	cmd=$(jq -r .command <<<"$o")
	assert_eq "$cmd" "sockreap --destroy --sport $TW --state time-wait -t" "the command for TIME-WAIT"
	explain --port "$TW"
	assert_rc 0
	grep -q "in TIME-WAIT, held by no process" "$OUT" || fail "text does not say nobody holds it"
	grep -Eq "it ends in [0-9]+ s" "$OUT" || fail "text does not say how long it has left"
	grep -qF "$cmd" "$OUT" || fail "text lacks the command"
	# the command does what explain says: afterwards the port is free
	# shellcheck disable=SC2086
	run_sockreap ${cmd#sockreap } --yes --audit-log "$TMP/destroy.log"
	assert_rc 0
	[[ -z $(ss -Htan state time-wait "( sport = :$TW )") ]] || fail "'$cmd' left the TIME-WAIT socket"
	rm -f "$TMP/destroy.log"
	explain --port "$TW"
	assert_rc 1
	grep -q "^Port $TW: nothing holds it in the .* searched; it is free to bind" "$OUT" ||
		fail "a free port is not said to be free"
	assert_read_only
}

test_explain_orphan_and_its_peer() {
	ps_start
	explain --port "$ORPHAN" --json
	assert_rc 0
	local o p
	o=$(one '.state == "FIN-WAIT-2"')
	jq -e '.why == "orphan" and .holders == [] and .expires_ms > 0 and .port_side == "local"' <<<"$o" >/dev/null ||
		fail "orphan not explained: $o"
	assert_eq "$(jq -r .command <<<"$o")" "sockreap --destroy --sport $ORPHAN --state fin-wait-2 -t" "the orphan's command"
	p=$(one '.state == "CLOSE-WAIT"')
	jq -e ".why == \"close-wait-leak\" and .holders[0].pid == $PS and .port_side == \"peer\" and .sockreap_can_act" \
		<<<"$p" >/dev/null || fail "the peer's CLOSE-WAIT end not explained: $p"
	local cmd
	cmd=$(jq -r .command <<<"$p")
	assert_eq "$cmd" "sockreap --pid $PS --dport $ORPHAN --state close-wait -t" "the CLOSE-WAIT command"
	# the command selects exactly that socket
	# shellcheck disable=SC2086
	run_sockreap ${cmd#sockreap } --dry-run --json --audit-log "$TMP/dry.log"
	assert_rc 0
	assert_eq "$(jq -s "[.[] | select(.pid == $PS and .state == \"CLOSE-WAIT\")] | length" "$OUT")/$(jq -s length "$OUT")" \
		"1/1" "rows the suggested command selects"
	explain --port "$ORPHAN"
	grep -q "orphaned connection in FIN-WAIT-2, held by no process" "$OUT" || fail "text: no orphan"
	grep -q "CLOSE-WAIT, held by portstate (pid $PS" "$OUT" || fail "text: no holder for the CLOSE-WAIT end"
	rm -f "$TMP/dry.log"
	assert_read_only
}

test_explain_full_accept_queue() {
	ps_start
	explain --port "$FULL" --json
	assert_rc 0
	local l
	l=$(one '.state == "LISTEN"')
	jq -e ".why == \"listener\" and .accept_queue == 2 and .backlog == 1 and .accept_queue_full == true
		and .holders[0].pid == $PS" <<<"$l" >/dev/null || fail "full listener not explained: $l"
	assert_eq "$(jq -s '[.[] | select(.why == "accept-queue" and .holders == [] and .state == "ESTAB")] | length' "$OUT")" \
		2 "connections waiting in the accept queue"
	local cmd
	cmd=$(jq -r .command <<<"$l")
	assert_eq "$cmd" "sockreap --pid $PS --sport $FULL --state listen -t --allow-listen" "the listener's command"
	# shellcheck disable=SC2086
	run_sockreap ${cmd#sockreap } --dry-run --json --audit-log "$TMP/dry.log"
	assert_eq "$(jq -s -c '[.[] | {pid, state, result}]' "$OUT")" "[{\"pid\":$PS,\"state\":\"LISTEN\",\"result\":\"planned\"}]" \
		"what the listener's command selects"
	rm -f "$TMP/dry.log"
	explain --port "$FULL"
	grep -q "Accept queue FULL: 2 connections wait to be accepted, the backlog is 1" "$OUT" ||
		fail "text does not say the accept queue is full"
	grep -q "waiting in the accept queue" "$OUT" || fail "text does not explain the queued connections"
	assert_read_only
}

test_explain_normal_listener() {
	ps_start
	explain --port "$NORMAL" --json
	assert_rc 0
	local l
	l=$(one '.state == "LISTEN"')
	jq -e ".accept_queue == 0 and .backlog == 16 and .accept_queue_full == false and .holders[0].pid == $PS
		and (.holders[0].fd | type) == \"number\" and .netns == $PSNS" <<<"$l" >/dev/null ||
		fail "normal listener not explained: $l"
	assert_eq "$(jq -s "[.[] | select(.state == \"ESTAB\" and .holders[0].pid == $PS)] | length" "$OUT")" 2 \
		"both ends of the accepted connection, held"
	explain --port "$NORMAL"
	grep -q "Accept queue: empty (backlog 16)" "$OUT" || fail "text: accept queue"
	grep -q "Listening on 127.0.0.1:$NORMAL: held by portstate (pid $PS; fd " "$OUT" || fail "text: holder"
	grep -q "in sockreap's own network namespace" "$OUT" || fail "text: namespace"
	assert_read_only
}

# In a namespace of its own: found by default, named, and the kernel-side
# command runs there.
test_explain_other_namespace() {
	ps_start unshare
	[[ $PSNS != "$(stat -L -c %i /proc/self/ns/net)" ]] || fail "test bug: portstate in our namespace"
	explain --port "$NORMAL,$TW" --json
	assert_rc 0
	assert_eq "$(jq -s "[.[] | select(.netns != $PSNS)] | length" "$OUT")" 0 "objects outside portstate's namespace"
	local cmd
	cmd=$(jq -r 'select(.state == "TIME-WAIT") | .command' "$OUT")
	assert_eq "$cmd" "sockreap --destroy --sport $TW --state time-wait -t --netns $PS" "command in the other namespace"
	explain --port "$NORMAL"
	grep -q "in network namespace net:\[$PSNS\]" "$OUT" || fail "text does not name the namespace"
	grep -q "another network namespace than sockreap's" "$OUT" || fail "text does not say the listener is elsewhere"
	explain --netns "$PS" --port "$NORMAL" --json
	assert_rc 0
	explain --port "$NORMAL" --pid "$PS" --json
	assert_rc 0
	assert_eq "$(jq -s "[.[] | select(.holders[0].pid == $PS)] | length" "$OUT")" 3 "held sockets found through --pid"
	# shellcheck disable=SC2086
	run_sockreap ${cmd#sockreap } --yes --audit-log "$TMP/destroy.log"
	assert_rc 0
	[[ -z $(nsenter -t "$PS" -n ss -Htan state time-wait "( sport = :$TW )") ]] || fail "'$cmd' did not remove it"
	rm -f "$TMP/destroy.log"
	assert_read_only
}
