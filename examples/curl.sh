#!/usr/bin/env bash
# curl.sh — the four basic calls against a running gateway, printed with their status
# and Switchyard's response headers. Start a gateway first (`make run`), then:
#
#   examples/curl.sh
#
# SWITCHYARD_BASE_URL (default http://127.0.0.1:8080/v1) and SWITCHYARD_API_KEY (a gateway
# key; any value when the gateway has no keys configured) override the defaults;
# SWITCHYARD_MODEL and SWITCHYARD_EMBEDDING_MODEL pick the models.
set -euo pipefail

base=${SWITCHYARD_BASE_URL:-http://127.0.0.1:8080/v1}
key=${SWITCHYARD_API_KEY:-unused}
model=${SWITCHYARD_MODEL:-gpt-4o-mini}
embed_model=${SWITCHYARD_EMBEDDING_MODEL:-text-embedding-3-small}

# call METHOD PATH [BODY]: prints the status line, Switchyard's x-* headers and the body;
# fails on a status other than 200.
call() {
	local method=$1 path=$2 body=${3:-}
	local args=(-sS -i -X "$method" "$base$path" -H "Authorization: Bearer $key" -w '\n%{http_code}')
	if [ -n "$body" ]; then
		args+=(-H 'Content-Type: application/json' -d "$body")
	fi
	echo "== $method $path"
	local out status
	out=$(curl "${args[@]}")
	status=${out##*$'\n'}
	# Headers end at the first empty line; keep the status line and the x- headers.
	printf '%s\n' "${out%$'\n'*}" | tr -d '\r' |
		awk 'hdr && /^$/ {hdr = 0; print; next} !hdr || /^HTTP\// || tolower($0) ~ /^x-/ {print}' hdr=1
	if [ "$status" != 200 ]; then
		echo "unexpected status $status" >&2
		return 1
	fi
}

# Chat completion, answered in one piece.
call POST /chat/completions '{"model":"'"$model"'","messages":[{"role":"user","content":"Say hello"}]}'

# The same, streamed as server-sent events (data: {...} lines, ending with data: [DONE]).
call POST /chat/completions '{"model":"'"$model"'","stream":true,"messages":[{"role":"user","content":"Say hello"}]}'

# Embeddings.
call POST /embeddings '{"model":"'"$embed_model"'","input":"Switchyard routes LLM traffic."}'

# The models clients may ask for.
call GET /models
