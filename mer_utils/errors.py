"""User-facing errors.

Every module raises :class:`MerError` for problems the user can fix (a missing
file, a bad parameter, an unreadable clip).  Its message names the file or value
and says what to do; the command line prints it on one line and exits non-zero
instead of showing a traceback.
"""


class MerError(Exception):
    """A problem with the user's input: the message names it and the fix."""


class AudioReadError(MerError):
    """A clip that cannot be decoded (missing, empty, corrupt or too short)."""
