"""Links for emails, asked for by name; the web layer provides them (the domain builds no URLs)."""

_providers = {}


def provide(name, build):
    """Register how the web layer builds the absolute URL named `name`."""
    _providers[name] = build


def link(name, **params):
    """The absolute URL named `name`, or None when none can be built here."""
    build = _providers.get(name)
    return build(**params) if build is not None else None
