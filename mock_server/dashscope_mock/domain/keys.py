"""How the mock keeps an API key: never in clear. An *account* is the key masked (``sk-…`` and its last four
characters, what a person needs to recognise it) plus a hash to match requests by. Tasks, uploads, rate windows and
the journal hold accounts; listings show the masked part only. A developer who points code at the mock with a real
``DASHSCOPE_API_KEY`` leaks it nowhere: not in the journal, the task listings, the logs or a SQLite/Redis state."""

from __future__ import annotations

import hashlib
import re

__all__ = ["account", "account_hash", "masked"]

_SEPARATOR = "#"
_DIGEST = re.compile(r"[0-9a-f]{32}")


def account(key: str) -> str:
    """The key as the mock keeps it: ``sk-…abcd#<hash>``."""
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    # A short key keeps no characters (four would be most of it) but a tag of its hash, so that two test keys'
    # tasks still look apart in listings and logs.
    tail = key[-4:] if len(key) >= 12 else "~" + digest[:4]
    return f"{key[:3]}…{tail}{_SEPARATOR}{digest}"


def masked(stored: str) -> str:
    """What may be shown of a stored account (or of a key): ``sk-…abcd``."""
    if _SEPARATOR in stored:
        return stored.split(_SEPARATOR, 1)[0]
    return account(stored).split(_SEPARATOR, 1)[0]


def account_hash(stored: str) -> str:
    """The hash an account (``account``) is matched by: its part after the masked key. It names the account without
    revealing the key (an upload policy, readable by its client, carries it as the owner). Of a key: its account's."""
    _, separator, digest = stored.rpartition(_SEPARATOR)
    if separator and _DIGEST.fullmatch(digest):
        return digest
    return account(stored).rpartition(_SEPARATOR)[2]
