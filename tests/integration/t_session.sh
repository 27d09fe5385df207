# The operator's ssh connection (issue 10): under tmux, screen, setsid or
# nohup the sshd that holds it is no ancestor of sockreap, so the ancestor
# check alone lets --port 22 cut it. A loopback connection stands in for
# it: the blocker's ESTABLISHED socket and its peer's end, neither of them
# an ancestor; SSH_CONNECTION names it in a parent shell's environment.
source "$(dirname "${BASH_SOURCE[0]}")/inject_lib.sh"

session_start() {
	need_root
	start_blocker blocker --leak 2 --threads 1 --block nanosleep --duration-ms 60000
	# the peer's end of the ESTABLISHED connection: the "client" port
	CPORT=$(ss -Htn state established "( sport = :$PORT )" | awk '{print $4}' | sed 's/.*://' | head -1)
	[[ -n $CPORT ]] || fail "no established connection on port $PORT"
	ESTAB_BEFORE=$(fd_link "$BPID" "$ESTAB_FD")
}

# sockreap's parent shell has SSH_CONNECTION, sockreap itself does not.
reap_in_session() {
	local var=$1 value=$2
	shift 2
	OUT=$TMP/out.$RANDOM ERR=$TMP/err.$RANDOM
	env "$var=$value" bash -c 'env -u SSH_CONNECTION -u SSH_CLIENT "$@"; exit $?' sh \
		"$SOCKREAP" "$@" >"$OUT" 2>"$ERR"
	RC=$?
	echo "+ $var=$value sockreap $* -> $RC" >&2
	sed 's/^/  stdout: /' "$OUT" | head -20 >&2
	sed 's/^/  stderr: /' "$ERR" | head -20 >&2
}

assert_session_refused() {
	assert_rc 3
	[[ $(json_count '.state == "ESTAB" and .result == "refused" and (.reason | test("ssh connection"))') -eq 2 ]] ||
		fail "both ends of the session are not refused"
	[[ $(json_count '.state == "ESTAB" and .result != "refused"') -eq 0 ]] || fail "a session row was not refused"
	[[ $(fd_link "$BPID" "$ESTAB_FD") == "$ESTAB_BEFORE" ]] || fail "the session's socket was touched"
}

test_session_refused_from_parent_environment() {
	session_start
	reap_in_session SSH_CONNECTION "127.0.0.1 $CPORT 127.0.0.1 $PORT" \
		-4 --port "$PORT" --state estab --yes --json --audit-log "$TMP/audit.log"
	assert_session_refused
	# --allow-ancestors overrides it (a dry run: the test keeps its connection)
	reap_in_session SSH_CONNECTION "127.0.0.1 $CPORT 127.0.0.1 $PORT" \
		-4 --port "$PORT" --state estab --dry-run --allow-ancestors --json --audit-log "$TMP/audit.log"
	assert_rc 0
	[[ $(json_count '.state == "ESTAB" and .result == "planned"') -eq 2 ]] || fail "--allow-ancestors did not plan it"
}

test_session_refused_from_ssh_client() {
	session_start
	SSH_CLIENT="127.0.0.1 $CPORT $PORT" run_sockreap -4 --port "$PORT" --state estab --yes --json --audit-log "$TMP/audit.log"
	assert_session_refused
	# another connection on the same port is not the session
	run_sockreap -4 --port "$PORT" --state close-wait --yes --json --audit-log "$TMP/audit.log"
	assert_rc 0
}
