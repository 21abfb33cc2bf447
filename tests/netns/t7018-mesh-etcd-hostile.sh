#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tapir mesh against an etcd gateway that answers paged reads wrongly (issue 16, bad input from
# the network): a stand-in for etcd's JSON gateway (python3, on 127.0.0.1 in the test's own
# namespace) serves a valid network record, and then, for every range with a limit (a paged
# read of a prefix), one of: a page that does not move on ("more": true and a key before the
# one asked from), a page with "more" and no key, or a correct last page. Checks: `tapir mesh
# status` ends within 10 s with status 1 and names the failed read for the two bad answers,
# instead of asking again for ever; with the correct pages it lists the network; `--page-size`
# is sent as the request's limit, and one out of its range is refused before any request.
#
#   tapir-$$-1: lo 127.0.0.1, fake gateway on :2379 (its log: $T/gw.log), tapir mesh status
set -eu
. "$(dirname "$0")/lib.sh"

CLI=$(dirname "$IMPL")/tapir
[ -x "$CLI" ] || skip_all "no tapir CLI next to $IMPL"
require_cmds python3
"$CLI" mesh --help >/dev/null 2>&1 || skip_all "this tapir has no mesh command"

plan 8

add_ns 1
ip -n "tapir-$$-1" link set lo up

# the gateway: MODE from a file the test rewrites, one JSON line per request in the log
cat >"$T/gw.py" <<'EOF'
import base64, http.server, json, sys

mode_file, log_file = sys.argv[1], sys.argv[2]
b64 = lambda s: base64.b64encode(s.encode()).decode()
CONFIG = json.dumps({"cidr": "10.99.0.0/16", "subnet_len": 24, "mode": "tun",
                     "port": 51820, "mtu": 1420, "keepalive": 25})
HEADER = {"revision": "7"}

class Gateway(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_POST(self):
        req = json.loads(self.rfile.read(int(self.headers["Content-Length"])) or b"{}")
        with open(log_file, "a") as f:
            f.write(json.dumps({"path": self.path, "req": req}) + "\n")
        key = base64.b64decode(req.get("key", "")).decode(errors="replace")
        mode = open(mode_file).read().strip()
        if self.path != "/v3/kv/range":
            answer = {"header": HEADER}
        elif "limit" not in req:  # a single key: the config, or no revocation list
            kvs = [{"key": b64(key), "value": b64(CONFIG), "mod_revision": "5"}] \
                if key.endswith("/config") else []
            answer = {"header": HEADER, "kvs": kvs, "count": str(len(kvs))}
        elif mode == "backwards":  # always the same key, before where the read now starts
            answer = {"header": HEADER, "more": True, "count": "2",
                      "kvs": [{"key": b64("/tapir/networks/hostile/"), "mod_revision": "5"}]}
        elif mode == "empty-more":
            answer = {"header": HEADER, "more": True, "count": "1"}
        else:  # a correct last page: nothing under the prefix
            answer = {"header": HEADER}
        body = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

http.server.HTTPServer(("127.0.0.1", 2379), Gateway).serve_forever()
EOF
echo good >"$T/mode"
pretty "tapir-$$-1" "python3 gw.py (a stand-in for etcd's JSON gateway on 127.0.0.1:2379)"
(exec ip netns exec "tapir-$$-1" python3 "$T/gw.py" "$T/mode" "$T/gw.log" \
	>"$T/gw.out.log" 2>&1 </dev/null) &
track_pid $!
gw_up() { ip netns exec "tapir-$$-1" bash -c ': </dev/tcp/127.0.0.1/2379' 2>/dev/null; }
wait_for "the gateway" 10 gw_up

# status MODE [ARGS...]: tapir mesh status against the gateway in MODE, at most 10 s; its
# output in $T/status, its exit status (124: timed out) in $T/rc
status()
{
	local rc=0
	echo "$1" >"$T/mode"
	shift
	: >"$T/gw.log"
	ip netns exec "tapir-$$-1" timeout 10 "$CLI" mesh status --etcd http://127.0.0.1:2379 \
		--network hostile "$@" >"$T/status" 2>&1 || rc=$?
	echo "$rc" >"$T/rc"
	diag_file "$T/status"
}

status good --page-size 3
check "correct pages: status lists the network" grep -q '^network hostile: 10.99.0.0/16' "$T/status"
check "--page-size 3 is sent as the limit of the paged read" \
	grep -q '"limit": 3' "$T/gw.log"

bad_page_size()
{
	local rc=0
	"$CLI" mesh status --etcd http://127.0.0.1:2379 --network hostile --page-size 0 \
		>"$T/bad" 2>&1 || rc=$?
	[ "$rc" -eq 2 ] && grep -q -- "--page-size: \`0' is not a number from 1 to" "$T/bad"
}
check "--page-size 0 is refused (exit 2), naming the option" bad_page_size

status backwards
check_eq "a page that does not move on: status exits 1 (not killed after 10 s)" 1 cat "$T/rc"
check "and names the read that failed" \
	grep -q "cannot read /tapir/networks/hostile/subnets/: Protocol error" "$T/status"
check "it asked once (one page), not again and again" \
	test "$(grep -c '"limit"' "$T/gw.log")" -eq 1

status empty-more
check_eq "\"more\" with no key: status exits 1" 1 cat "$T/rc"
check "and names the read that failed" grep -q "cannot read .*: Protocol error" "$T/status"
