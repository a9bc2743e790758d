"""Who may use each route: one line per endpoint, checked by tests/test_route_policy.py.

Every URL rule of the app (pages and API, every method but HEAD and OPTIONS) must have a
line here, and every line must name a rule that exists: a new route cannot ship without
saying who may use it. A line is `endpoint: POLICY` when all its methods share a policy,
else `endpoint: {METHOD: POLICY, ...}`.

Each policy says how the walk's six identities must be answered (the sixth, `merchant`,
is a driver who is also a shop's staff: the `merchant` role). The walk fills URL
parameters with driver A's objects (or objects of the app's, like the lot), so:

- allowed: anything but the refusals below (a 422 for an empty form or a 409 for the wrong
  state still means the route let the caller in), never a 5xx;
- denied: anonymous callers are sent to the login page (pages) or get 401 (API); a logged-in
  caller with the wrong role gets 403;
- hidden: 404, as if the object did not exist (another driver's booking, vehicle, ...);
- restart: sent to the login page, whoever calls (a step of a login in progress, called
  outside one).
"""

from dataclasses import dataclass

ALLOWED, DENIED, HIDDEN, RESTART = "allowed", "denied", "hidden", "restart"
IDENTITIES = ("anonymous", "driver_a", "driver_b", "operator", "admin", "merchant")


@dataclass(frozen=True)
class Policy:
    """The expected outcome for each identity."""

    name: str
    anonymous: str
    driver_a: str
    driver_b: str
    operator: str
    admin: str
    merchant: str

    def expect(self, identity):
        """ALLOWED, DENIED or HIDDEN for one identity."""
        return getattr(self, identity)


D, A, H, R = DENIED, ALLOWED, HIDDEN, RESTART
# The merchant's clerk is also a driver (other than A): driver routes let them in, A's
# objects are hidden from them, staff routes refuse them, the validation routes serve them.
#                      name                anon  A  B  operator admin merchant
PUBLIC = Policy("public", A, A, A, A, A, A)
LOGGED_IN = Policy("logged in", D, A, A, A, A, A)  # any account; acts on the caller's own data
DRIVER = Policy("driver role", D, A, A, D, D, A)  # the `user` role, not staff
OWNER = Policy("owner only", D, A, H, H, H, H)
DRIVER_OWNER = Policy("driver owner", D, A, H, D, D, H)  # the `user` role, and their own object
OWNER_OR_STAFF = Policy("owner or staff", D, A, H, A, A, H)
OWNER_OR_ADMIN = Policy("owner or admin", D, A, H, H, A, H)
STAFF = Policy("operator or admin", D, D, D, A, A, D)
ADMIN = Policy("admin", D, D, D, D, A, D)
LOGIN_STEP = Policy("login step", R, R, R, R, R, R)  # only inside a login under way
SIGNED_OUT_STEP = Policy("signed-out login step", R, A, A, A, A, A)  # signed in: sent home
NOWHERE = Policy("404 for everyone", H, H, H, H, H, H)  # a rule that serves nothing
# Only merchant staff (the `merchant` role) validate; an admin sees every validation.
MERCHANT_STAFF = Policy("merchant staff", D, D, D, D, D, A)
MERCHANT_OR_ADMIN = Policy("merchant staff or admin", D, D, D, D, A, A)

# fmt: off
POLICY = {
    # --- app, static files ---------------------------------------------------------------
    "static": PUBLIC,
    "api_docs": PUBLIC,
    "restx_doc.static": PUBLIC,
    # --- security (Flask-Security-Too) ----------------------------------------------------
    "security.login": PUBLIC,
    "security.logout": PUBLIC,
    "security.register": PUBLIC,
    "security.forgot_password": PUBLIC,
    "security.reset_password": PUBLIC,
    "security.change_password": LOGGED_IN,
    "security.verify": LOGGED_IN,
    "security.static": PUBLIC,
    "security.two_factor_setup": LOGGED_IN,
    "security.two_factor_setup_validate": LOGGED_IN,
    "security.two_factor_token_validation": LOGIN_STEP,  # the code step
    "security.two_factor_rescue": SIGNED_OUT_STEP,  # lost the authenticator, during the code step
    "security.tf_select": LOGIN_STEP,  # choose a second factor
    # --- auth -----------------------------------------------------------------------------
    "auth.profile": LOGGED_IN,
    "auth.export_zip": LOGGED_IN,
    "auth.erase": LOGGED_IN,
    "auth.mail_preference": LOGGED_IN,
    # --- user (driver pages) --------------------------------------------------------------
    "user.index": PUBLIC,
    "user.availability": PUBLIC,
    "user.lot_detail": PUBLIC,
    "user.book": LOGGED_IN,
    "user.home": LOGGED_IN,
    "user.my_bookings": LOGGED_IN,
    "user.booking_detail": OWNER_OR_STAFF,
    "user.change_booking": OWNER,
    "user.extend_booking": OWNER,
    "user.booking_calendar": OWNER,
    "user.booking_qr": OWNER,
    "user.start_charging": OWNER,
    "user.stop_charging": OWNER,
    "user.check_in": OWNER_OR_STAFF,
    "user.release": OWNER_OR_STAFF,
    "user.cancel": OWNER_OR_ADMIN,
    "user.pay_now": OWNER,
    "user.checkout_return": OWNER,
    "user.payment_receipt": OWNER_OR_STAFF,
    "user.vehicles": LOGGED_IN,
    "user.edit_vehicle": OWNER,
    "user.delete_vehicle": OWNER,
    "user.exports": LOGGED_IN,
    "user.request_csv": LOGGED_IN,
    "user.request_pdf": LOGGED_IN,
    "user.export_status": OWNER,
    "user.export_download": OWNER,
    "user.waitlist": LOGGED_IN,
    "user.join_waitlist": LOGGED_IN,
    "user.leave_waitlist": LOGGED_IN,
    "user.accept_offer": OWNER,
    "user.decline_offer": OWNER,
    "user.memberships": LOGGED_IN,
    "user.subscribe": LOGGED_IN,
    "user.attach_vehicle": OWNER,
    "user.detach_vehicle": OWNER,
    "user.cancel_membership": OWNER,
    "user.renew_membership": OWNER,
    "user.set_auto_renew": OWNER,
    # --- check (the gate, health) ---------------------------------------------------------
    "check.healthz": PUBLIC,
    "metrics": PUBLIC,  # with METRICS_TOKEN set it needs the token (tests/test_metrics.py)
    "check.readyz": PUBLIC,
    "check.gate_lot": STAFF,
    "check.gate_home": STAFF,
    "check.gate_entry": STAFF,
    "check.gate_ticket": STAFF,
    "check.gate_waitlist": STAFF,
    "check.gate_exit": STAFF,
    "check.gate_fee": STAFF,
    "check.gate_pay": STAFF,
    "check.gate_leave": STAFF,
    "check.gate_exit_done": STAFF,
    "check.gate_ev": STAFF,
    "check.gate_ev_start": STAFF,
    "check.gate_ev_reading": STAFF,
    "check.gate_ev_stop": STAFF,
    "check.dashboard": STAFF,
    "check.gate_inside": STAFF,
    "check.gate_move": STAFF,
    "check.merchant_counter": MERCHANT_STAFF,
    # --- admin ----------------------------------------------------------------------------
    "admin.dashboard": ADMIN,
    "admin.lot_list": ADMIN,
    "admin.new_lot": ADMIN,
    "admin.lot_detail": ADMIN,
    "admin.edit_lot": ADMIN,
    "admin.deactivate_lot": ADMIN,
    "admin.reactivate_lot": ADMIN,
    "admin.create_spots": ADMIN,
    "admin.start_maintenance": ADMIN,
    "admin.end_maintenance": ADMIN,
    "admin.delete_spot": ADMIN,
    "admin.user_list": ADMIN,
    "admin.user_detail": ADMIN,
    "admin.user_roles": ADMIN,
    "admin.deactivate_user": ADMIN,
    "admin.reactivate_user": ADMIN,
    "admin.reset_two_factor": ADMIN,
    "admin.audit_log": ADMIN,
    "admin.booking_list": ADMIN,
    "admin.analytics_page": ADMIN,
    "admin.analytics_csv": ADMIN,
    "admin.lot_demand": ADMIN,
    "admin.discount_list": ADMIN,
    "admin.new_discount": ADMIN,
    "admin.edit_discount": ADMIN,
    "admin.deactivate_discount": ADMIN,
    "admin.reactivate_discount": ADMIN,
    "admin.lot_ev": ADMIN,
    "admin.new_ev_station": ADMIN,
    "admin.edit_ev_station": ADMIN,
    "admin.delete_ev_station": ADMIN,
    "admin.ev_station_key": ADMIN,
    "admin.exports": ADMIN,
    "admin.request_bookings_csv": ADMIN,
    "admin.request_revenue_pdf": ADMIN,
    "admin.outbox": ADMIN,
    "admin.outbox_mail": ADMIN,
    "admin.plan_list": ADMIN,
    "admin.new_plan": ADMIN,
    "admin.edit_plan": ADMIN,
    "admin.withdraw_plan": ADMIN,
    "admin.merchant_list": ADMIN,
    "admin.new_merchant": ADMIN,
    "admin.edit_merchant": ADMIN,
    "admin.offer_plan": ADMIN,
    "admin.rate_list": ADMIN,
    "admin.new_rate": ADMIN,
    "admin.edit_rate": ADMIN,
    "admin.deactivate_rate": ADMIN,
    "admin.reactivate_rate": ADMIN,
    "admin.rename_level": ADMIN,
    "admin.rename_zone": ADMIN,
    # --- api: documentation and auth ------------------------------------------------------
    "api.root": NOWHERE,  # Flask-RESTX's index: the docs live at /api/docs
    "api.doc": PUBLIC,
    "api.specs": PUBLIC,
    "api.auth_register": PUBLIC,
    "api.auth_token": PUBLIC,
    "api.auth_refresh": LOGGED_IN,  # with the refresh token
    "api.auth_logout": LOGGED_IN,
    "api.auth_me": LOGGED_IN,
    "api.auth_my_data": LOGGED_IN,
    # --- api: lots, spots, rates, demand --------------------------------------------------
    "api.lots_lot_list": {"GET": PUBLIC, "POST": ADMIN},
    "api.lots_lot_item": {"GET": PUBLIC, "PATCH": ADMIN, "DELETE": ADMIN},
    "api.spots_lot_spots": {"GET": PUBLIC, "POST": ADMIN},
    "api.spots_spot_item": ADMIN,
    "api.live_lot_stream": PUBLIC,
    "api.levels_lot_levels": {"GET": PUBLIC, "POST": ADMIN},
    "api.levels_lot_level": {"GET": PUBLIC, "PATCH": ADMIN, "DELETE": ADMIN},
    "api.levels_lot_zones": {"GET": PUBLIC, "POST": ADMIN},
    "api.levels_lot_zone": {"GET": PUBLIC, "PATCH": ADMIN, "DELETE": ADMIN},
    "api.open_open_occupancy": PUBLIC,
    "api.rates_rate_list": {"GET": PUBLIC, "POST": ADMIN},
    "api.rates_rate_item": {"GET": PUBLIC, "PATCH": ADMIN, "DELETE": ADMIN},
    "api.demand_lot_demand": {"GET": PUBLIC, "PUT": ADMIN},
    "api.gate_vehicle_types": PUBLIC,
    # --- api: vehicles, bookings, payments ------------------------------------------------
    "api.vehicles_vehicle_list": LOGGED_IN,
    "api.vehicles_vehicle_item": OWNER,
    "api.bookings_quotes": PUBLIC,
    "api.bookings_booking_list": LOGGED_IN,
    "api.bookings_booking_item": {"GET": OWNER_OR_STAFF, "PATCH": OWNER},
    "api.bookings_booking_calendar": OWNER,
    "api.bookings_booking_qr": OWNER,
    "api.bookings_booking_by_code": OWNER_OR_STAFF,
    "api.bookings_booking_check_in": OWNER_OR_STAFF,
    "api.bookings_booking_release": OWNER_OR_STAFF,
    "api.bookings_booking_cancel": OWNER_OR_ADMIN,
    "api.payments_payment_list": LOGGED_IN,
    "api.payment": OWNER_OR_STAFF,
    "api.payment_receipt": OWNER_OR_STAFF,
    "api.payments_stripe_webhook": PUBLIC,  # Stripe's signature is the credential
    # --- api: discounts, memberships ------------------------------------------------------
    "api.discounts_discount_list": ADMIN,
    "api.discounts_discount_item": ADMIN,
    "api.discounts_discount_validate": PUBLIC,
    "api.memberships_plan_list": {"GET": PUBLIC, "POST": ADMIN},
    "api.memberships_plan_item": {"GET": PUBLIC, "PATCH": ADMIN, "DELETE": ADMIN},
    "api.memberships_membership_list": DRIVER,
    "api.memberships_membership_item": DRIVER_OWNER,
    "api.memberships_membership_vehicles": DRIVER_OWNER,
    "api.memberships_membership_vehicle": DRIVER_OWNER,
    "api.memberships_membership_cancel": DRIVER_OWNER,
    "api.memberships_membership_renew": DRIVER_OWNER,
    # --- api: EV --------------------------------------------------------------------------
    "api.ev_station_list": {"GET": PUBLIC, "POST": ADMIN},
    "api.ev_station_item": {"GET": PUBLIC, "PATCH": ADMIN, "DELETE": ADMIN},
    "api.ev_session_list": LOGGED_IN,  # POST: a driver's own stay (test_route_policy's body checks)
    "api.ev_session_item": OWNER_OR_STAFF,
    "api.ev_session_readings": STAFF,
    "api.ev_session_stop": OWNER_OR_STAFF,
    "api.ev_station_key": ADMIN,
    # --- api: waitlist, gate --------------------------------------------------------------
    "api.waitlist_lot_waitlist": LOGGED_IN,  # the caller's own place in the lot's queue
    "api.waitlist_offer_accept": OWNER,
    "api.waitlist_offer_decline": OWNER,
    "api.gate_gate_entry": STAFF,
    "api.gate_gate_exit": STAFF,
    "api.gate_gate_fee": STAFF,
    "api.gate_gate_waitlist": STAFF,
    "api.gate-sessions_gate_sessions": STAFF,
    "api.gate-sessions_gate_session_move": STAFF,
    # --- api: exports, reports ------------------------------------------------------------
    "api.exports_export_list": LOGGED_IN,
    "api.export": OWNER,
    "api.export_download": OWNER,
    "api.reports_dashboard": ADMIN,
    "api.reports_operations_today": STAFF,
    "api.reports_occupancy": ADMIN,
    "api.reports_revenue-by-day": ADMIN,
    "api.reports_revenue-by-lot": ADMIN,
    "api.reports_peak-hours": ADMIN,
    "api.reports_average-stay": ADMIN,
    "api.reports_top-lots": ADMIN,
    "api.reports_rates": ADMIN,
    "api.audit_audit_list": ADMIN,
    "api.users_user_list": ADMIN,
    "api.users_user_item": ADMIN,
    "api.merchants_merchant_list": ADMIN,
    "api.merchants_merchant_item": ADMIN,
    "api.validations_validation_list": {"GET": MERCHANT_OR_ADMIN, "POST": MERCHANT_STAFF},
    "api.validations_validation_item": MERCHANT_OR_ADMIN,
}
# fmt: on


def policy_for(endpoint, method):
    """The declared policy of one endpoint and method, or None when the table has none."""
    entry = POLICY.get(endpoint)
    if isinstance(entry, dict):
        return entry.get(method)
    return entry
