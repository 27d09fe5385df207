# Every kind of socket (issue 12): unix sockets found with their peers and
# the peers' owners, acted on; UDP servers refused, connected UDP acted on;
# the kernel's SOCK_DESTROY (--destroy) on ESTABLISHED, TIME-WAIT and a
# kind it refuses; --idle. Targets: tests/bin/unixfarm and python3 helpers.

PY=$(command -v python3 || true)

# pyhelper NAME ARGS...: run the python helper NAME (a function printing
# its source) with its ready file in $TMP/NAME.json; sets HPID.
pyhelper() {
	local name=$1
	shift
	[[ -n $PY ]] || skip "needs python3"
	"py_$name" >"$TMP/$name.py"
	spawn "$PY" "$TMP/$name.py" "$TMP/$name.json" "$@"
	HPID=$SPAWNED
	wait_for_file "$TMP/$name.json" 20
}

# A unix stream server holding one accepted connection, its client in a
# child process blocked in recv(), reporting what it saw to READY.peer.
py_unixpair() {
	cat <<'EOF'
import json, os, socket, sys, time
ready, path = sys.argv[1], sys.argv[2]
l = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
l.bind(path); l.listen(4)
r, w = os.pipe()
child = os.fork()
if child == 0:
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    c.connect(path)
    os.write(w, b"x")
    try:
        data = c.recv(100)
        seen = "eof" if data == b"" else "data"
    except OSError as e:
        seen = "error:" + (os.strerror(e.errno) if e.errno else str(e))
    with open(ready + ".peer.tmp", "w") as f:
        f.write(json.dumps({"seen": seen}))
    os.rename(ready + ".peer.tmp", ready + ".peer")
    time.sleep(60)
    sys.exit(0)
os.read(r, 1)
s, _ = l.accept()
a, b = socket.socketpair()
out = {"pid": os.getpid(), "child": child, "listen_fd": l.fileno(), "srv_fd": s.fileno(),
       "srv_ino": os.fstat(s.fileno()).st_ino, "pair": [a.fileno(), b.fileno()],
       "pair_ino": [os.fstat(a.fileno()).st_ino, os.fstat(b.fileno()).st_ino]}
with open(ready + ".tmp", "w") as f:
    f.write(json.dumps(out))
os.rename(ready + ".tmp", ready)
time.sleep(60)
EOF
}

# UDP: a server (bound, no peer) and a connected client, both v4 loopback.
py_udp() {
	cat <<'EOF'
import json, os, socket, sys, time
ready = sys.argv[1]
srv = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); srv.bind(("127.0.0.1", 0))
cli = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); cli.bind(("127.0.0.1", 0))
cli.connect(srv.getsockname())
out = {"pid": os.getpid(), "srv_port": srv.getsockname()[1], "srv_fd": srv.fileno(),
       "cli_port": cli.getsockname()[1], "cli_fd": cli.fileno()}
with open(ready + ".tmp", "w") as f:
    f.write(json.dumps(out))
os.rename(ready + ".tmp", ready)
time.sleep(60)
EOF
}

# TCP on loopback: a listener, an "idle" connection and an "active" one
# (the server sends a message every 200 ms); the idle client, in a child,
# blocks in recv() and reports what it saw (RST expected after a destroy).
py_tcp() {
	cat <<'EOF'
import json, os, socket, sys, time, threading
ready = sys.argv[1]
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("127.0.0.1", 0)); l.listen(8)
port = l.getsockname()[1]
r, w = os.pipe()
child = os.fork()
if child == 0:
    idle = socket.create_connection(("127.0.0.1", port))
    active = socket.create_connection(("127.0.0.1", port))
    os.write(w, b"%d %d" % (idle.getsockname()[1], active.getsockname()[1]))
    def drain():
        while active.recv(100):
            pass
    threading.Thread(target=drain, daemon=True).start()
    try:
        data = idle.recv(100)
        seen = "eof" if data == b"" else "data"
    except ConnectionResetError:
        seen = "rst"
    except OSError as e:
        seen = "error:" + os.strerror(e.errno)
    with open(ready + ".peer.tmp", "w") as f:
        f.write(json.dumps({"seen": seen}))
    os.rename(ready + ".peer.tmp", ready + ".peer")
    time.sleep(60)
    sys.exit(0)
idle_port, active_port = map(int, os.read(r, 64).split())
conns = {}
for _ in range(2):
    s, addr = l.accept()
    conns[addr[1]] = s
def talk():
    while True:
        conns[active_port].send(b"tick")
        time.sleep(0.2)
threading.Thread(target=talk, daemon=True).start()
out = {"pid": os.getpid(), "child": child, "port": port, "idle_port": idle_port,
       "active_port": active_port, "idle_fd": conns[idle_port].fileno()}
with open(ready + ".tmp", "w") as f:
    f.write(json.dumps(out))
os.rename(ready + ".tmp", ready)
time.sleep(60)
EOF
}

farm_start() {
	need_root
	mkdir -p "$TMP/socks"
	spawn "$BIN/unixfarm" "$TMP/farm.json" "$TMP/socks"
	FARM=$SPAWNED
	wait_for_file "$TMP/farm.json"
	CHILD=$(jq .child "$TMP/farm.json")
	track_pid "$CHILD"
}

# Every socket of the farm is found with its owner, type, state, name
# (path, @abstract with the NUL escaped, * unnamed), peer inode, and the
# peer's owner (pid, fd) from the same pass.
test_unix_farm_found() {
	farm_start
	run_sockreap -x --pid "$FARM,$CHILD" --dry-run --json --allow-listen --audit-log "$TMP/audit.log"
	assert_rc 0
	local want got
	want=$(jq -r '.sockets as $all | .sockets[] | . as $s |
		"\(.inode) \(.owners[0][0]) \(.owners[0][1]) \(.type) \(.state // "?") \(.path) \(.peer // "?") " +
		(if (.peer // 0) == 0 then "-" else ($all[] | select(.inode == $s.peer) | "\(.owners[0][0])/\(.owners[0][1])") end)' \
		"$TMP/farm.json" | sort)
	got=$(jq -r --slurpfile f "$TMP/farm.json" '. as $r | ($f[0].sockets[] | select(.inode == $r.inode)) as $s |
		"\(.inode) \(.pid) \(.fd) \(.type) \(if $s.state == null then "?" else .state end) \(.local) " +
		"\(if $s.peer == null then "?" else .peer_inode end) " +
		(if $s.peer == null or .peer_inode == 0 then "-" else (.peer_owners | map("\(.pid)/\(.fd)") | join(",")) end)' \
		"$OUT" | sort)
	[[ $(wc -l <<<"$want") -eq 19 ]] || fail "test bug: the farm does not list 19 sockets"
	[[ $got == "$want" ]] || fail "unix sockets differ from the farm (< farm, > sockreap):
$(diff <(echo "$want") <(echo "$got"))"
	# the table shows the peer's owner too
	run_sockreap -x --pid "$FARM" --dry-run --audit-log "$TMP/audit.log"
	grep -q 'PEER-OWNER' "$OUT" || fail "no PEER-OWNER column"
	grep -q "unixfarm/$CHILD/" "$OUT" || fail "the child's ends are not shown as peer owners"
}

test_unix_path_filter() {
	farm_start
	run_sockreap --path "$TMP/socks/stream.sock" --dry-run --json --audit-log "$TMP/audit.log"
	assert_rc 0
	local want got
	want=$(jq -r '.sockets[] | select(.name == "lst" or .name == "srv" or .name == "cli") | .inode' "$TMP/farm.json" | sort)
	got=$(jq -r .inode "$OUT" | sort)
	[[ $got == "$want" ]] || fail "--path: got inodes $got, want $want (the socket's name or its peer's)"
	run_sockreap --path "@sockreap-farm-$FARM*" --dry-run --json --audit-log "$TMP/audit.log"
	want=$(jq -r '.sockets[] | select(.name == "abs" or .name == "asrv" or .name == "acli") | .inode' "$TMP/farm.json" | sort)
	got=$(jq -r .inode "$OUT" | sort)
	[[ $got == "$want" ]] || fail "--path @abstract: got $got, want $want"
	# without -x or --path, no unix socket is ever matched
	run_sockreap --pid "$FARM,$CHILD" --dry-run --json --audit-log "$TMP/audit.log"
	[[ $RC -eq 1 ]] || fail "unix sockets matched without -x (rc $RC)"
}

# Listening unix sockets and a unix datagram server are refused like LISTEN.
test_unix_servers_refused() {
	farm_start
	local before
	before=$(ls -l "/proc/$FARM/fd")
	run_sockreap -x --pid "$FARM" --state listen --yes --json --audit-log "$TMP/audit.log"
	assert_rc 3
	[[ $(jq -r .result "$OUT" | sort -u) == refused ]] || fail "a listening unix socket was not refused"
	[[ $(jq -r .reason "$OUT" | sort -u) == *"LISTEN socket"*--allow-listen* ]] || fail "no LISTEN reason"
	[[ $(jq -s length "$OUT") -eq 3 ]] || fail "expected the 3 unix listeners"
	run_sockreap --path "$TMP/socks/dgram.sock" --pid "$FARM" --yes --json --audit-log "$TMP/audit.log"
	assert_rc 3
	[[ $(jq -r .reason "$OUT") == *"datagram server socket (bound, no peer)"* ]] || fail "dgram server not refused"
	[[ $(ls -l "/proc/$FARM/fd") == "$before" ]] || fail "the farm's fds changed"
	assert_untraced_running "$FARM"
}

# --shutdown on a unix stream socket through the pidfd path: the peer
# process, blocked in recv(), sees EOF; the fd stays.
test_unix_shutdown() {
	need_root
	pyhelper unixpair "$TMP/u.sock"
	local pid fd child
	pid=$(jq .pid "$TMP/unixpair.json"); fd=$(jq .srv_fd "$TMP/unixpair.json"); child=$(jq .child "$TMP/unixpair.json")
	track_pid "$child"
	run_sockreap -x --pid "$pid" --inode "$(jq .srv_ino "$TMP/unixpair.json")" --shutdown --yes --json \
		--audit-log "$TMP/audit.log"
	assert_rc 0
	[[ $(jq -r .result "$OUT") == done ]] || fail "shutdown not done"
	# done on a pidfd_getfd duplicate checked by SO_COOKIE: never stopped
	[[ $(jq 'has("stall_ms")' "$OUT") == false ]] || fail "the owner was stopped for a unix shutdown"
	[[ $(jq -r .verify "$OUT") == *"wr shut"* ]] || fail "verify does not show the shutdown: $(jq -r .verify "$OUT")"
	wait_for_file "$TMP/unixpair.json.peer" 10
	[[ $(jq -r .seen "$TMP/unixpair.json.peer") == eof ]] || fail "the peer saw $(cat "$TMP/unixpair.json.peer")"
	[[ $(fd_link "$pid" "$fd") == socket:* ]] || fail "shutdown took the fd"
	assert_untraced_running "$pid"
}

# The default close on one end of a socketpair: the socket goes, the fd
# number holds a placeholder (one end of a new pair), verify says the
# socket is gone. With --free-fd the number is freed.
unix_close_case() {
	need_root
	pyhelper unixpair "$TMP/u.sock"
	local pid a b ia
	pid=$(jq .pid "$TMP/unixpair.json"); track_pid "$(jq .child "$TMP/unixpair.json")"
	a=$(jq '.pair[0]' "$TMP/unixpair.json"); b=$(jq '.pair[1]' "$TMP/unixpair.json")
	ia=$(jq '.pair_ino[0]' "$TMP/unixpair.json")
	run_sockreap -x --pid "$pid" --inode "$ia" --yes --json --audit-log "$TMP/audit.log" "$@"
	assert_rc 0
	[[ $(jq -r .result "$OUT") == done ]] || fail "close not done"
	[[ $(jq -r .peer_owners[0].fd "$OUT") == "$b" ]] || fail "the peer's owner is not fd $b"
	if [[ " $* " == *" --free-fd "* ]]; then
		[[ -z $(fd_link "$pid" "$a") ]] || fail "fd $a still open"
	else
		local link
		link=$(fd_link "$pid" "$a")
		[[ $link == socket:* && $link != "socket:[$ia]" ]] || fail "fd $a holds no placeholder: '$link'"
	fi
	[[ $(jq -r .verify "$OUT") == *"socket gone"* ]] || fail "verify: $(jq -r .verify "$OUT")"
	[[ -n $(fd_link "$pid" "$b") ]] || fail "the other end was touched"
	assert_untraced_running "$pid"
}
test_unix_close_socketpair() { unix_close_case; }
test_unix_free_fd_socketpair() { unix_close_case --free-fd; }

test_udp_server_refused_client_acted() {
	need_root
	pyhelper udp
	local pid sp cp sfd cfd
	eval "$(jq -r '@sh "pid=\(.pid) sp=\(.srv_port) cp=\(.cli_port) sfd=\(.srv_fd) cfd=\(.cli_fd)"' "$TMP/udp.json")"
	run_sockreap -u --pid "$pid" --dry-run --json --audit-log "$TMP/audit.log"
	assert_rc 0
	[[ $(jq -r "select(.fd == $sfd) | .result" "$OUT") == refused ]] || fail "the UDP server was not refused"
	[[ $(jq -r "select(.fd == $sfd) | .reason" "$OUT") == *"UDP server socket (bound, no peer)"* ]] ||
		fail "reason: $(jq -r "select(.fd == $sfd) | .reason" "$OUT")"
	[[ $(jq -r "select(.fd == $cfd) | .result" "$OUT") == planned ]] || fail "the connected UDP socket was not planned"
	run_sockreap -u --pid "$pid" --sport "$cp" --yes --json --audit-log "$TMP/audit.log"
	assert_rc 0
	[[ $(jq -r .result "$OUT") == done ]] || fail "connected UDP not closed"
	[[ $(jq -r .verify "$OUT") == *"kept by a placeholder"* ]] || fail "verify: $(jq -r .verify "$OUT")"
	[[ $(fd_link "$pid" "$cfd") == socket:* ]] || fail "fd $cfd holds no placeholder"
	[[ $(fd_link "$pid" "$cfd") != "socket:[$(jq -r .inode "$OUT")]" ]] || fail "fd $cfd still holds its socket"
	[[ -n $(fd_link "$pid" "$sfd") ]] || fail "the server fd was touched"
	run_sockreap -u --pid "$pid" --sport "$sp" --allow-listen --dry-run --json --audit-log "$TMP/audit.log"
	[[ $(jq -r .result "$OUT") == planned ]] || fail "--allow-listen did not allow the UDP server"
}

# --destroy on ESTABLISHED: the peer, blocked in recv(), gets RST; the
# owner keeps its fd and the report says so; the owner is never traced.
test_destroy_established() {
	need_root
	pyhelper tcp
	local pid port iport fd
	eval "$(jq -r '@sh "pid=\(.pid) port=\(.port) iport=\(.idle_port) fd=\(.idle_fd)"' "$TMP/tcp.json")"
	track_pid "$(jq .child "$TMP/tcp.json")"
	run_sockreap --destroy --sport "$port" --dport "$iport" -s established --yes --json --audit-log "$TMP/audit.log"
	assert_rc 0
	[[ $(jq -r .action "$OUT") == destroy && $(jq -r .result "$OUT") == done ]] || fail "not destroyed"
	[[ $(jq -r .verify "$OUT") == *"socket gone"*"keeps its fd"* ]] || fail "verify: $(jq -r .verify "$OUT")"
	[[ $(jq 'has("stall_ms")' "$OUT") == false ]] || fail "the owner was stopped"
	grep -q "the owners keep their fds" "$ERR" || fail "the summary does not say the fds stay"
	wait_for_file "$TMP/tcp.json.peer" 10
	[[ $(jq -r .seen "$TMP/tcp.json.peer") == rst ]] || fail "the peer saw $(cat "$TMP/tcp.json.peer")"
	[[ $(fd_link "$pid" "$fd") == socket:* ]] || fail "the fd was closed; destroy must leave it"
	[[ $(ss -Htan state established "( sport = :$port and dport = :$iport )" | wc -l) -eq 0 ]] ||
		fail "the connection is still there"
	grep -q '"phase":"intent".*"method":"destroy"' "$TMP/audit.log" || fail "no intent in the audit log"
	assert_untraced_running "$pid"
}

# TIME-WAIT sockets have no owner; only SOCK_DESTROY frees them.
test_destroy_time_wait() {
	need_root
	[[ -n $PY ]] || skip "needs python3"
	local port
	port=$("$PY" -c '
import socket, time
l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(1)
c = socket.create_connection(l.getsockname()); s, _ = l.accept()
c.close(); time.sleep(0.05); s.close()
print(l.getsockname()[1])')
	[[ $(ss -Htan state time-wait "( dport = :$port )" | wc -l) -ge 1 ]] || fail "test bug: no TIME-WAIT made"
	run_sockreap --destroy --dport "$port" --state time-wait --yes --json --audit-log "$TMP/audit.log"
	assert_rc 0
	[[ $(jq -r .result "$OUT") == done && $(jq -r .pid "$OUT") == null ]] || fail "TIME-WAIT not destroyed"
	[[ $(jq -r .verify "$OUT") == "socket gone" ]] || fail "verify: $(jq -r .verify "$OUT")"
	[[ $(ss -Htan state time-wait "( dport = :$port )" | wc -l) -eq 0 ]] || fail "TIME-WAIT still there"
	# without --destroy it is listed, never acted on
	run_sockreap --dport "$port" --state time-wait --dry-run --json --audit-log "$TMP/audit.log"
	assert_rc 1
}

# The kernel refuses to destroy unix sockets (EOPNOTSUPP): said plainly.
test_destroy_refused_by_kernel() {
	need_root
	pyhelper unixpair "$TMP/u.sock"
	local pid ia
	pid=$(jq .pid "$TMP/unixpair.json"); track_pid "$(jq .child "$TMP/unixpair.json")"
	ia=$(jq '.pair_ino[0]' "$TMP/unixpair.json")
	run_sockreap -x --inode "$ia" --destroy --yes --json --audit-log "$TMP/audit.log"
	assert_rc 3
	[[ $(jq -r .result "$OUT") == failed && $(jq -r .errno "$OUT") == EOPNOTSUPP ]] || fail "not a kernel refusal"
	[[ $(jq -r .reason "$OUT") == *"kernel refused"*"cannot destroy unix sockets"* ]] ||
		fail "reason: $(jq -r .reason "$OUT")"
	[[ -n $(fd_link "$pid" "$(jq '.pair[0]' "$TMP/unixpair.json")") ]] || fail "the fd changed"
}

# --idle: the idle connection matches, the active one (a message every
# 200 ms) never does.
test_idle_only_idle() {
	need_root
	pyhelper tcp
	local port iport aport i found=0
	eval "$(jq -r '@sh "port=\(.port) iport=\(.idle_port) aport=\(.active_port)"' "$TMP/tcp.json")"
	track_pid "$(jq .child "$TMP/tcp.json")"
	for ((i = 0; i < 100; i++)); do # idle for a second: poll, with a deadline
		run_sockreap --idle 1 --port "$port" -s established --dry-run --json --audit-log "$TMP/audit.log"
		if [[ $RC -eq 0 ]] && [[ $(jq -s 'length' "$OUT") -eq 2 ]]; then
			found=1
			break
		fi
		sleep 0.1
	done
	[[ $found == 1 ]] || fail "the idle connection was not matched within 10 s"
	[[ $(jq -r '"\(.local) \(.peer)"' "$OUT" | grep -c ":$aport") -eq 0 ]] || fail "the active connection matched"
	[[ $(jq -r '"\(.local) \(.peer)"' "$OUT" | grep -c ":$iport") -eq 2 ]] || fail "not both ends of the idle one"
	jq -e 'select(.idle_ms < 1000)' "$OUT" >/dev/null && fail "idle_ms below the threshold"
	# a whole second later the active one is still left alone
	sleep 1
	run_sockreap --idle 1 --port "$port" -s established --dry-run --audit-log "$TMP/audit.log"
	grep -q IDLE "$OUT" || fail "no IDLE column"
	grep -q ":$aport" "$OUT" && fail "the active connection matched later"
	return 0
}

# Without CAP_NET_ADMIN --destroy is refused up front with the reason
# (exit 4), and nothing is sent to the kernel: the connection stays.
test_destroy_needs_cap_net_admin() {
	need_root
	need_cmd setpriv
	pyhelper tcp
	local port iport
	eval "$(jq -r '@sh "port=\(.port) iport=\(.idle_port)"' "$TMP/tcp.json")"
	track_pid "$(jq .child "$TMP/tcp.json")"
	OUT=$TMP/out.nocap ERR=$TMP/err.nocap
	setpriv --inh-caps=-net_admin --bounding-set=-net_admin "$SOCKREAP" --destroy --sport "$port" \
		--dport "$iport" -s estab --yes --audit-log "$TMP/audit.log" >"$OUT" 2>"$ERR"
	RC=$?
	cat "$ERR" >&2
	assert_rc 4
	grep -q "CAP_NET_ADMIN" "$ERR" || fail "the message does not name CAP_NET_ADMIN"
	[[ $(ss -Htan state established "( sport = :$port and dport = :$iport )" | wc -l) -eq 1 ]] ||
		fail "the connection was touched"
}
