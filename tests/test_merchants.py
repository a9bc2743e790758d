"""Merchant validations: setting merchants up, validating a ticket or code, what a
validation takes off a stay at the gate, online and on the receipt, caps and statements.

The test lots charge 2.00 GBP per started hour (daily max 15.00) with a 10-minute grace.
"""

import io
import threading
from datetime import timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from parkapp.billing import bills, payments, receipts
from parkapp.booking import lifecycle
from parkapp.booking.claims import BookingRequest, create_booking
from parkapp.core.exceptions import Conflict, Forbidden, Invalid, NotFound
from parkapp.extensions import db
from parkapp.gate import passage as gate
from parkapp.merchants import merchants, statements, validations
from parkapp.merchants.merchants import MerchantInput
from parkapp.models import BookingStatus, MerchantStatement, User, Validation, utcnow
from parkapp.tasks.merchants import send_statements
from tests.merchant_fixtures import make_merchant

HOURS_3 = timedelta(hours=3) - timedelta(minutes=1)  # billed as 3 started hours: 6.00


def gate_stay(lot, operator, plate="SHOP1", inside=HOURS_3):
    booking, _ = gate.enter(lot.id, plate, operator=operator)
    booking.starts_at -= inside
    booking.checked_in_at -= inside
    db.session.commit()
    return booking


@pytest.fixture
def clerk(make_user):
    """A user who will be a merchant's staff (a driver account until linked)."""
    return make_user(email="clerk@shop.example", full_name="Casey Clerk")


@pytest.fixture
def shop(lot, clerk):
    """'Odeon' gives the first 2 hours free at `lot`; `clerk` validates for it."""
    return make_merchant([lot], [clerk])


def booked(start_h, end_h):
    """starts_at and ends_at of a reservation from +start_h to +end_h hours."""
    now = utcnow().replace(microsecond=0)
    return {
        "starts_at": now + timedelta(hours=start_h),
        "ends_at": now + timedelta(hours=end_h),
    }


def pdf_text(data):
    """A PDF's text with every run of whitespace as one space."""
    return " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages).split())


def lines(quote):
    return [(ln.label, ln.amount_cents) for ln in quote.lines]


# --- merchants -----------------------------------------------------------------------------


def test_a_merchant_is_created_with_its_lots_and_staff_who_get_the_role(lot, clerk):
    nook = make_merchant([lot], [clerk], name="Book Nook", kind="fixed", value=300)
    assert [x.id for x in nook.lots] == [lot.id] and nook.give_value == 300
    assert merchants.of_user(clerk).id == nook.id
    assert db.session.get(User, clerk.id).is_merchant
    merchants.update(nook, MerchantInput(staff_user_ids=[], given={"staff_user_ids"}))
    assert merchants.of_user(clerk) is None and not db.session.get(User, clerk.id).is_merchant


@pytest.mark.parametrize(
    "fields, field",
    [
        ({"name": " ", "give_kind": "fixed", "give_value": 100}, "name"),
        ({"name": "A", "give_kind": "gift", "give_value": 1}, "give_kind"),
        ({"name": "A", "give_kind": "free_hours", "give_value": 0}, "give_value"),
        ({"name": "A", "give_kind": "free_hours", "give_value": 73}, "give_value"),
        ({"name": "A", "give_kind": "fixed"}, "give_value"),
        ({"name": "A", "give_kind": "full_fee", "monthly_cap_cents": -1}, "monthly_cap_cents"),
        ({"name": "A", "give_kind": "full_fee", "billing_email": "nope"}, "billing_email"),
        ({"name": "A", "give_kind": "full_fee", "lot_ids": [999999]}, "lot_ids"),
    ],
)
def test_bad_merchant_fields_are_refused_by_name(fields, field):
    with pytest.raises(Invalid) as caught:
        merchants.create(MerchantInput(**fields))
    assert field in caught.value.errors


def test_names_are_unique_and_a_user_is_staff_of_one_merchant(lot, clerk):
    make_merchant([lot], [clerk], name="Odeon")
    with pytest.raises(Conflict) as caught:
        make_merchant([lot], name="odeon")
    assert caught.value.code == "name_taken"
    with pytest.raises(Conflict) as caught:
        make_merchant([lot], [clerk], name="Cinema Two")
    assert caught.value.code == "staff_of_another_merchant"


# --- validating -----------------------------------------------------------------------------


def test_staff_validate_a_gate_ticket_typed_loosely_once(shop, clerk, operator, lot):
    stay = gate_stay(lot, operator)
    typed = stay.ticket_number.lower().replace("-", " ")
    validation = validations.validate(clerk, typed)
    assert (validation.booking_id, validation.validated_by_id) == (stay.id, clerk.id)
    with pytest.raises(Conflict) as caught:
        validations.validate(clerk, stay.ticket_number)
    assert caught.value.code == "already_validated"


def test_a_confirmation_code_validates_a_booking(shop, clerk, driver, lot):
    booking = create_booking(
        driver,
        BookingRequest(
            lot_id=lot.id,
            plate="RES1",
            **booked(2, 5),
        ),
    )
    validations.validate(clerk, booking.confirmation_code)
    quote = bills.bill(booking).quote
    assert lines(quote)[-1] == ("Validated by Odeon", -400)
    assert quote.total_cents == 200


@pytest.mark.parametrize("typed", ["", "hello", "T-123", "ABCDEFGHJ", "x" * 41, 12])
def test_what_is_no_code_is_422(shop, clerk, typed):
    with pytest.raises(Invalid):
        validations.validate(clerk, typed)


def test_unknown_codes_and_other_lots_are_404_alike(shop, clerk, operator, make_lot):
    elsewhere = make_lot()
    stay = gate_stay(elsewhere, operator)
    with pytest.raises(NotFound):
        validations.validate(clerk, "T-7KQ2MX4PZ9HD")
    with pytest.raises(NotFound):
        validations.validate(clerk, stay.ticket_number)
    assert db.session.scalar(select(func.count(Validation.id))) == 0


def test_only_staff_of_an_active_merchant_validate(shop, clerk, driver, operator, lot):
    stay = gate_stay(lot, operator)
    with pytest.raises(Forbidden):
        validations.validate(driver, stay.ticket_number)
    merchants.update(shop, MerchantInput(active=False, given={"active"}))
    with pytest.raises(Forbidden) as caught:
        validations.validate(clerk, stay.ticket_number)
    assert caught.value.code == "merchant_inactive"


def test_a_cancelled_booking_cannot_be_validated(shop, clerk, driver, lot):
    booking = create_booking(
        driver,
        BookingRequest(
            lot_id=lot.id,
            plate="GONE1",
            **booked(2, 3),
        ),
    )
    lifecycle.cancel(booking, driver)
    with pytest.raises(Conflict) as caught:
        validations.validate(clerk, booking.confirmation_code)
    assert caught.value.code == "not_validatable"


def test_two_validations_of_one_code_at_once_one_wins(app, lot, make_user, operator):
    first, second = make_user(), make_user()
    make_merchant([lot], [first], name="Shop A")
    make_merchant([lot], [second], name="Shop B")
    ticket = gate_stay(lot, operator).ticket_number
    ids, barrier, outcomes = [first.id, second.id], threading.Barrier(2), []

    def validate(user_id):
        with app.app_context():
            try:
                barrier.wait()
                validations.validate(db.session.get(User, user_id), ticket)
                outcomes.append("validated")
            except Conflict as exc:
                outcomes.append(exc.code)
            except Exception as exc:  # reported by the assertion below
                outcomes.append(repr(exc))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=validate, args=(i,)) for i in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["already_validated", "validated"], outcomes
    db.session.rollback()
    assert db.session.scalar(select(func.count(Validation.id))) == 1


# --- what a validation gives ---------------------------------------------------------------


@pytest.mark.parametrize(
    "kind, value, off",
    [
        ("full_fee", 0, 600),
        ("free_hours", 2, 400),
        ("free_hours", 5, 600),
        ("fixed", 250, 250),
        ("fixed", 5000, 600),
    ],
)
def test_the_discount_is_the_fee_the_hours_or_the_amount_never_more(
    lot, clerk, operator, kind, value, off
):
    make_merchant([lot], [clerk], kind=kind, value=value)
    stay = gate_stay(lot, operator)
    validations.validate(clerk, stay.ticket_number)
    quote = gate.fee(stay).quote
    assert lines(quote) == [*lines(quote)[:-1], ("Validated by Odeon", -off)]
    assert quote.total_cents == 600 - off == sum(a for _, a in lines(quote))


def test_gate_exit_shows_the_line_takes_the_rest_and_records_the_amount(shop, clerk, operator, lot):
    stay = gate_stay(lot, operator)
    validations.validate(clerk, stay.ticket_number)
    bill = gate.fee(stay)
    assert bill.due_cents == 200 and lines(bill.quote)[-1] == ("Validated by Odeon", -400)
    with pytest.raises(Conflict, match=r"^2\.00 GBP is due"):
        gate.leave(stay, operator=operator)
    payment, left = gate.pay_and_leave(
        stay, method="card", amount_cents=200, idempotency_key="val-1", operator=operator
    )
    assert left.status == BookingStatus.COMPLETED and left.price_cents == 200
    assert db.session.scalar(select(Validation.amount_cents)) == 400
    text = pdf_text(receipts.receipt_pdf(payment))
    assert "3 h at 2.00 GBP/h 6.00 GBP Validated by Odeon -4.00 GBP Total 2.00 GBP" in text


def test_a_fully_validated_stay_leaves_without_paying(lot, clerk, operator):
    make_merchant([lot], [clerk], kind="full_fee", value=0)
    stay = gate_stay(lot, operator)
    validations.validate(clerk, stay.ticket_number)
    left = gate.leave(stay, operator=operator)
    assert left.status == BookingStatus.COMPLETED and left.price_cents == 0
    assert db.session.scalar(select(Validation.amount_cents)) == 600


def test_an_online_payment_pays_the_validated_total(shop, clerk, driver, lot):
    booking = create_booking(
        driver,
        BookingRequest(
            lot_id=lot.id,
            plate="ONL1",
            **booked(2, 5),
        ),
    )
    validations.validate(clerk, booking.confirmation_code)
    with pytest.raises(Invalid, match=r"2\.00 GBP"):
        payments.prepay(booking, driver, amount_cents=600, idempotency_key="onl-x")
    payment = payments.prepay(booking, driver, amount_cents=200, idempotency_key="onl-1")
    assert payment.amount_cents == 200
    assert db.session.scalar(select(Validation.amount_cents)) == 400
    text = pdf_text(receipts.receipt_pdf(payment))
    assert "6.00 GBP Validated by Odeon -4.00 GBP Total 2.00 GBP" in text


# --- the monthly cap ---------------------------------------------------------------------------


def test_a_merchant_at_its_cap_validates_no_more_and_the_last_gives_what_was_left(
    lot, clerk, operator
):
    make_merchant(
        [lot],
        [clerk],
        kind="full_fee",
        value=0,
        monthly_cap_cents=1000,
        given={"name", "give_kind", "give_value", "lot_ids", "staff_user_ids", "monthly_cap_cents"},
    )
    first = gate_stay(lot, operator, "CAP1")
    validations.validate(clerk, first.ticket_number)
    gate.leave(first, operator=operator)  # 6.00 given
    second = gate_stay(lot, operator, "CAP2")
    validations.validate(clerk, second.ticket_number)
    assert lines(gate.fee(second).quote)[-1] == ("Validated by Odeon", -400)  # 4.00 left
    gate.pay_and_leave(
        second, method="cash", amount_cents=200, idempotency_key="cap-2", operator=operator
    )
    third = gate_stay(lot, operator, "CAP3")
    with pytest.raises(Conflict) as caught:
        validations.validate(clerk, third.ticket_number)
    assert caught.value.code == "cap_reached" and "monthly cap" in caught.value.message


def test_stays_validated_before_any_is_priced_never_give_more_than_the_cap_together(
    make_lot, clerk, operator
):
    """Three open stays validated while nothing was priced: each could take the whole 10.00;
    priced one after another, they give 6.00, then the 4.00 left, then nothing."""
    lot = make_lot(spots={"standard": 3})
    make_merchant(
        [lot],
        [clerk],
        kind="full_fee",
        value=0,
        monthly_cap_cents=1000,
        given={"name", "give_kind", "give_value", "lot_ids", "staff_user_ids", "monthly_cap_cents"},
    )
    stays = [gate_stay(lot, operator, f"OPEN{i}") for i in range(3)]
    for stay in stays:
        assert validations.validate(clerk, stay.ticket_number).limit_cents == 1000
    assert [lines(gate.fee(s).quote)[-1] for s in stays] == [("Validated by Odeon", -600)] * 3

    first = gate.leave(stays[0], operator=operator)
    assert first.price_cents == 0
    assert lines(gate.fee(stays[1]).quote)[-1] == ("Validated by Odeon", -400)
    with pytest.raises(Conflict, match=r"^2\.00 GBP is due"):
        gate.leave(stays[1], operator=operator)
    gate.pay_and_leave(
        stays[1], method="cash", amount_cents=200, idempotency_key="open-2", operator=operator
    )
    _, third = gate.pay_and_leave(
        stays[2], method="cash", amount_cents=600, idempotency_key="open-3", operator=operator
    )
    assert third.price_cents == 600
    given = db.session.scalars(select(Validation.amount_cents).order_by(Validation.id)).all()
    assert given == [600, 400, 0] and sum(given) == 1000


# --- statements ----------------------------------------------------------------------------


def test_the_month_end_statement_is_mailed_once_with_its_pdf(shop, clerk, operator, lot, mailbox):
    stay = gate_stay(lot, operator)
    validation = validations.validate(clerk, stay.ticket_number)
    last_month = utcnow().replace(day=1) - timedelta(days=3)
    validation.created_at = last_month
    db.session.commit()  # made last month, the stay still open: priced by the task
    month = merchants.month_of(last_month)
    assert send_statements() == 1
    assert send_statements() == 0  # once per merchant and month
    (message,) = mailbox.to("clerk@shop.example")
    assert message["Subject"] == f"Parking validations {month}: Odeon"
    parts = [p for p in message.walk() if p.get_content_type() == "application/pdf"]
    assert len(parts) == 1 and parts[0].get_filename() == f"statement-merchant{shop.id}-{month}.pdf"
    text = pdf_text(parts[0].get_payload(decode=True))
    assert "Odeon" in text and stay.ticket_number in text and "Casey Clerk" in text
    assert "Total owed: 4.00 GBP" in text
    row = db.session.scalar(select(MerchantStatement))
    assert (row.month, row.total_cents, row.sent_at is not None) == (month, 400, True)


def test_the_statement_goes_to_the_billing_email_when_there_is_one(lot, clerk, operator, mailbox):
    deli = make_merchant([lot], [clerk], name="Deli", billing_email="Accounts@Deli.example")
    stay = gate_stay(lot, operator)
    validations.validate(clerk, stay.ticket_number)
    month = merchants.month_of(utcnow())
    assert statements.send_statement(deli, month)
    assert len(mailbox.to("accounts@deli.example")) == 1 and not mailbox.to("clerk@shop.example")


def test_a_validated_booking_cancelled_later_costs_the_merchant_nothing(shop, clerk, driver, lot):
    booking = create_booking(driver, BookingRequest(lot_id=lot.id, plate="LATER1", **booked(2, 5)))
    validation = validations.validate(clerk, booking.confirmation_code)
    lifecycle.cancel(booking, driver)
    validation = db.session.get(Validation, validation.id)
    validation.created_at = utcnow().replace(day=1) - timedelta(days=2)
    db.session.commit()
    assert send_statements() == 1
    assert db.session.scalar(select(Validation.amount_cents)) == 0
    assert db.session.scalar(select(MerchantStatement.total_cents)) == 0
