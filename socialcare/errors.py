"""The core's own error for a person's mistake; the CLI prints it as one line and exits 1."""


class UserError(Exception):
    """A mistake in what the user asked for; the message says what to do instead."""
