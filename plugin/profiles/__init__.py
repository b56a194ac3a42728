"""Customer profiles: customers, orders, checkouts, products and the metrics projection."""
