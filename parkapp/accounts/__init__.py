"""Accounts: users and roles, API tokens, vehicles and their plates."""
