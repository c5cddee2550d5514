"""`with obj:` for objects that hold a connection pool and have a `close()`."""

from __future__ import annotations

from typing import Self


class ClosesOnExit:
    """Mixin: `__enter__` gives the object, `__exit__` calls its `close()`."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
