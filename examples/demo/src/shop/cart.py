from __future__ import annotations

from typing import TYPE_CHECKING

from .pricing import price_of

if TYPE_CHECKING:
    from shop.inventory import Inventory


class Cart:
    def __init__(self, inventory: Inventory | None = None) -> None:
        self.items: dict[str, int] = {}
        self.inventory = inventory

    def add(self, sku: str, count: int = 1) -> None:
        self.items[sku] = self.items.get(sku, 0) + count

    def total(self) -> int:
        return sum(price_of(sku) * n for sku, n in self.items.items())

    def export(self, fmt: str) -> str:
        from shop.plugins import loader

        return loader.load(fmt).render(self.items)
