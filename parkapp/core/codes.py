"""Short unguessable codes people read aloud: confirmation codes, tickets."""

import secrets

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I


def new_code(length=10):
    """An unguessable booking confirmation code."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(length))
