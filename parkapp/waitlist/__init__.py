"""The waitlist: a FIFO queue per lot, offers of freed spots held for a while, and their upkeep.

Booking does not know the waitlist: it fires `core.hooks.spots_freed` and asks
`core.hooks.hold_check_in`; `waitlist.subscriptions.subscribe()`, called by the app factory,
answers both.
"""
