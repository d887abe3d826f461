#!/usr/bin/env bash
# One entry point: creates and reuses .venv, then runs a command of the package.
set -euo pipefail
cd "$(dirname "$0")"

COMMANDS="train evaluate sample export reproduce bench presets test"
VENV=.venv
STAMP="$VENV/.setup.cfg.sha256"

usage() {
  echo "usage: ./run.sh COMMAND [FLAGS]" >&2
  echo "commands: $COMMANDS" >&2
}

ensure_venv() {
  local extra=cpu
  if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then extra=gpu; fi
  local want
  want="$(sha256sum setup.cfg | cut -d' ' -f1) $extra"
  if [ -x "$VENV/bin/python" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
    return
  fi
  echo "run.sh: setting up $VENV (extras: $extra,test); this takes a few minutes the first time" >&2
  [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --upgrade pip
  "$VENV/bin/python" -m pip install --quiet -e ".[$extra,test]"
  echo "$want" > "$STAMP"
}

cmd="${1:-}"
if [ -z "$cmd" ] || ! [[ " $COMMANDS " == *" $cmd "* ]]; then
  [ -n "$cmd" ] && echo "run.sh: unknown command '$cmd'" >&2
  usage
  exit 2
fi
shift
ensure_venv
export TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-2}"
case "$cmd" in
  test) exec "$VENV/bin/python" -m pytest "$@" ;;
  # The command as typed, for its --help (tfgan_replica.cli.COMMAND_VARIABLE).
  *) TFGAN_REPLICA_COMMAND="$0 $cmd" exec "$VENV/bin/python" -m "tfgan_replica.cli.$cmd" "$@" ;;
esac
