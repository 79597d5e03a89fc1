import importlib


def load(fmt: str):
    if fmt == "csv":
        return importlib.import_module(".csv_export", package="shop.plugins")
    raise ValueError(fmt)
