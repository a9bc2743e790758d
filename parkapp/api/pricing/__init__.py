"""API namespaces for prices: rates, demand pricing, promo codes."""
