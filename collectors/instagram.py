"""Instagram Graph API: comments on the regency's business-account media, and recent media of hashtags.

Wire format (developers.facebook.com/docs/instagram-platform/instagram-graph-api):
``GET /{ig-user-id}/media`` for the account's own media, ``GET /{media-id}/comments``
for comments under them (where residents complain), ``GET /ig_hashtag_search`` once per
hashtag (the id is kept in the cursor: an account may query only 30 unique hashtags
per rolling 7 days), then ``GET /{hashtag-id}/recent_media``.

Comment ids are stored as ``{media_id}_{comment_id}``: both parts are Instagram's own
ids, and the prefix lets the by-id lookup ask each kind for the fields it has
(``comments_count`` does not exist on a comment).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import httpx
from pydantic import ConfigDict, Field

from collectors.base import FetchResult, JSONDict, MetricsReading, RawItem
from collectors.budget import GraphObjectGone, as_object, expect_list, expect_object, pick_secret
from collectors.graph import DEFAULT_GRAPH_VERSION, GraphCollector, GraphRun, UsageCeiling, count, graph_time
from collectors.http import FetchSettings

log = logging.getLogger(__name__)

PLATFORM = "instagram"
MEDIA_FIELDS = "id,caption,media_type,comments_count,like_count,permalink,timestamp"
COMMENT_FIELDS = "id,text,timestamp,like_count,username"
MAX_HASHTAGS = 30
"""Unique hashtags an account may query per rolling 7 days (ig-hashtag-search docs)."""


class Settings(FetchSettings):
    """``settings:`` of an ``instagram`` source in config.yaml."""

    model_config = ConfigDict(extra="forbid")

    base_url: str = "https://graph.facebook.com"
    api_version: str = Field(DEFAULT_GRAPH_VERSION, pattern=r"^v\d+\.\d+$")
    token_env: str = "IG_ACCESS_TOKEN"
    ig_user_id: str = ""
    """The regency's Instagram business account id (linked to its Facebook Page)."""
    hashtags: list[str] = Field(default_factory=list, max_length=MAX_HASHTAGS)
    """Without '#'; at most 30 (Instagram's 7-day limit per account)."""
    own_media: int = Field(10, ge=0, le=50)
    """How many of the account's latest media have their new comments read each run."""
    max_pages: int = Field(2, ge=1, le=20)
    first_run_hours: float = Field(24, gt=0)


def parse_media(media: Any, source: str, via: str) -> RawItem | None:
    """A media object as a post (``None`` when it has no caption to read)."""
    if not isinstance(media, dict) or not isinstance(media.get("id"), str):
        raise ValueError("media without id")
    created = graph_time(media.get("timestamp"), "timestamp")
    caption = media.get("caption")
    if not isinstance(caption, str) or not caption.strip():
        return None
    return RawItem(
        source=source,
        platform=PLATFORM,
        external_id=media["id"],
        text=caption,
        created_at=created,
        url=media.get("permalink") if isinstance(media.get("permalink"), str) else None,
        kind="post",
        likes=count(media.get("like_count")),
        replies=count(media.get("comments_count")),
        extra={"via": via, "media_type": media.get("media_type")},
    )


def parse_comment(comment: Any, source: str, media_id: str, permalink: str | None) -> RawItem:
    """A comment under one of the account's media."""
    if not isinstance(comment, dict) or not isinstance(comment.get("id"), str):
        raise ValueError("comment without id")
    text = comment.get("text")
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"comment {comment['id']} has no text")
    return RawItem(
        source=source,
        platform=PLATFORM,
        external_id=f"{media_id}_{comment['id']}",
        text=text,
        created_at=graph_time(comment.get("timestamp"), "timestamp"),
        url=permalink,
        author=comment.get("username") if isinstance(comment.get("username"), str) else None,
        kind="comment",
        parent_id=media_id,
        likes=count(comment.get("like_count")),
    )


class InstagramCollector(GraphCollector[Settings]):
    """Own-media comments and hashtag recent media, and by-id lookup of like/comment counts."""

    platform = PLATFORM
    label = "Instagram"

    def fetch(self, cursor: JSONDict, client: httpx.Client, now: datetime) -> FetchResult:
        """New hashtag media since each tag's watermark, and new comments on the account's latest media."""
        s = self.settings
        run = GraphRun()
        tag_ids: dict[str, str] = {k: str(v) for k, v in as_object(cursor.get("hashtag_ids")).items()}
        tag_seen: dict[str, str] = {k: str(v) for k, v in as_object(cursor.get("hashtags")).items()}
        media_seen: dict[str, str] = {k: str(v) for k, v in as_object(cursor.get("media")).items()}
        walks: dict[str, JSONDict] = {
            k: dict(v) for k, v in as_object(cursor.get("hashtag_walks")).items() if isinstance(v, dict)
        }
        try:
            for tag in s.hashtags:
                self._hashtag(run, client, now, tag.lstrip("#").lower(), tag_ids, tag_seen, walks)
            if s.ig_user_id and s.own_media:
                self._own_media(run, client, now, media_seen)
        except UsageCeiling:
            log.warning("source %s: Graph API usage at %s%%; stopping this run", self.name, run.usage.used_percent)
        state: JSONDict = {"hashtag_ids": tag_ids, "hashtags": tag_seen, "media": media_seen}
        if walks:
            state["hashtag_walks"] = walks
        return run.result(state)

    def _hashtag(
        self,
        run: GraphRun,
        client: httpx.Client,
        now: datetime,
        tag: str,
        tag_ids: dict[str, str],
        tag_seen: dict[str, str],
        walks: dict[str, JSONDict],
    ) -> None:
        """New recent media of one hashtag back to its watermark ``tag_seen[tag]``.

        A walk cut short by ``max_pages`` keeps the watermark and stores the ``after`` token and the
        newest stamp read in ``walks[tag]``; the next run resumes there, and the watermark moves only
        when the walk reaches it. Moving it at the cut skipped every media between the last page read
        and the old watermark.
        """
        s = self.settings
        if tag not in tag_ids:
            body = self._get(run, client, "ig_hashtag_search", {"user_id": s.ig_user_id, "q": tag}, now)
            found = expect_list(expect_object(body, "Instagram hashtag search"), "data", "Instagram hashtag search")
            hashtag_id = as_object(found[0]).get("id") if found else None
            if not isinstance(hashtag_id, str):
                log.warning("source %s: Instagram knows no hashtag #%s", self.name, tag)
                return
            tag_ids[tag] = hashtag_id
        seen = tag_seen.get(tag) or (now - timedelta(hours=s.first_run_hours)).isoformat()
        try:
            # recent_media is newest first, with no "since" parameter: the walk ends at the first page
            # reaching the watermark.
            end = self._walk(
                run,
                client,
                now,
                f"{tag_ids[tag]}/recent_media",
                {"user_id": s.ig_user_id, "fields": MEDIA_FIELDS, "limit": "50"},
                walks.get(tag, {}),
                lambda raw: parse_media(raw, self.name, f"#{tag}"),
                what="recent_media",
                noun="media",
                floor=seen,
                top=seen,
                ends_at_floor=True,
            )
        except GraphObjectGone as exc:
            log.warning("source %s: hashtag #%s unreadable (%s)", self.name, tag, exc)
            return
        # Without a watermark the first run takes what max_pages allows of its window, as before.
        if end.kept(walks, tag, resumable=bool(tag_seen.get(tag))):
            return
        tag_seen[tag] = end.top or seen

    def _own_media(self, run: GraphRun, client: httpx.Client, now: datetime, media_seen: dict[str, str]) -> None:
        s = self.settings
        body = self._get(run, client, f"{s.ig_user_id}/media", {"fields": MEDIA_FIELDS, "limit": str(s.own_media)}, now)
        for raw in expect_list(expect_object(body, "Instagram media"), "data", "Instagram media"):
            media = as_object(raw)
            media_id = media.get("id")
            if not isinstance(media_id, str):
                run.rejected += 1
                continue
            if count(media.get("comments_count")) == 0:
                continue  # no comments: save the call
            seen = media_seen.get(media_id, "")
            permalink = media.get("permalink") if isinstance(media.get("permalink"), str) else None
            try:
                comments = self._get(
                    run, client, f"{media_id}/comments", {"fields": COMMENT_FIELDS, "limit": "50"}, now
                )
            except GraphObjectGone:
                continue
            newest, _reached = self._take(
                run,
                expect_object(comments, "Instagram comments"),
                partial(parse_comment, source=self.name, media_id=media_id, permalink=permalink),
                what="comments",
                noun="comment",
                floor=seen or None,
                top=seen or None,
            )
            if newest:
                media_seen[media_id] = newest

    def lookup(self, external_ids: list[str], client: httpx.Client, now: datetime) -> tuple[list[MetricsReading], int]:
        """Fresh counts: media get like and comment counts, comments (``media_comment`` ids) their likes."""
        media = [i for i in external_ids if "_" not in i]
        comments = {i.split("_", 1)[1]: i for i in external_ids if "_" in i}

        def parse(body: Any) -> list[MetricsReading]:
            return [
                MetricsReading(
                    comments.get(key, key), likes=count(obj.get("like_count")), replies=count(obj.get("comments_count"))
                )
                for key, obj in expect_object(body, "Instagram lookup").items()
                if isinstance(obj, dict)
            ]

        return self._lookup([(media, "like_count,comments_count"), (list(comments), "like_count")], client, now, parse)


def create(name: str, settings: Mapping[str, Any], secrets: Mapping[str, str]) -> InstagramCollector:
    """Build the collector; a missing token is an :class:`AuthFailed` naming the variable."""
    parsed = Settings.model_validate(dict(settings))
    return InstagramCollector(name, parsed, pick_secret(secrets, parsed.token_env, "Instagram"))
