"""The dashboard and analyst API (FastAPI, server-rendered pages in Bahasa Indonesia, WIB times).

Entry point: :func:`monitor.web.app.create_app` ``(config, db, clock) -> FastAPI``.

Pages (session cookie): ``/`` board, ``/issues/{id}`` (+ POST ``ack``, ``resolve``, ``merge``,
``split``, ``labels``), ``/agency/{code}``, ``/trends`` (+ ``/trends/export?format=csv|xlsx``),
``/sources``, ``/admin/users``, ``/docs``. Public: ``/login``, ``/healthz``, ``/static/*``.
API (bearer token or session): ``/api/issues``, ``/api/issues/{id}``, ``/api/issues/{id}/ack``,
``/api/posts``, ``/api/trends``, ``/api/export``; ``/api/ingest`` takes the ingest token
(env var named by ``web.ingest_token_env``). ``/metrics`` (Prometheus) needs a user token.

Modules: ``auth`` (sessions, tokens, CSRF, rate limit), ``queries`` (scoped reads),
``actions`` (state changes), ``svg`` (charts), ``exports`` (CSV/XLSX), ``metrics``, ``users``.
"""
