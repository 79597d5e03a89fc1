"""A cart of priced items."""

from a.money import Money


class Cart:
    def __init__(self) -> None:
        self.items: list = []

    def add(self, name: str, price: Money) -> None:
        self.items.append((name, price))

    def total(self) -> Money:
        total = Money(0)
        for _, price in self.items:
            total = total + price
        return total
