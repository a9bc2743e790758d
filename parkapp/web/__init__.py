"""What the page blueprints and the API share: local-time form fields, export job words,
checkout return links, and the audit log of staff actions."""
