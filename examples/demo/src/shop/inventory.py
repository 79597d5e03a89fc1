try:
    import ujson as json
except ImportError:
    import json


class Inventory:
    def __init__(self, text: str) -> None:
        self.stock = json.loads(text)
