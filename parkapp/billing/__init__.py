"""Money: a stay's bill, promo codes, payments, refunds, receipts, Stripe Checkout, savings."""
