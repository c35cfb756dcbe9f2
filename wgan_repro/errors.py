"""Errors that reach the user as one line on stderr, each with its own exit code."""


class WganReproError(Exception):
    """Base class: the message is shown as-is, without a traceback."""

    exit_code = 1


class ConfigError(WganReproError):
    """Unknown key or option, wrong type, impossible value."""

    exit_code = 2


class DataError(WganReproError):
    """Missing, empty or unreadable dataset."""

    exit_code = 3


class CheckpointError(WganReproError):
    """Corrupted, foreign or mismatching checkpoint."""

    exit_code = 4


class ResultsError(WganReproError):
    """Results path unusable (a file, not writable, disk full)."""

    exit_code = 5


EXIT_CODES = {
    0: "success",
    1: "unexpected internal error (rerun with --debug for the traceback)",
    2: "bad command line or config (unknown key/option, wrong type, impossible value)",
    3: "dataset missing, empty or unreadable",
    4: "checkpoint corrupted, foreign, or made with another config",
    5: "results path not usable (a file, not writable, disk full)",
    130: "interrupted (Ctrl-C); rerun the same command to resume",
}
