RATE = 0


def with_tax(cents: int) -> int:
    from shop.pricing import rounded  # a lazy import closes a cycle

    return int(rounded(cents * (1 + RATE)))
