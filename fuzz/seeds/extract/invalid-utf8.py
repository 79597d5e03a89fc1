import good
ÿþ bad utf-8
import after_bad
