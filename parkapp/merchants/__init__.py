"""Merchant validations: shops that pay part of their customers' parking.

Owns merchants (what they give, where, their monthly cap and staff), validating a ticket
or confirmation code at one of a merchant's lots (once per booking), the terms a
validation prices a stay with, and the monthly statement of what each merchant owes.
Billing reads the terms to price a stay and records what each validation gave.
"""
