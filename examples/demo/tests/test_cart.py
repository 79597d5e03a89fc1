from helpers import fill


def test_total(cart):
    assert fill(cart, apple=2).total() == 60


def test_export(cart):
    assert fill(cart, pear=1).export("csv") == "pear,1\r\n"
