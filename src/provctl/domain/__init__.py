"""provctl's rules, standard library only and free of I/O: rows and references, labels,
the provider families, credentials, THE usable predicate, the resolve walk, the lift rules
and priority-list operations. Services load rows with ``db``, call these, and write back."""

from typing import Callable, TypeVar

# progress(phase, done, total): long operations (lift, import, refresh) report through it
Progress = Callable[[str, int, int], None]

T = TypeVar("T")


def memoized(fn: Callable[[str], T]) -> Callable[[str], T]:
    """``fn`` with a memo, for bulk work where the same strings come back again and again (the
    labels and agent names of 100,000 lift rows). A plain dict: cheaper per call than
    ``functools.lru_cache``."""
    memo: dict[str, T] = {}

    def cached(text: str) -> T:
        value = memo.get(text)
        if value is None:
            value = memo[text] = fn(text)
        return value

    return cached
