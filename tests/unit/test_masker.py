"""The streaming masker of `exec --mask` (SPEC §9), property-style: however a stream is cut into
reads, the secret never gets through, the result is exactly the whole stream with every
occurrence replaced, and only a possible start of the secret is ever held back."""

from __future__ import annotations

import random

import pytest

from provctl.runner.masker import MASK, Masker

SECRET = b"sk-proj-Ab3xYz-0123456789"


def run(secret: bytes, chunks: list[bytes]) -> tuple[bytes, list[bytes]]:
    masker = Masker(secret)
    outs = [masker.feed(c) for c in chunks]
    outs.append(masker.flush())
    return b"".join(outs), outs


def cut(data: bytes, rnd: random.Random) -> list[bytes]:
    """``data`` in random pieces, one byte to a few dozen, sometimes empty."""
    pieces, i = [], 0
    while i < len(data):
        n = rnd.choice((0, 1, 1, 2, 3, 5, 8, 13, 40))
        pieces.append(data[i:i + n])
        i += n
    return pieces


def stream(secret: bytes, rnd: random.Random) -> bytes:
    """Text around occurrences of the secret, its prefixes and near misses."""
    parts = []
    for _ in range(rnd.randrange(1, 12)):
        kind = rnd.randrange(6)
        if kind == 0:
            parts.append(secret)
        elif kind == 1 and len(secret) > 1:
            parts.append(secret[: rnd.randrange(1, len(secret))])  # a prefix that never completes
        elif kind == 2:
            parts.append(secret[:-1] + b"!")  # a near miss at the very end
        elif kind == 3:
            parts.append(b"\n")
        else:
            parts.append(bytes(rnd.choice(b"abcsk-\n xyz0123") for _ in range(rnd.randrange(0, 30))))
    return b"".join(parts)


@pytest.mark.parametrize("secret", [SECRET, b"aa", b"abab", b"x", b"k\xc3\xa9y-\xe2\x82\xac", b"ed>abc"])
def test_random_chunkings_never_leak_and_equal_replacing_the_whole_stream(secret):
    rnd = random.Random(f"masker-{secret!r}")
    for _ in range(400):
        data = stream(secret, rnd)
        masked, outs = run(secret, cut(data, rnd))
        assert masked == data.replace(secret, MASK)
        if MASK.find(secret) == -1 and not any(secret.startswith(MASK[i:]) for i in range(1, len(MASK))):
            assert secret not in masked


def test_a_secret_split_across_every_position_is_masked():
    for i in range(1, len(SECRET)):
        masked, _ = run(SECRET, [b"key=" + SECRET[:i], SECRET[i:] + b"\n"])
        assert masked == b"key=<masked>\n"


def test_a_secret_split_byte_by_byte_is_masked():
    data = b"before " + SECRET + b" after " + SECRET
    masked, _ = run(SECRET, [bytes([b]) for b in data])
    assert masked == b"before <masked> after <masked>"


def test_a_line_is_passed_on_at_once():
    masker = Masker(SECRET)
    assert masker.feed(b"progress 10%\n") == b"progress 10%\n"
    assert masker.feed(b"token " + SECRET + b" used\n") == b"token <masked> used\n"


def test_only_a_possible_start_of_the_secret_is_held_back():
    masker = Masker(SECRET)
    assert masker.feed(b"value: sk-pr") == b"value: "  # "sk-pr" could become the secret
    assert masker.feed(b"ank\n") == b"sk-prank\n"  # it did not: released with what follows
    assert masker.feed(b"sk") == b""
    assert masker.flush() == b"sk"  # the end of the stream releases the rest


def test_the_held_tail_is_always_shorter_than_the_secret():
    rnd = random.Random(7)
    masker = Masker(SECRET)
    fed = out = 0
    for _ in range(2000):
        chunk = rnd.choice([SECRET[: rnd.randrange(1, len(SECRET))], b"s", b"sk-", b"x" * 5])
        fed += len(chunk)
        out += len(masker.feed(chunk))
        # what is held is at most len(SECRET) - 1 bytes behind what came in (masking only shortens
        # nothing here: no whole secret is ever fed in these chunks)
        assert fed - out <= len(SECRET) - 1


def test_no_secret_passes_everything_through():
    masker = Masker(None)
    assert masker.feed(b"anything sk-") == b"anything sk-"
    assert masker.flush() == b""


def test_the_repr_shows_neither_the_secret_nor_the_held_bytes():
    masker = Masker(SECRET)
    masker.feed(b"x " + SECRET[:10])
    assert SECRET[:10] not in repr(masker).encode()
