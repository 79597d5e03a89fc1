import ok
def f(:
    import inside_broken
x = (1, [2, {3
import after_unclosed
s = """never closed
import in_string
