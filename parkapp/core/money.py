"""Money for people: integer cents with a currency, formatted one way everywhere."""


def amount(cents):
    """Cents as a decimal amount: -150 -> "-1.50" ('' for None)."""
    if cents is None:
        return ""
    sign = "-" if cents < 0 else ""
    return f"{sign}{abs(cents) // 100}.{abs(cents) % 100:02d}"


def money(cents, currency):
    """Cents with their currency: 1250, "USD" -> "12.50 USD"."""
    return f"{amount(cents)} {currency}"
