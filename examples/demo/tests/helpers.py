def fill(cart, **counts):
    for sku, n in counts.items():
        cart.add(sku, n)
    return cart
