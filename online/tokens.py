"""Short secrets for patients' texts, stored only as keyed hashes."""

from __future__ import annotations

import secrets
import string

from django.utils.crypto import salted_hmac

# Letters and digits that cannot be misread for one another on a phone (no 0/O, 1/l/I).
ALPHABET = "".join(c for c in string.ascii_letters + string.digits if c not in "0O1lI")
# 10 characters of 57: about 58 bits, far beyond guessing at the public pages' rate limits.
TOKEN_LENGTH = 10


def new_token() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(TOKEN_LENGTH))


def new_code() -> str:
    """A six-digit verification code."""
    return f"{secrets.randbelow(10**6):06d}"


def digest(secret: str, *, purpose: str) -> str:
    """A hash of `secret` keyed by SECRET_KEY, so a copy of the database alone cannot
    be used to try six-digit codes offline."""
    return salted_hmac(f"online.{purpose}", secret, algorithm="sha256").hexdigest()
