# Bad input (issue 2): exit 2, exactly one line on stderr naming the flag
# and the value, nothing on stdout. Runs unprivileged paths only.

# bad FLAG-IN-MESSAGE VALUE-IN-MESSAGE ARGS...
bad() {
	local flag=$1 value=$2
	shift 2
	run_sockreap "$@"
	[[ $RC -eq 2 ]] || fail "sockreap $* exited $RC, not 2"
	[[ ! -s $OUT ]] || fail "sockreap $* wrote to stdout"
	[[ $(wc -l <"$ERR") -eq 1 ]] || fail "sockreap $* wrote $(wc -l <"$ERR") lines on stderr"
	grep -qF -- "$flag" "$ERR" || fail "message does not name $flag: $(cat "$ERR")"
	grep -qF -- "$value" "$ERR" || fail "message does not show '$value': $(cat "$ERR")"
	grep -q '^sockreap: ' "$ERR" || fail "message not prefixed: $(cat "$ERR")"
}

test_bad_ports() {
	bad --port 99999 --port 99999
	bad --port abc -p abc
	bad --port "''" --port ""
	bad --port "80," --port 80,
	bad --port ",80" --port ,80
	bad --sport 90-80 --sport 90-80
	bad --dport 1-2-3 --dport 1-2-3
	bad --port 65536 --port 80,65536
	bad --port -1 --port=-1
}

test_bad_states() {
	bad --state bogus --state bogus
	bad --state "close-wait," -s close-wait,
	bad --state "established,nope" -s established,nope
}

test_bad_addresses() {
	bad --src 1.2.3.4/33 --src 1.2.3.4/33
	bad --dst ::1/129 --dst ::1/129
	bad --src 300.1.1.1 --src 300.1.1.1
	bad --dst not-an-address --dst not-an-address
	bad --src 10.0.0.0/ --src 10.0.0.0/
}

test_bad_numbers() {
	bad --max abc --max abc
	bad --max 0 --max 0
	bad --pid 0 --pid 0
	bad --pid abc --pid abc
	bad --uid abc --uid abc
	bad --inode abc --inode abc
	bad --exclude-pid x --exclude-pid x
	bad --comm 0123456789abcdefg --comm 0123456789abcdefg
}

test_bad_options() {
	bad "unknown option" --bogus --bogus
	bad "unknown option" -Z -Z
	bad --port "missing argument" --port
	bad -p "missing argument" -p
	bad --shutdown bogus --shutdown=bogus
	bad --reset --shutdown --shutdown --reset
	bad --shutdown --reset --reset --shutdown
	bad "unexpected argument" 8080 8080
}

# Combinations that are fine: -4 -6 together means both; --json with -q.
test_fine_combinations() {
	run_sockreap --dry-run -4 -6 --json -q -s listen --audit-log "$TMP/a.log"
	[[ $RC -eq 0 || $RC -eq 1 ]] || fail "-4 -6 --json -q rejected ($RC)"
	[[ ! -s $ERR ]] || fail "-q printed: $(cat "$ERR")"
	run_sockreap --help
	assert_rc 0
	grep -q -- --shutdown "$OUT" || fail "--help does not list --shutdown"
	run_sockreap --version
	assert_rc 0
	grep -q '^sockreap [0-9]' "$OUT" || fail "--version output: $(cat "$OUT")"
}
