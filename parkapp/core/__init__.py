"""What every domain shares: errors, hooks between domains, mail with its outbox, time zones,
money, codes, CSV and PDF helpers, links for emails, readiness checks. Imports no domain."""
