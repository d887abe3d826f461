"""The one error type every command reports: input the package cannot work with.

Library functions raise `InputError` for a flag value, file, folder, weights file or
run state they cannot use, with a message that names the problem and the fix, and do
so before any work wherever they can. It is a `ValueError`, so Python callers catch it
as one; subclasses name the kind for callers that handle one kind. The commands print
it as one line and exit with status 1 (`cli.reporting_errors`).
"""


class InputError(ValueError):
    """Input that cannot be used; the message says which and what to do instead."""
