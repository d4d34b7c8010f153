#!/usr/bin/env bash
# Starts or stops moto server (from the project virtualenv) for `make test`.
#   infra/emulator.sh start   start moto on $MOTO_ADDR unless an emulator already answers there
#   infra/emulator.sh stop    stop it, if this script started it
set -euo pipefail
cd "$(dirname "$0")/.."
addr=${MOTO_ADDR:-127.0.0.1:4566}
pidfile=.local/moto-test.pid
answers() { curl -fsS -o /dev/null --max-time 1 "http://$addr/moto-api/" 2>/dev/null; }

case "${1:-}" in
start)
  mkdir -p .local
  if [ -n "${AWS_ENDPOINT_URL:-}" ]; then
    # Another emulator (LocalStack, say) was chosen: use it, never start moto over it.
    if curl -sS -o /dev/null --max-time 2 "$AWS_ENDPOINT_URL"; then
      echo "emulator: using AWS_ENDPOINT_URL=$AWS_ENDPOINT_URL"; exit 0
    fi
    echo "emulator: AWS_ENDPOINT_URL=$AWS_ENDPOINT_URL does not answer" >&2; exit 1
  fi
  if answers; then
    echo "emulator: moto already answers on $addr; using it (and leaving it running)"
    exit 0
  fi
  [ -x .venv/bin/python ] && .venv/bin/python -c "import moto.server" 2>/dev/null || { echo "emulator: moto is missing from .venv; run 'make venv'" >&2; exit 1; }
  infra/moto-server -H "${addr%:*}" -p "${addr##*:}" >.local/moto-test.log 2>&1 &
  echo $! >"$pidfile"
  for _ in $(seq 150); do
    if answers; then echo "emulator: moto started on $addr (pid $(cat "$pidfile"))"; exit 0; fi
    kill -0 "$(cat "$pidfile")" 2>/dev/null || break
    sleep 0.2
  done
  echo "emulator: moto did not start on $addr; its log:" >&2
  cat .local/moto-test.log >&2 || true
  exit 1
  ;;
stop)
  if [ -f "$pidfile" ]; then
    kill "$(cat "$pidfile")" 2>/dev/null || true
    rm -f "$pidfile"
    echo "emulator: moto stopped"
  fi
  ;;
*)
  echo "usage: $0 start|stop" >&2
  exit 2
  ;;
esac
