"""How a city car park fills: arrivals by weekday and hour, and how long each kind of trip stays.

Pure functions of a seeded `random.Random`, in the lot's local time: weekday commuters
arriving 08:00-09:30 and staying the working day, a lunchtime bump of short stays, an
evening of dinners and films, Saturday shoppers staying an hour or two, a quiet Sunday.
"""

from datetime import timedelta

# Relative arrivals per spot in each local hour (index 0-23); a day sums to about two
# arrivals per spot on a weekday, as in a busy city car park.
WEEKDAY = (
    0.008, 0.004, 0.002, 0.002, 0.004, 0.02, 0.06, 0.17,
    0.38, 0.26, 0.09, 0.09, 0.17, 0.15, 0.08, 0.07,
    0.07, 0.09, 0.10, 0.09, 0.06, 0.04, 0.025, 0.015,
)  # fmt: skip
SATURDAY = (
    0.015, 0.008, 0.004, 0.003, 0.003, 0.005, 0.01, 0.03,
    0.06, 0.13, 0.24, 0.29, 0.27, 0.27, 0.25, 0.20,
    0.14, 0.09, 0.09, 0.09, 0.07, 0.05, 0.03, 0.02,
)  # fmt: skip
SUNDAY = (
    0.012, 0.006, 0.003, 0.002, 0.002, 0.003, 0.006, 0.012,
    0.025, 0.05, 0.10, 0.15, 0.16, 0.15, 0.14, 0.11,
    0.08, 0.05, 0.04, 0.03, 0.02, 0.015, 0.01, 0.008,
)  # fmt: skip

# Walk-ins per spot against the profiles above: about 1.3 a weekday, the rest of the
# demand being the regulars (and keeping the first-run seed quick).
DENSITY = 0.65

# What kind of place each demo lot is: (weekday factor, weekend factor).
# A garage by the offices, a station car park for commuters, a plaza by the shops.
LOT_CHARACTER = {
    "Harbour Central Garage": (1.0, 0.7),
    "Station Road Car Park": (1.2, 0.5),
    "Old Town Plaza Parking": (0.8, 1.2),
}


def hourly_weight(weekday, hour):
    """Relative arrivals per spot at a local weekday (0 = Monday) and hour."""
    if weekday == 5:
        return SATURDAY[hour]
    if weekday == 6:
        return SUNDAY[hour]
    weight = WEEKDAY[hour]
    if weekday == 4 and hour >= 17:  # Friday night out
        weight *= 1.4
    return weight


def lot_factor(lot_name, weekday):
    """How busy this lot is compared with the average, on a weekday or at the weekend."""
    weekday_factor, weekend_factor = LOT_CHARACTER.get(lot_name, (1.0, 1.0))
    return DENSITY * (weekend_factor if weekday >= 5 else weekday_factor)


def arrivals(rng, expected):
    """A whole number of arrivals around `expected` (Poisson-like, cheap)."""
    whole = int(expected)
    return whole + (1 if rng.random() < expected - whole else 0)


def minute_in_hour(rng, hour):
    """The minute a car arrives within its hour; the 09:00 hour leans to its first half."""
    if hour == 9:
        return int(60 * rng.random() ** 1.8)
    return rng.randrange(60)


def stay_length(rng, weekday, hour):
    """How long a walk-in arriving at this local weekday and hour stays."""
    minutes = _minutes(rng, weekday, hour)
    return timedelta(minutes=max(10, 5 * round(minutes / 5)))


def _minutes(rng, weekday, hour):
    roll = rng.random()
    if weekday == 5 and 9 <= hour < 18:  # Saturday shopping: mostly short
        return rng.triangular(20, 210, 60) if roll < 0.92 else rng.uniform(210, 420)
    if weekday < 5 and 7 <= hour < 10:  # the working day, or an errand on the way
        return rng.gauss(510, 45) if roll < 0.72 else rng.uniform(30, 120)
    if 11 <= hour < 14:  # lunch and errands
        return rng.triangular(30, 150, 60)
    if 17 <= hour < 22:  # dinner, a film, a match
        return rng.triangular(60, 270, 150)
    if hour >= 22 or hour < 6:  # night: short calls and a few overnight stays
        return rng.uniform(20, 90) if roll < 0.7 else rng.uniform(360, 660)
    return rng.triangular(30, 300, 90)
