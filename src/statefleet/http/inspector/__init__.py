"""The live inspector: a web page served by the HTTP API's app at ``/``.

Plain HTML, CSS and JavaScript shipped in the wheel (``static/``; no CDN, no build step):
the fleet per chart and state with live counts, a searchable, filterable actor list paged by
the server, and one actor's page with its chart drawn (SVG) and its active configuration
highlighted, its pending timers and its history as a timeline, all updated from
``GET /api/v1/stream``. See ``docs/http.md``, section "Inspector".
"""

from statefleet.http.inspector._routes import INSPECTOR_ROUTES

__all__ = ["INSPECTOR_ROUTES"]
