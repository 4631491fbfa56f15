"""Exceptions with messages meant for users: the CLI prints them as one line."""


class DpdownError(Exception):
    """Base class; ``exit_code`` is what the CLI exits with."""

    exit_code = 1


class ParameterError(DpdownError, ValueError):
    """A bad argument: unknown method or parameter, value out of range, bad size (exit 2)."""

    exit_code = 2


class ImageError(DpdownError):
    """An input that cannot be read or an output that cannot be written (exit 1)."""

    exit_code = 1


class Interrupted(KeyboardInterrupt):
    """A run stopped by Ctrl-C (SIGINT) or SIGTERM: ``signum`` says which, and a shell's exit
    status for it is ``exit_code`` (130, 143). ``summary``: what a batch finished before."""

    def __init__(self, signum: int = 2, summary=None):
        super().__init__(signum)
        self.signum = signum
        self.summary = summary

    @property
    def exit_code(self) -> int:
        return 128 + self.signum
