"""Each open source's wire format, rendered from :class:`collectors.base.RawItem` values (pure functions).

One module a source, beside the collector that parses the same format: the demo's replay
server (:mod:`monitor.demo.replay_server`) serves these bodies so the real collectors read
the demo as they read the services, and the collectors' tests serve them from local servers.

* :mod:`.rss` — RSS 2.0 (a news portal's feed);
* :mod:`.googlenews` — Google News search RSS ("Headline - Publisher", ``<source>``);
* :mod:`.mastodon` — a tag timeline page and its ``Link`` header, status lookups;
* :mod:`.bluesky` — ``app.bsky.feed.searchPosts`` with ``cursor``, ``getPosts``;
* :mod:`.reddit` — a search ``Listing`` with ``after``;
* :mod:`.telegram_channel` — a ``t.me/s/<channel>`` HTML page with ``data-before`` paging;
* :mod:`.x` — X API v2 recent search, tweet lookup and rate-limit headers;
* :mod:`.youtube` — YouTube Data API v3 ``search.list``, ``videos.list``, ``commentThreads.list``.

Scenario ids such as ``mastodon-00012`` are turned into the id shapes each service uses
(time-ordered numeric ids, ``at://`` URIs, per-channel message numbers) by each module's
``*_id`` helpers, which the replay server also uses to answer cursor parameters.
"""
