"""a: money arithmetic, used by b."""

from a.money import Money

__all__ = ["Money"]
