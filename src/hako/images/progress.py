"""What pulls, pushes and loads report while they run; the API renders it as Docker's JSON
progress messages. Implementations must be callable from worker threads."""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    def status(self, message: str, id: str | None = None) -> None:
        """A line: "Pulling fs layer" for a layer id, or "Digest: …" for the whole operation."""

    def layer(self, id: str, message: str) -> None:
        """A layer's state: "Pulling fs layer", "Pull complete", "Pushed"…"""

    def bytes(self, id: str, action: str, current: int, total: int) -> None:
        """"Downloading", "Extracting", "Pushing": ``current`` of ``total`` bytes."""

    def aux(self, data: dict) -> None:
        """A result the client reads, such as a push's {"Tag", "Digest", "Size"}."""


class NoProgress:
    def status(self, message: str, id: str | None = None) -> None:
        pass

    def layer(self, id: str, message: str) -> None:
        pass

    def bytes(self, id: str, action: str, current: int, total: int) -> None:
        pass

    def aux(self, data: dict) -> None:
        pass
