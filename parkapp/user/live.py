"""Free counts for pages to refresh themselves: GET /lots/availability?ids=1,2,3 (JSON)."""

from flask import current_app, jsonify, request

from parkapp.core.exceptions import Invalid
from parkapp.lots import live
from parkapp.user.blueprint import bp


@bp.get("/lots/availability")
def availability():
    """{lot_id: {available_now, total_spots, by_kind}} for active lots, with an ETag.

    The ETag is a hash of the counts, so If-None-Match answers 304 until one changes.
    """
    ids = live.parse_ids(request.args.get("ids"))
    if ids is None:
        raise Invalid("ids", f"Give up to {live.MAX_IDS} lot ids separated by commas.")
    doc, etag = live.snapshot(ids)
    response = jsonify(doc)
    response.set_etag(etag)
    response.headers["Cache-Control"] = "no-cache"
    response.headers["X-Poll-Seconds"] = str(current_app.config["LIVE_POLL_SECONDS"])
    return response.make_conditional(request)
