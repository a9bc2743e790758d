"""The business rules, shared by pages, the API and background tasks."""
