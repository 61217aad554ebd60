"""The HTTP edge: everything that reads or writes a request. ``app`` (the ASGI app and the request path), ``routing``,
``guard``, ``validation`` (connexion's hooks), ``fastpath``, ``faults`` (what fault kinds do to a request),
``handlers`` (public API) and ``control`` (control plane), ``views`` (every JSON shape), ``events`` (the dashboard's
change feed), ``context`` (the request's state) and ``serving`` (uvicorn's protocol).

May import: the domain, services, store, media's seam, backend and config. Nothing below the edge imports it:
``domain``, ``services``, ``store``, ``media`` and ``models`` never import ``http``.
"""
