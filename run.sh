#!/usr/bin/env bash
# One entry point: creates and reuses .venv, then runs a command of the package.
set -euo pipefail
cd "$(dirname "$0")"

COMMANDS="train evaluate sample export reproduce bench presets crosscheck test"
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

# crosscheck runs other projects' FID code (tfgan_replica/metrics/crosscheck.py): PyTorch and
# the three projects, at the versions it was checked with, installed into the venv for this
# command alone. --no-deps: their other requirements (torchvision) are never imported.
CROSSCHECK_TORCH="torch==2.13.0"
CROSSCHECK_PROJECTS="pytorch-fid==0.3.0 clean-fid==0.1.35 torch-fidelity==0.4.0"

ensure_crosscheck_packages() {
  # Prints the pins whose version is not installed (torch's local tag, +cpu, aside).
  local missing
  missing="$("$VENV/bin/python" -c '
import importlib.metadata as metadata, sys
for pin in sys.argv[1:]:
    name, version = pin.split("==")
    try:
        found = metadata.version(name).split("+")[0]
    except metadata.PackageNotFoundError:
        found = None
    if found != version:
        print(pin)
' $CROSSCHECK_TORCH $CROSSCHECK_PROJECTS)"
  [ -z "$missing" ] && return
  echo "run.sh: installing the cross-check's code into $VENV:" $missing >&2
  "$VENV/bin/python" -m pip install --quiet "$CROSSCHECK_TORCH"
  # shellcheck disable=SC2086
  "$VENV/bin/python" -m pip install --quiet --no-deps $CROSSCHECK_PROJECTS
}

wants_help() {
  local arg
  for arg in "$@"; do
    case "$arg" in -h|-\?|--help|--helpshort|--helpfull|--helpxml) return 0 ;; esac
  done
  return 1
}

cmd="${1:-}"
if [ -z "$cmd" ] || ! [[ " $COMMANDS " == *" $cmd "* ]]; then
  [ -n "$cmd" ] && echo "run.sh: unknown command '$cmd'" >&2
  usage
  exit 2
fi
shift
ensure_venv
# Not for --help, which needs none of it (and CI checks every command's help).
if [ "$cmd" = crosscheck ] && ! wants_help "$@"; then ensure_crosscheck_packages; fi
export TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-2}"
case "$cmd" in
  test) exec "$VENV/bin/python" -m pytest "$@" ;;
  # The command as typed, for its --help (tfgan_replica.cli.COMMAND_VARIABLE).
  *) TFGAN_REPLICA_COMMAND="$0 $cmd" exec "$VENV/bin/python" -m "tfgan_replica.cli.$cmd" "$@" ;;
esac
