"""provctl's rules, standard library only and free of I/O: rows and references, labels,
the provider families, credentials, THE usable predicate, the resolve walk, the lift rules
and priority-list operations. Services load rows with ``db``, call these, and write back."""

from typing import Callable

# progress(phase, done, total): long operations (lift, import, refresh) report through it
Progress = Callable[[str, int, int], None]
