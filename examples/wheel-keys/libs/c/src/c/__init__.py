"""c: independent of a and b."""


def greet(name: str) -> str:
    return f"hello, {name}"
