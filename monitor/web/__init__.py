"""The dashboard and analyst API (FastAPI, server-rendered pages in Bahasa Indonesia, WIB times).

Entry point: :func:`monitor.web.app.create_app` ``(config, db, clock) -> FastAPI``;
:func:`monitor.web.app.worker_app` is the uvicorn factory when ``web.workers`` > 1.

Pages (session cookie): ``/`` board (+ ``/partials/board``, ETag/304), ``/issues/{id}`` (+ POST
``ack``, ``resolve``, ``merge``, ``split``, ``labels``), ``/agency/{code}``, ``/trends``
(+ ``/trends/export?format=csv|xlsx``), ``/sources``, ``/admin/users`` (+ POST ``/{id}/active``,
``/{id}/role``, ``/{id}/password``), ``/account/password``, ``/docs``. Public: ``/login``,
``/healthz``, ``/static/*``.
API (bearer token or session): ``/api/issues``, ``/api/issues/{id}``, ``/api/issues/{id}/ack``,
``/api/posts``, ``/api/posts/export``, ``/api/trends``, ``/api/export``; ``/api/ingest`` takes the
ingest token (env var named by ``web.ingest_token_env``). ``/metrics`` (Prometheus) needs a user token.

Modules: ``auth`` (tokens, CSRF, rate limit, roles), ``sessions`` (database sessions shared by
workers, remembered 2 s per worker), ``cache`` (board rows, issue data), ``queries`` (scoped reads),
``actions`` (state changes), ``svg`` (charts), ``exports`` (CSV/XLSX), ``metrics``, ``users``.

Performance notes (``bench/dashboard.py``, ``bench/ANALYSIS.md``): pages read PostgreSQL through an
autocommit, read-only pool without a per-request liveness round trip; the board is rendered once
per (role, agency) while a database fingerprint is unchanged; trends are bucketed in SQL; the
issue page runs prebuilt statements returning plain rows, reads its timeline from one index
(``issue_posts.post_created_at``) and shows 25 evidence posts by default. What remains per
request is mostly FastAPI's own dispatch, template rendering and the issue page's eight small
queries.
"""
