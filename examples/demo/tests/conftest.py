pytest_plugins = ["fixtures.carts"]
