import csv
import io


def render(items: dict) -> str:
    out = io.StringIO()
    csv.writer(out).writerows(sorted(items.items()))
    return out.getvalue()
