"""The search form of the home page: where, near me, when, and the filters on price,
amenities and vehicle height."""

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask_wtf import FlaskForm
from wtforms import FloatField, HiddenField, IntegerField, SelectChoice, SelectField, StringField
from wtforms.validators import Length, NumberRange, Optional

from parkapp.lots.lots import MAX_HEIGHT_CM, MIN_HEIGHT_CM, LotFilter
from parkapp.models import Amenity, SpotKind
from parkapp.pricing.search import PricedSearch
from parkapp.user.forms import ANY_KIND, KIND_CHOICES, _interval, _strip
from parkapp.web.fields import MoneyField, MultiCheckboxField, local_field

AMENITY_LABELS = {
    Amenity.COVERED: "Covered",
    Amenity.EV_CHARGING: "EV charging",
    Amenity.ACCESSIBLE: "Accessible",
    Amenity.SECURITY: "Security",
    Amenity.TOILETS: "Toilets",
    Amenity.BIKE: "Bike parking",
}
SORT_CHOICES = [
    SelectChoice("", "Best match (nearest first near you)"),
    SelectChoice("price", "Cheapest first"),
    SelectChoice("name", "Name"),
]


class SearchForm(FlaskForm):
    """Find lots by name or city, or near the browser's position, free over an interval,
    within a price for it, with amenities, for a vehicle of a height."""

    class Meta:
        csrf = False  # a GET search changes nothing

    q = StringField("Where", filters=[_strip], validators=[Optional(), Length(max=100)])
    kind = SelectField("Spot kind", choices=[ANY_KIND, *KIND_CHOICES], default="")
    # Filled in by the "Near me" button (static/js/search.js), never typed.
    lat = FloatField("Latitude", validators=[Optional(), NumberRange(-90, 90)])
    lon = FloatField("Longitude", validators=[Optional(), NumberRange(-180, 180)])
    radius = FloatField("Within (km)", validators=[Optional(), NumberRange(0.1, 1000)])
    starts = local_field("Arrive")
    ends = local_field("Leave")
    max_price = MoneyField("Pay at most", validators=[Optional()])
    amenities = MultiCheckboxField(
        "Must have", choices=[SelectChoice(a.value, label) for a, label in AMENITY_LABELS.items()]
    )
    height = IntegerField(
        "Vehicle height (cm)",
        validators=[Optional(), NumberRange(MIN_HEIGHT_CM, MAX_HEIGHT_CM)],
    )
    sort = SelectField("Order", choices=SORT_CHOICES, default="")
    tz = HiddenField()

    starts_at = ends_at = None

    @property
    def zone(self):
        """The browser's time zone when it told us a valid one, else UTC."""
        try:
            return ZoneInfo(self.tz.data) if self.tz.data else ZoneInfo("UTC")
        except (ZoneInfoNotFoundError, ValueError):
            return ZoneInfo("UTC")

    @property
    def near(self):
        """(lat, lon) when searching near the browser's position, else None."""
        return None if self.lat.data is None else (self.lat.data, self.lon.data)

    @property
    def kind_value(self):
        return SpotKind(self.kind.data) if self.kind.data else None

    @property
    def has_interval(self):
        return self.starts_at is not None

    @property
    def has_filters(self):
        """Whether any of the folded filters is in use (the page then shows them open)."""
        return bool(self.max_price.data is not None or self.amenities.data or self.height.data)

    def validate(self, extra_validators=None):
        """Field checks, then the pairs: lat with lon, radius with a point, start with end,
        a price ceiling or price order with an interval."""
        if not super().validate(extra_validators):
            return False
        ok = True
        if (self.lat.data is None) != (self.lon.data is None):
            self.lat.errors.append("Give both latitude and longitude, or neither.")
            ok = False
        elif self.radius.data is not None and self.lat.data is None:
            self.radius.errors.append("A distance needs a position: use Near me first.")
            ok = False
        ok = _interval(self, self.zone, required=False) and ok
        if ok and not self.has_interval:
            if self.max_price.data is not None:
                self.max_price.errors.append("Give your arrival and leave times to compare prices.")
                ok = False
            if self.sort.data == "price":
                self.sort.errors.append("Give your arrival and leave times to sort by price.")
                ok = False
        return ok

    def search(self):
        """The PricedSearch this (validated) form asks for."""
        where = LotFilter(
            q=self.q.data or None,
            near=self.near,
            radius_km=self.radius.data if self.near else None,
            amenities=tuple(self.amenities.data or ()),
            max_height_cm=self.height.data,
        )
        return PricedSearch(
            where,
            self.starts_at,
            self.ends_at,
            self.kind_value,
            self.max_price.data,
            self.sort.data or None,
        )
