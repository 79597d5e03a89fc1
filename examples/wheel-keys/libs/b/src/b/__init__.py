"""b: a shopping cart, priced with a's Money."""

from b.cart import Cart

__all__ = ["Cart"]
