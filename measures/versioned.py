"""Values worked out once per data version of a store and shared read-only by everything in the process."""

from __future__ import annotations

import threading
import weakref
from typing import Callable, Generic, Hashable, TypeVar

Value = TypeVar("Value")

# Every holder made, so that all of them can be emptied at once (as a benchmark of a first run after new data does).
_HOLDERS: weakref.WeakSet = weakref.WeakSet()


class PerVersion(Generic[Value]):
    """A few values per store and data version, each worked out on first use and then shared.

    The key is the store's path and its `data_version()`, read before the value is worked out: a write committed
    meanwhile makes a new version, so a value read from newer data can sit under the older key (harmless, soon
    unused) but never the reverse. The oldest entries go past `kept`. Values are shared, so callers must not change
    them."""

    def __init__(self, kept: int):
        self._kept = kept
        self._values: dict[tuple, Value] = {}
        self._lock = threading.Lock()
        _HOLDERS.add(self)

    def get(self, store, key: tuple[Hashable, ...], build: Callable[[], Value]) -> Value:
        """The value for `key` in the store's current data version, `build()` the first time it is asked for."""
        full = (str(store.path), store.data_version(), *key)
        with self._lock:
            if full in self._values:
                return self._values[full]
        value = build()
        with self._lock:
            while len(self._values) >= self._kept:
                self._values.pop(next(iter(self._values)))
            self._values[full] = value
        return value

    def clear(self) -> None:
        with self._lock:
            self._values.clear()


def clear_all() -> None:
    """Forget every value held, as after a new publication."""
    for holder in list(_HOLDERS):
        holder.clear()
