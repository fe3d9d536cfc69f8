#!/usr/bin/env bash
# check-examples.sh proves the examples work against a real gateway on this machine:
#
#   1. every examples/*.yaml starts `switchyard serve` (with dummy secrets in the
#      environment) and stops cleanly on SIGTERM;
#   2. on the embedded default (mock provider), examples/curl.sh and both Go SDK examples
#      succeed; so do the Node example (when npm can install the SDK) and the Python
#      example (when the openai package is importable);
#   3. on examples/mock.yaml, a request with the gateway key succeeds and one without it
#      gets 401.
#
# Nothing leaves the machine: the gateways listen on 127.0.0.1 and the upstream is the
# in-process mock. Usage: scripts/check-examples.sh [--no-node]
set -euo pipefail

cd "$(dirname "$0")/.."
root=$PWD
with_node=1
[ "${1:-}" = --no-node ] && with_node=

work=$(mktemp -d)
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT

say() { printf '\n### %s\n' "$*"; }
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }

# Dummy values for every secret the example configs name.
export OPENAI_API_KEY=sk-dummy ANTHROPIC_API_KEY=sk-ant-dummy AZURE_OPENAI_API_KEY=azure-dummy \
	VLLM_API_KEY=vllm-dummy OPENAI_PROJECT_ID=proj_dummy SWITCHYARD_ADMIN_KEY=sy-admin-dummy \
	SWITCHYARD_KEY_DEV=sy-dev-dummy SWITCHYARD_KEY_WEB=sy-web-dummy SWITCHYARD_KEY_APP=sy-app-dummy

say "build"
go build -o "$work/switchyard" ./cmd/switchyard
bin=$work/switchyard

# start NAME ARGS...: runs `switchyard serve ARGS` in the background (through the command
# in $launch, `env` unless changed) with its log in $work/NAME.log, waits for the
# "serving" line and sets $addr to the bound address and $pid to the process.
launch=(env)
start() {
	local name=$1
	shift
	"${launch[@]}" "$bin" serve --listen 127.0.0.1:0 "$@" 2>"$work/$name.log" &
	pid=$!
	pids+=("$pid")
	local i
	for i in $(seq 100); do
		if grep -q '"msg":"serving"' "$work/$name.log"; then
			addr=$(sed -n 's/.*"msg":"serving","address":"\([^"]*\)".*/\1/p' "$work/$name.log" | head -n 1)
			return 0
		fi
		kill -0 "$pid" 2>/dev/null || { cat "$work/$name.log" >&2; fail "$name: exited before serving"; }
		sleep 0.1
	done
	cat "$work/$name.log" >&2
	fail "$name: not serving after 10s"
}

# stop NAME: SIGTERM, then expect exit status 0 and the "stopped" line.
stop() {
	local name=$1 rc=0
	kill -TERM "$pid"
	wait "$pid" || rc=$?
	[ "$rc" = 0 ] || { cat "$work/$name.log" >&2; fail "$name: exit status $rc after SIGTERM"; }
	grep -q '"msg":"stopped"' "$work/$name.log" || fail "$name: no stopped line in its log"
}

say "example configs load and serve"
for cfg in examples/*.yaml; do
	name=$(basename "$cfg" .yaml)
	start "$name" --config "$cfg"
	echo "ok  $cfg (listening on $addr)"
	stop "$name"
done

say "embedded default (mock provider)"
launch=(env -u OPENAI_API_KEY)
start embedded
launch=(env)
grep -q '"config":"(embedded default)"' "$work/embedded.log" || fail "embedded: not on the embedded default"
export SWITCHYARD_BASE_URL=http://$addr/v1
unset SWITCHYARD_API_KEY

say "examples/curl.sh"
examples/curl.sh

say "examples/go: sashabaranov/go-openai"
(cd examples/go && go run ./goopenai)

say "examples/go: openai/openai-go"
(cd examples/go && go run ./openaigo)

if [ -n "$with_node" ] && command -v npm >/dev/null 2>&1; then
	say "examples/node (npm install openai in a temporary directory)"
	mkdir "$work/node"
	cp examples/node/package.json examples/node/chat.mjs "$work/node/"
	(cd "$work/node" && npm install --no-audit --no-fund --loglevel=error >/dev/null && node chat.mjs)
else
	say "examples/node: skipped (npm not available or --no-node)"
fi

if python3 -c 'import openai' 2>/dev/null; then
	say "examples/python"
	python3 examples/python/chat.py
else
	say "examples/python: skipped (the openai package is not installed)"
fi
stop embedded

say "examples/mock.yaml: gateway keys"
start keys --config examples/mock.yaml
export SWITCHYARD_BASE_URL=http://$addr/v1
SWITCHYARD_API_KEY=$SWITCHYARD_KEY_DEV SWITCHYARD_MODEL=chat examples/curl.sh >/dev/null
echo "ok  the key from SWITCHYARD_KEY_DEV is accepted"
status=$(curl -s -o "$work/401.json" -w '%{http_code}' -H 'Content-Type: application/json' \
	-d '{"model":"chat","messages":[{"role":"user","content":"hi"}]}' "$SWITCHYARD_BASE_URL/chat/completions")
[ "$status" = 401 ] || fail "no key: status $status, want 401"
grep -q '"code":"missing_api_key"' "$work/401.json" || fail "no key: body $(cat "$work/401.json")"
echo "ok  no key gets 401 missing_api_key"
stop keys

say "all examples passed"
