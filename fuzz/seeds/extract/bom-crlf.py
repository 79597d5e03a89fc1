import bom_mod
from x import (
    y,
)
