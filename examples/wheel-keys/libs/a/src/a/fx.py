"""Currency conversion: part of a, imported by nothing in b."""

from a.money import Money

RATES = {("EUR", "USD"): 1.08}


def convert(amount: Money, currency: str) -> Money:
    rate = RATES[(amount.currency, currency)]
    return Money(round(amount.cents * rate), currency)
