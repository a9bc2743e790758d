"""GET /lots/{id}/stream: a lot's free counts pushed as server-sent events."""

import threading

from flask import Response, current_app, stream_with_context
from flask_restx import Namespace

from parkapp.api.common import ID, Resource, error_model
from parkapp.core.exceptions import DomainError, NotFound
from parkapp.lots import stream

ns = Namespace("live", description="Free counts pushed as they change", path="/")
error = error_model(ns)

_open_lock = threading.Lock()
_sized = {}  # this process's semaphore and the size it was made with


class TooManyStreams(DomainError):
    status, code = 503, "streams_busy"


def _slots():
    """This process's stream slots: STREAM_MAX_PER_PROCESS, so streams never take every thread."""
    size = current_app.config["STREAM_MAX_PER_PROCESS"]
    with _open_lock:
        if _sized.get("size") != size:
            _sized.update(size=size, semaphore=threading.BoundedSemaphore(size))
        return _sized["semaphore"]


@ns.route(f"/lots/<{ID}:lot_id>/stream")
@ns.param("lot_id", "The lot id")
class LotStream(Resource):
    @ns.doc(
        security=[],
        produces=["text/event-stream"],
        description="`event: availability` with `{lot_id, available_now, by_kind}` at once and "
        "within a second of every change, for STREAM_SECONDS; the browser reconnects by itself.",
    )
    @ns.response(200, "A text/event-stream of availability events")
    @ns.response(404, "No such lot", error)
    @ns.response(503, "Too many open streams here: poll GET /lots/availability instead", error)
    def get(self, lot_id):
        """Availability of one lot, pushed as it changes (server-sent events)."""
        first = stream.availability(lot_id)
        if first is None:
            raise NotFound("No such lot.")
        slots = _slots()
        if not slots.acquire(blocking=False):
            raise TooManyStreams("Too many live streams are open here; poll instead.")
        config = current_app.config
        events = stream.events(
            lot_id, config["STREAM_SECONDS"], heartbeat=config["STREAM_HEARTBEAT_SECONDS"]
        )

        def body():
            try:
                yield from events
            finally:
                slots.release()

        response = Response(stream_with_context(body()), mimetype="text/event-stream")
        response.headers["Cache-Control"] = "no-cache"
        response.headers["X-Accel-Buffering"] = "no"  # nginx: pass each event on at once
        return response
