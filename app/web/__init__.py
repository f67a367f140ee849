"""The web workspace: server-rendered pages on the same app as the API (``GET /`` is its door).

- :mod:`.session`: the signed session cookie (who is signed in, until when) and the CSRF token
  every state-changing form carries;
- :mod:`.render`: Jinja2 templates (autoescaped) and the security headers of every page;
- :mod:`.access`: who may see a page (the API's roles: learner < curator < admin);
- :mod:`.pages`: the pages, each calling the same domain services as the API routes (the
  front door, ``GET /``, is :mod:`app.routes.home`).

:func:`app.web.site.install` adds all of it to an app (:func:`app.main.create_app` calls it).
This package's ``__init__`` imports nothing, so :mod:`app.deps` can use :mod:`.session`.
"""
