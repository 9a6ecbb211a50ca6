"""The event bus: what happened to containers and images, for `/events` and for waiting.

Publishers call `publish`; subscribers get an asyncio.Queue of every later event. A bounded history
answers `since` for events already past, as Docker keeps its last 256.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass, field

HISTORY = 1024


@dataclass
class Event:
    type: str                  # container, image, network, volume, daemon
    action: str                # create, start, die, destroy, pull, tag, untag, delete, …
    actor_id: str
    attributes: dict[str, str] = field(default_factory=dict)
    time_nano: int = field(default_factory=time.time_ns)


class EventBus:
    def __init__(self):
        self.history: deque[Event] = deque(maxlen=HISTORY)
        self.subscribers: set[asyncio.Queue] = set()
        self._loop: asyncio.AbstractEventLoop | None = None

    def publish(self, event: Event) -> None:
        """From the loop, or from a worker thread (handed over to the loop: the queues are not
        thread-safe)."""
        try:
            self._loop = asyncio.get_running_loop()
        except RuntimeError:
            if self._loop is not None and not self._loop.is_closed():
                self._loop.call_soon_threadsafe(self.publish, event)
                return
        self.history.append(event)
        for queue in self.subscribers:
            queue.put_nowait(event)

    def emit(self, type_: str, action: str, actor_id: str, **attributes: str) -> None:
        self.publish(Event(type_, action, actor_id, {k: v for k, v in attributes.items() if v is not None}))

    def subscribe(self) -> asyncio.Queue:
        queue: asyncio.Queue = asyncio.Queue()
        self.subscribers.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue) -> None:
        self.subscribers.discard(queue)

    def since(self, since_nano: int, until_nano: int | None = None) -> list[Event]:
        return [e for e in self.history if e.time_nano >= since_nano and (until_nano is None or e.time_nano <= until_nano)]
