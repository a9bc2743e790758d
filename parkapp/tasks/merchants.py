"""Month-end merchant statements: each merchant's validations of last month, mailed once."""

from celery import shared_task

from parkapp.billing import validated
from parkapp.merchants import merchants as merchant_rules
from parkapp.merchants import statements
from parkapp.models import utcnow


def send_statements(month=None, now=None):
    """Price last month's unpriced validations, then mail every merchant its statement.

    Returns how many statements went out now; a merchant already sent its statement of the
    month is skipped (see `statements.send_statement`).
    """
    now = now or utcnow()
    month = month or merchant_rules.previous_month(merchant_rules.month_of(now))
    start, end = merchant_rules.month_bounds(month)
    sent = 0
    for merchant in statements.due_merchants(month):
        validated.price_unpriced(merchant.id, start, end, now)
        sent += bool(statements.send_statement(merchant, month))
    return sent


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def merchant_statements():
    """Mail last month's statement to every merchant with validations in it."""
    return send_statements()
