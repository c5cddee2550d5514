"""Named extension points: a domain declares one, other domains' functions are connected to it at start-up.

A lower domain cannot import the domains above it, yet some of its changes concern them (a customer merge
moves conversations; a deleted source leaves agents). The lower domain declares `Hooks` and calls every
connected function inside its own service function, in the same transaction. Connections are made in one
place, `woes.wiring.wire()`, never as a side effect of importing a module.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

F = TypeVar("F", bound=Callable[..., object])


class Hooks(Generic[F]):
    def __init__(self, name: str) -> None:
        self.name = name
        self._functions: list[F] = []

    def connect(self, function: F) -> None:
        if function not in self._functions:  # wiring twice (an app and a worker in one process) connects once
            self._functions.append(function)

    def disconnect(self, function: F) -> None:
        if function in self._functions:
            self._functions.remove(function)

    def __iter__(self) -> Iterator[F]:
        return iter(list(self._functions))

    def __repr__(self) -> str:
        return f"Hooks({self.name!r}, {[getattr(f, '__qualname__', f) for f in self._functions]})"
