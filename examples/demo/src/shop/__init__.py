"""A tiny shop: carts, prices and plugins."""

from .cart import Cart

__all__ = ["Cart"]
