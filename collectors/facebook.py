"""Facebook Graph API: posts of configured Pages (the regency's and agencies') and the comments under them.

Wire format (developers.facebook.com/docs/graph-api/reference/page/feed and
``/object/comments``): ``GET /v{N}/{page-id}/posts`` with reaction, comment and share
summaries, cursor paging through ``paging.cursors.after``; comments with
``order=reverse_chronological`` so a run stops at the first comment already seen.

Access realistically covers Pages the deployment manages (a Page or system-user
token with ``pages_read_engagement``); other Pages need Meta's Page Public Content
Access review. Usage headers (``X-App-Usage``, ``X-Business-Use-Case-Usage``) are
read on every response and a run stops calling at 95 % usage.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import httpx
from pydantic import ConfigDict, Field

from collectors.base import FetchResult, JSONDict, MetricsReading, RawItem
from collectors.budget import GraphObjectGone, as_object, expect_object, pick_secret
from collectors.graph import DEFAULT_GRAPH_VERSION, GraphCollector, GraphRun, UsageCeiling, count, graph_time
from collectors.http import FetchSettings

log = logging.getLogger(__name__)

PLATFORM = "facebook"
POST_FIELDS = (
    "id,message,created_time,permalink_url,shares,"
    "reactions.summary(total_count).limit(0),comments.summary(true).limit(0)"
)
COMMENT_FIELDS = "id,message,created_time,like_count,comment_count,permalink_url,from{name}"


class Settings(FetchSettings):
    """``settings:`` of a ``facebook`` source in config.yaml."""

    model_config = ConfigDict(extra="forbid")

    base_url: str = "https://graph.facebook.com"
    api_version: str = Field(DEFAULT_GRAPH_VERSION, pattern=r"^v\d+\.\d+$")
    token_env: str = "FB_PAGE_TOKEN"
    page_ids: list[str] = Field(default_factory=list)
    """Numeric ids of the Pages to read (Pemkab OKI, Diskominfo, OPD pages)."""
    max_pages: int = Field(3, ge=1, le=20)
    """Result pages per Page (and per comment list) per run."""
    page_size: int = Field(25, ge=1, le=100)
    watch_posts: int = Field(10, ge=0, le=100)
    """How many of the most recent posts per run have their new comments read."""
    watch_hours: float = Field(72, gt=0)
    first_run_hours: float = Field(48, gt=0)


def _total(obj: Any) -> int:
    # The one bounded count reading: an unbounded int here reached the item as 10^30 (ingest then rejected it).
    return count(as_object(as_object(obj).get("summary")).get("total_count"))


def parse_post(post: Any, source: str, page_id: str) -> RawItem | None:
    """A Page post as a RawItem; ``None`` for posts without text (photo-only); ``ValueError`` if malformed."""
    if not isinstance(post, dict) or not isinstance(post.get("id"), str):
        raise ValueError("post without id")
    message = post.get("message")
    created = graph_time(post.get("created_time"), "created_time")
    if not isinstance(message, str) or not message.strip():
        return None
    return RawItem(
        source=source,
        platform=PLATFORM,
        external_id=post["id"],
        text=message,
        created_at=created,
        url=post.get("permalink_url") if isinstance(post.get("permalink_url"), str) else None,
        kind="post",
        likes=_total(post.get("reactions")),
        replies=_total(post.get("comments")),
        shares=count(as_object(post.get("shares")).get("count")),
        extra={"page_id": page_id},
    )


def parse_comment(comment: Any, source: str, post_id: str) -> RawItem:
    """A comment under a Page post."""
    if not isinstance(comment, dict) or not isinstance(comment.get("id"), str):
        raise ValueError("comment without id")
    message = comment.get("message")
    if not isinstance(message, str) or not message.strip():
        raise ValueError(f"comment {comment['id']} has no text")
    author = as_object(comment.get("from")).get("name")
    return RawItem(
        source=source,
        platform=PLATFORM,
        external_id=comment["id"],
        text=message,
        created_at=graph_time(comment.get("created_time"), "created_time"),
        url=comment.get("permalink_url") if isinstance(comment.get("permalink_url"), str) else None,
        author=author if isinstance(author, str) else None,
        kind="comment",
        parent_id=post_id,
        likes=count(comment.get("like_count")),
        replies=count(comment.get("comment_count")),
    )


class FacebookCollector(GraphCollector[Settings]):
    """Page posts and their comments, and by-id lookup of reactions, comments and shares."""

    platform = PLATFORM
    label = "Facebook"

    def fetch(self, cursor: JSONDict, client: httpx.Client, now: datetime) -> FetchResult:
        """New posts of each Page since its watermark, then new comments of the most recent posts."""
        s = self.settings
        run = GraphRun()
        pages: dict[str, str] = {k: str(v) for k, v in as_object(cursor.get("pages")).items()}
        watched: dict[str, JSONDict] = {
            k: dict(v) for k, v in as_object(cursor.get("posts")).items() if isinstance(v, dict)
        }
        walks: dict[str, JSONDict] = {
            k: dict(v) for k, v in as_object(cursor.get("page_walks")).items() if isinstance(v, dict)
        }
        try:
            for page_id in s.page_ids:
                self._page_posts(run, client, now, page_id, pages, watched, walks)
            recent = sorted(watched, key=lambda p: str(watched[p].get("created")), reverse=True)[: s.watch_posts]
            for post_id in recent:
                try:
                    self._comments(run, client, now, post_id, watched[post_id])
                except GraphObjectGone as exc:
                    log.info("source %s: post %s no longer readable (%s)", self.name, post_id, exc)
                    watched.pop(post_id, None)
                    continue
        except UsageCeiling:
            log.warning("source %s: Graph API usage at %s%%; stopping this run", self.name, run.usage.used_percent)
        horizon = (now - timedelta(hours=s.watch_hours)).isoformat()
        kept = {k: v for k, v in watched.items() if str(v.get("created", "")) >= horizon}
        state: JSONDict = {"pages": pages, "posts": kept}
        if walks:
            state["page_walks"] = walks
        return run.result(state)

    def _page_posts(
        self,
        run: GraphRun,
        client: httpx.Client,
        now: datetime,
        page_id: str,
        pages: dict[str, str],
        watched: dict[str, JSONDict],
        walks: dict[str, JSONDict],
    ) -> None:
        """New posts of one Page since its watermark ``pages[page_id]``.

        A walk cut short by ``max_pages`` keeps the watermark and stores the ``after`` token and the
        newest stamp read in ``walks[page_id]``; the next run resumes there, and the watermark moves only
        when the walk ends. Moving it at the cut skipped every post between the last page read and it.
        """
        s = self.settings
        watermark = pages.get(page_id) or None
        since = watermark or (now - timedelta(hours=s.first_run_hours)).isoformat()
        params = {
            "fields": POST_FIELDS,
            "limit": str(s.page_size),
            "since": str(int(datetime.fromisoformat(since).timestamp())),
        }
        taken = len(run.items)
        # ``since`` is inclusive to the second: the boundary post was stored last run (the floor skips it).
        end = self._walk(
            run,
            client,
            now,
            f"{page_id}/posts",
            params,
            walks.get(page_id, {}),
            lambda raw: parse_post(raw, self.name, page_id),
            what="posts",
            noun="post",
            floor=watermark,
            top=watermark,
            ends_at_floor=False,
        )
        for item in run.items[taken:]:
            watched.setdefault(item.external_id, {"created": item.created_at.isoformat()})
        # Without a watermark the first run takes what max_pages allows, as before.
        if end.kept(walks, page_id, resumable=bool(watermark)):
            return
        if end.top:
            pages[page_id] = end.top

    def _comments(self, run: GraphRun, client: httpx.Client, now: datetime, post_id: str, state: JSONDict) -> None:
        """New comments of one post, newest first, back to ``state["seen"]``; updates ``state`` in place.

        A walk cut short by ``max_pages`` keeps ``seen`` and stores where it stopped as ``pending``
        (``after`` token, newest stamp read): moving ``seen`` to the newest comment there would skip
        every comment between the last page read and the old ``seen`` for good. The next run resumes
        from ``after`` and ``seen`` moves only once the walk reaches it (as collectors/sweep.py does).
        """
        raw_seen = state.get("seen")
        seen = raw_seen if isinstance(raw_seen, str) else None
        pending = as_object(state.get("pending"))
        end = self._walk(
            run,
            client,
            now,
            f"{post_id}/comments",
            {"fields": COMMENT_FIELDS, "order": "reverse_chronological", "filter": "stream", "limit": "50"},
            pending,
            lambda raw: parse_comment(raw, self.name, post_id),
            what="comments",
            noun="comment",
            floor=seen,
            top=None,
            ends_at_floor=True,
        )
        # Without a ``seen`` there is nothing older to reach: a first look takes what max_pages allows.
        if end.kept(state, "pending", resumable=seen is not None):
            return
        newest = max(seen or "", end.top or "")
        if newest:
            state["seen"] = newest

    def lookup(self, external_ids: list[str], client: httpx.Client, now: datetime) -> tuple[list[MetricsReading], int]:
        """Fresh counts by id; a post id starts with its Page id (``{page}_{post}``), anything else is a comment."""
        prefixes = tuple(f"{p}_" for p in self.settings.page_ids)
        posts = [i for i in external_ids if prefixes and i.startswith(prefixes)]
        comments = [i for i in external_ids if not (prefixes and i.startswith(prefixes))]
        post_fields = "reactions.summary(total_count).limit(0),comments.summary(true).limit(0),shares"
        return self._lookup([(posts, post_fields), (comments, "like_count,comment_count")], client, now, parse_lookup)


def parse_lookup(body: Any) -> list[MetricsReading]:
    """Readings from a multi-id ``GET /?ids=`` body (``{id: object}``)."""
    data = expect_object(body, "Facebook lookup")
    readings = []
    for key, obj in data.items():
        if not isinstance(obj, dict):
            continue
        if "reactions" in obj or "shares" in obj:
            readings.append(
                MetricsReading(
                    str(obj.get("id", key)),
                    likes=_total(obj.get("reactions")),
                    replies=_total(obj.get("comments")),
                    shares=count(as_object(obj.get("shares")).get("count")),
                )
            )
        else:
            readings.append(
                MetricsReading(
                    str(obj.get("id", key)),
                    likes=count(obj.get("like_count")),
                    replies=count(obj.get("comment_count")),
                )
            )
    return readings


def create(name: str, settings: Mapping[str, Any], secrets: Mapping[str, str]) -> FacebookCollector:
    """Build the collector; a missing Page token is an :class:`AuthFailed` naming the variable."""
    parsed = Settings.model_validate(dict(settings))
    return FacebookCollector(name, parsed, pick_secret(secrets, parsed.token_env, "Facebook"))
