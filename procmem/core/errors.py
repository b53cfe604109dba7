"""The one error type the `procmem` command prints as a message instead of a traceback.

Every stage raises a subclass of ProcmemError for bad input. The message must name the
thing that is wrong and what to do about it ("program gen/1/42 failed to compile: line 7:
undeclared identifier 'foo'"), because it is all the user sees.
"""


class ProcmemError(Exception):
    """Bad input or a failed job, described well enough to act on."""
