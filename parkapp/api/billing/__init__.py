"""API namespaces for money: payments with receipts and refunds, memberships."""
