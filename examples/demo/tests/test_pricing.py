from shop.pricing import price_of


def test_price():
    assert price_of("pear") == 45
