"""The command-line apps, one module per command: flags in, one library call, errors out.

    python -m tfgan_replica.cli.train --preset=mlp_bce      # ./run.sh train --preset=mlp_bce

Each app parses its flags with absl, calls one library function inside
`reporting_errors` and prints the result. Heavy modules are imported inside `main`,
so a mistyped flag fails at once.
"""

import contextlib
import sys

from tfgan_replica.errors import InputError


@contextlib.contextmanager
def reporting_errors(command, interrupted="interrupted"):
    """Turns an `InputError` into one line `command: message` and exit status 1, and
    Ctrl-C into one line and status 130 (the shell's "stopped by a signal")."""
    try:
        yield
    except InputError as error:
        sys.exit(f"{command}: {error}")
    except KeyboardInterrupt:
        print(f"{command}: {interrupted}", file=sys.stderr)
        sys.exit(130)


def no_positional_arguments(argv):
    """absl passes the program name and any stray words; every option is a --flag."""
    from absl import app

    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments {argv[1:]}; all options are --flags")
