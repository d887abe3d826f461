"""The command-line apps, one module per command: flags in, one library call, errors out.

    ./run.sh train --preset=mlp_bce      # python -m tfgan_replica.cli.train --preset=mlp_bce
    tfgan-train --preset=mlp_bce         # the console script setup.cfg installs

Each app parses its flags with absl (started by `run`, from the module's `start`), calls
one library function inside `reporting_errors` and prints the result. Heavy modules are
imported inside `main`, so a mistyped flag fails at once.
"""

import contextlib
import os
import sys

from tfgan_replica import run_clock
from tfgan_replica.errors import InputError

# run.sh names the command as the user typed it (`./run.sh train`) here, for the help text.
COMMAND_VARIABLE = "TFGAN_REPLICA_COMMAND"


def run(main):
    """`absl.app.run(main)` with help that names the command as it was typed (run.sh's
    `COMMAND_VARIABLE`, else `python -m MODULE`, else a console script's name, such as
    `tfgan-train`) and exits with status 0, not absl's 1."""
    from absl import app, flags

    script = sys.modules["__main__"]
    spec = script.__spec__
    # Popped, so that commands this one starts name themselves.
    typed = os.environ.pop(COMMAND_VARIABLE, None) or (f"python -m {spec.name}" if spec
                                                        else os.path.basename(sys.argv[0]))
    # absl files a module's flags under its name, the main module's under sys.argv[0], and
    # its help lists the flags filed under sys.argv[0].
    defined_in = sys.argv[0] if main.__module__ == "__main__" else main.__module__
    for by_module in (flags.FLAGS.flags_by_module_dict(), flags.FLAGS.key_flags_by_module_dict()):
        if defined_in in by_module:
            by_module[typed] = by_module.pop(defined_in)
    # absl's help starts with __main__'s docstring; a console script's __main__ has none.
    script.__doc__ = sys.modules[main.__module__].__doc__
    sys.argv[0] = typed
    run_clock.count_suspensions()  # Ctrl-Z pauses a run without adding to its clock
    app.run(main, flags_parser=_parse_flags)


def _parse_flags(argv):
    """absl's parsing, except that asking for help is no error (absl's help flags print it
    and exit with status 1, while a bad flag exits from the `flags.Error` it reports) and
    that Python logging (absl's and TensorFlow's, such as a line per checkpoint save) stays
    at WARNING unless `--verbosity` is given, where absl would raise it to INFO."""
    from absl import app, flags, logging

    try:
        argv = app.parse_flags_with_usage(argv)
    except SystemExit as stop:
        if stop.code == 1 and not isinstance(stop.__context__, flags.Error):
            sys.exit(0)
        raise
    if flags.FLAGS["verbosity"].using_default_value:
        flags.FLAGS.verbosity = logging.WARNING
    return argv


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
