# Differential test (issues 2 and 12): for the same filter, the set of (inode, pid,
# fd) sockreap reports equals what `ss -anpe` reports. The sockfarm
# provides known sockets (shared, dup'ed, v4 and v6, TCP and UDP); the rest
# of the host's sockets are compared too. A socket can appear or vanish
# between the two runs, so a mismatch is retried before it counts.

# ss_triples SS-ARGS...: "inode pid fd" per owner, sorted.
ss_triples() {
	ss -Hn "$@" | awk '{
		ino = ""; if (match($0, / ino:[0-9]+/)) ino = substr($0, RSTART + 5, RLENGTH - 5)
		if (ino == "" || ino == "0") next
		s = $0
		while (match(s, /pid=[0-9]+,fd=[0-9]+/)) {
			split(substr(s, RSTART, RLENGTH), a, /[=,]/)
			print ino, a[2], a[4]
			s = substr(s, RSTART + RLENGTH)
		}
	}' | sort -u
}

# reap_triples SOCKREAP-ARGS...: the same from sockreap --dry-run --json.
reap_triples() {
	"$SOCKREAP" --dry-run --json -q --audit-log "$TMP/audit.log" "$@" |
		jq -r 'select(.pid != null and .inode != 0) | "\(.inode) \(.pid) \(.fd)"' | sort -u
}

# same "SS-ARGS" "SOCKREAP-ARGS": compare, retrying twice on a mismatch.
same() {
	local ssargs=$1 reapargs=$2 a b try
	for try in 1 2 3; do
		# shellcheck disable=SC2086
		a=$(ss_triples $ssargs)
		# shellcheck disable=SC2086
		b=$(reap_triples $reapargs)
		[[ $a == "$b" ]] && break
		sleep 0.2
	done
	[[ -n $a ]] || fail "test bug: ss $ssargs found nothing"
	[[ $a == "$b" ]] || fail "ss $ssargs and sockreap $reapargs differ (< ss, > sockreap):
$(diff <(echo "$a") <(echo "$b"))"
	echo "ss $ssargs = sockreap $reapargs: $(wc -l <<<"$a") owners" >&2
}

diff_setup() {
	need_root
	need_cmd ss
	spawn "$BIN/sockfarm" "$TMP/farm.json"
	wait_for_file "$TMP/farm.json"
	track_pid "$(jq .child "$TMP/farm.json")"
	P4=$(jq '.sockets[] | select(.name == "l4") | .lport' "$TMP/farm.json")
	P6=$(jq '.sockets[] | select(.name == "l6") | .lport' "$TMP/farm.json")
}

test_diff_all_tcp() {
	diff_setup
	same "-tape" "-t"
}

test_diff_all_udp() {
	diff_setup
	same "-uape" "-u"
}

test_diff_close_wait() {
	diff_setup
	same "-tpe state close-wait" "-t -s close-wait"
}

test_diff_listen_v6() {
	diff_setup
	same "-6 -tpe state listening" "-6 -t -s listen"
}

test_diff_port() {
	diff_setup
	same "-tape ( sport = :$P4 or dport = :$P4 )" "-t --port $P4"
	same "-tape ( sport = :$P6 )" "-t --sport $P6"
}

test_diff_established_v4() {
	diff_setup
	same "-4 -tpe state established" "-4 -t -s established"
}

# ss_unix_triples SS-ARGS...: "inode pid fd" per owner of unix sockets.
# ss -x prints no "ino:" of the socket (-e's ino is the bound file's): the
# socket's inode is the port column after the local name (field 6 with -H).
ss_unix_triples() {
	ss -Hxn "$@" | awk '{
		ino = $6
		if (ino !~ /^[0-9]+$/ || ino == "0") next
		s = $0
		while (match(s, /pid=[0-9]+,fd=[0-9]+/)) {
			split(substr(s, RSTART, RLENGTH), a, /[=,]/)
			print ino, a[2], a[4]
			s = substr(s, RSTART + RLENGTH)
		}
	}' | sort -u
}

# same_unix "SS-ARGS" "SOCKREAP-ARGS", retrying twice on a mismatch.
same_unix() {
	local ssargs=$1 reapargs=$2 a b try
	for try in 1 2 3; do
		# shellcheck disable=SC2086
		a=$(ss_unix_triples $ssargs)
		# shellcheck disable=SC2086
		b=$(reap_triples $reapargs)
		[[ $a == "$b" ]] && break
		sleep 0.2
	done
	[[ -n $a ]] || fail "test bug: ss -x $ssargs found nothing"
	[[ $a == "$b" ]] || fail "ss -x $ssargs and sockreap $reapargs differ (< ss, > sockreap):
$(diff <(echo "$a") <(echo "$b"))"
	echo "ss -x $ssargs = sockreap $reapargs: $(wc -l <<<"$a") owners" >&2
}

unix_farm_setup() {
	need_root
	need_cmd ss
	mkdir -p "$TMP/socks"
	spawn "$BIN/unixfarm" "$TMP/farm.json" "$TMP/socks"
	wait_for_file "$TMP/farm.json"
	track_pid "$(jq .child "$TMP/farm.json")"
}

# Every unix socket of the host (the farm's among them), as ss -xape
# sees them; the unnamed lone socket and the one waiting in the accept
# queue included.
test_diff_all_unix() {
	unix_farm_setup
	same_unix "-ape" "-x"
}

# ss -l means LISTEN and CLOSE (UNCONN: the unbound lone socket, the
# datagram server before Linux 5.18)
test_diff_unix_listen() {
	unix_farm_setup
	same_unix "-lpe" "-x -s listen,unconn"
}

test_diff_unix_path() {
	unix_farm_setup
	same_unix "-ape src $TMP/socks/stream.sock" "--path $TMP/socks/stream.sock --pid $(jq .pid "$TMP/farm.json")"
}
