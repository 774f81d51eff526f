"""An explicit, ordered name -> object registry.

Every pluggable family in the project (MI estimators, training methods, tasks,
PEFT methods) is one ``Registry``. Registration is explicit: a module calls
``REGISTRY.register("name")(obj)`` once, and a duplicate name raises, so two
plug-ins can never silently shadow each other.
"""
from __future__ import annotations

from typing import Callable, Generic, Iterator, TypeVar

from predgen_common.errors import UserError

T = TypeVar("T")


class Registry(Generic[T]):
    """A named collection of plug-ins of one kind.

    Parameters
    ----------
    kind:
        What the entries are ("estimator", "task", ...); used in error messages.
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator (or plain call) that adds ``obj`` under ``name``.

        Raises ``ValueError`` on a duplicate or empty name: that is a bug in the
        code registering, not bad user input.
        """
        if not name or not name.replace("-", "_").replace(".", "_").isidentifier():
            raise ValueError(f"invalid {self.kind} name {name!r}")

        def add(obj: T) -> T:
            if name in self._entries:
                raise ValueError(f"{self.kind} {name!r} is already registered")
            self._entries[name] = obj
            return obj

        return add

    def get(self, name: str) -> T:
        """The entry called ``name``; a :class:`UserError` listing the valid names otherwise."""
        try:
            return self._entries[name]
        except KeyError:
            raise UserError(
                f"unknown {self.kind} {name!r}; choose one of: {', '.join(self.list())}"
            ) from None

    def list(self) -> list[str]:
        """Registered names, in registration order (feeds the CLI's choices)."""
        return list(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)
