#!/usr/bin/env bash
# Smoke test of a deployed stack (docs/deploy.md): the README's access session against a given API and a
# mailbox you can read. It submits an access request for ADDRESS, asks for the code e-mailed to it, verifies,
# waits for the report and downloads it (JSON and HTML). Needs curl and python3.
#
#   infra/smoke.sh https://<api id>.execute-api.<region>.amazonaws.com you@your-company.example
#
# SMOKE_CODE_COMMAND, when set, is run (with SMOKE_ID set to the request id) instead of asking for the code:
# the local stack's test passes a command that reads the outbox. SMOKE_WAIT: seconds to wait for the report
# (default 180). Nothing is printed that the API keeps secret: not the status token, the code or the links.
set -euo pipefail

API=${1:?usage: infra/smoke.sh <api url> <address whose mailbox you can read>}
ADDRESS=${2:?usage: infra/smoke.sh <api url> <address whose mailbox you can read>}
API=${API%/}
WAIT=${SMOKE_WAIT:-180}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

fail() { echo "smoke: FAILED: $*" >&2; exit 1; }
field() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
# call METHOD PATH [BODY]: the answer's body in $OUT/body, its status on stdout. A 429 (the per-client limit of
# the subject routes: the address just made many requests) is tried again after its Retry-After, at most twice.
call() {
  local args=(-s -o "$OUT/body" -D "$OUT/headers" -w '%{http_code}' -X "$1" "$API$2") status wait
  [ -n "${TOKEN:-}" ] && args+=(-H "Authorization: Bearer $TOKEN")
  [ $# -ge 3 ] && args+=(-H 'Content-Type: application/json' -d "$3")
  for attempt in 1 2 3; do
    status=$(curl "${args[@]}")
    [ "$status" = 429 ] && [ "$attempt" -lt 3 ] || break
    wait=$(grep -i '^retry-after:' "$OUT/headers" | tr -dc '0-9')
    wait=${wait:-5}; [ "$wait" -le 60 ] || wait=60
    echo "smoke: the API asks this client to wait; trying again in ${wait}s" >&2
    sleep "$wait"
  done
  echo "$status"
}

BODY=$(python3 -c 'import json,sys; print(json.dumps({"type": "access", "email": sys.argv[1]}))' "$ADDRESS")
STATUS=$(call POST /v1/requests "$BODY")
[ "$STATUS" = 202 ] || fail "submit answered $STATUS: $(cat "$OUT/body")"
ID=$(field id <"$OUT/body")
TOKEN=$(field statusToken <"$OUT/body")
echo "smoke: 1/5 submitted access request $ID; a code was e-mailed to the address"

if [ -n "${SMOKE_CODE_COMMAND:-}" ]; then
  CODE=$(SMOKE_ID=$ID bash -c "$SMOKE_CODE_COMMAND")
else
  read -r -p "smoke: the 6-digit code from the e-mail: " CODE
fi
CODE=$(printf '%s' "$CODE" | tr -d '[:space:]')
[[ "$CODE" =~ ^[0-9]{6}$ ]] || fail "the code must be six digits"
STATUS=$(call POST "/v1/requests/$ID/verify" "{\"code\":\"$CODE\"}")
[ "$STATUS" = 200 ] || fail "verify answered $STATUS: $(cat "$OUT/body")"
echo "smoke: 2/5 verified"

for _ in $(seq "$WAIT"); do
  STATUS=$(call GET "/v1/requests/$ID")
  [ "$STATUS" = 200 ] || fail "status answered $STATUS: $(cat "$OUT/body")"
  STATE=$(field status <"$OUT/body")
  case "$STATE" in
    completed) break ;;
    failed | rejected | expired) fail "the request ended $STATE: $(cat "$OUT/body")" ;;
  esac
  sleep 1
done
[ "$STATE" = completed ] || fail "not completed after ${WAIT}s (status $STATE): see the dashboard and the worker's log group"
echo "smoke: 3/5 completed"

for format in json html; do
  STATUS=$(call GET "/v1/requests/$ID/report?format=$format")
  [ "$STATUS" = 200 ] || fail "report link ($format) answered $STATUS: $(cat "$OUT/body")"
  URL=$(field url <"$OUT/body")
  STATUS=$(curl -s -o "$OUT/report.$format" -w '%{http_code}' "$URL")
  [ "$STATUS" = 200 ] || fail "downloading the $format report answered $STATUS"
done
python3 - "$OUT/report.json" "$ID" <<'EOF' || fail "the JSON report is not this request's report"
import json, sys
report = json.load(open(sys.argv[1]))
assert report["requestId"] == sys.argv[2], report.get("requestId")
print("smoke: 4/5 JSON report: %d purposes, %d records" % (
    len(report["purposes"]), sum(len(p.get("records", [])) for p in report["purposes"])))
EOF
grep -q '<!DOCTYPE html>' "$OUT/report.html" || fail "the HTML report is not a page"
echo "smoke: 5/5 HTML report: $(wc -c <"$OUT/report.html") bytes"
echo "smoke: passed"
