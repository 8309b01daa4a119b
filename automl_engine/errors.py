"""Errors the engine raises for bad input, with messages meant for people, not programmers."""


class DataError(ValueError):
    """The data cannot be used as given. The message says what to change."""
