"""The build's error: a step that cannot go on, with the message Docker's stream would carry."""

from __future__ import annotations

from ..errdefs import InvalidArgument


class BuildError(InvalidArgument):
    """A build that stopped: the message is what Docker's stream says."""
