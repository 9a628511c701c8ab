"""The one place that decides which parts of a post's URL name its author.

Authors are stored pseudonymised (``monitor.stages.ingest.AuthorPseudonymiser``), but a post URL
such as ``https://mastodon.social/@warga26/1134...``, ``https://bsky.app/profile/
warga30.bsky.social/post/...`` or ``https://x.com/warga372/status/...`` carries the
handle in clear and undid the pseudonym on issue pages, in alerts and in the CSV
``tautan`` column. Every display and export edge passes URLs through :func:`public_url`.

With pseudonymisation on, a URL is rewritten to a handle-free form that still opens the
post where the platform has one, else the personal part is dropped (no link at all rather
than a link that names the author):

============  ==========================================  ===========================================
platform      personal form                               shown as
============  ==========================================  ===========================================
X / Twitter   ``x.com/<handle>/status/<id>``              ``https://x.com/i/web/status/<id>``
TikTok        ``tiktok.com/@<handle>/video/<id>``         ``https://www.tiktok.com/@/video/<id>``
Instagram     ``instagram.com/<handle>/p/<code>``         ``https://www.instagram.com/p/<code>/``
YouTube       ``watch?v=<id>&ab_channel=<handle>``        ``https://www.youtube.com/watch?v=<id>``
Mastodon etc  ``<host>/@<handle>/<id>``,                  ``https://<host>/api/v1/statuses/<id>``
              ``<host>/users/<handle>/statuses/<id>``     (the status itself; no handle-free page)
Facebook      ``facebook.com/<name>/videos/<id>``         ``https://www.facebook.com/watch/?v=<id>``
Bluesky       ``bsky.app/profile/<handle>/post/<id>``     dropped (a post address needs the account)
Facebook      ``facebook.com/<name>/posts/<id>``,         dropped
              ``profile.php?id=``, ``permalink.php?id=``
Telegram      ``t.me/<channel>/<n>``                      dropped (the channel is the author)
Reddit        ``reddit.com/user/<name>``                  dropped (``/r/<sub>/comments/...`` is kept)
any           a path segment starting with ``@``          dropped
any           profile pages (``/@h``, ``/channel/...``)    dropped
============  ==========================================  ===========================================

Query strings are dropped except the parameters a platform needs to find the post
(``v``, ``lc``, ``t`` on YouTube; ``v``, ``story_fbid``, ``comment_id`` on Facebook);
other sites keep their URL as it is (news articles do not name readers). With
pseudonymisation off, URLs are shown unchanged.
"""

from __future__ import annotations

import hashlib
import re
from urllib.parse import parse_qsl, urlencode, urlsplit

_ID = re.compile(r"^[0-9A-Za-z_-]{1,64}$")
_STATUS = re.compile(r"^(?=[0-9A-Za-z]*[0-9])[0-9A-Za-z]{1,64}$")
"""A Mastodon (digits) or Pleroma/Akkoma (flake) status id; profile tabs like ``with_replies`` have no digit."""
_HOST_PREFIXES = ("www.", "m.", "mobile.", "web.", "mbasic.")


def public_url(url: str | None, *, pseudonymise: bool) -> str | None:
    """``url`` as it may be shown or exported: handle-free when ``pseudonymise`` is on (None if nothing is left)."""
    if not url:
        return None
    if not pseudonymise:
        return url
    return handle_free(url)


def handle_free(url: str) -> str | None:
    """``url`` without any part that names an account, or None when the post cannot be addressed without one."""
    try:
        parts = urlsplit(url.strip())
        host = (parts.hostname or "").lower()
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not host:
        return None
    for prefix in _HOST_PREFIXES:
        host = host.removeprefix(prefix)
    segments = [s for s in parts.path.split("/") if s]
    query = parse_qsl(parts.query, keep_blank_values=False)
    rule = _RULES.get(host)
    if rule is None:
        for suffix, candidate in _SUFFIX_RULES:
            if host.endswith(suffix):
                rule = candidate
                break
    if rule is not None:
        return rule(host, segments, query)
    return _generic(parts.scheme, host, segments, url)


def _x(host: str, segs: list[str], query: list[tuple[str, str]]) -> str | None:
    # /<handle>/status/<id>[/photo/1]; /i/web/status/<id> and /i/status/<id> are already handle-free.
    for index, seg in enumerate(segs[:-1]):
        if seg in ("status", "statuses") and segs[index + 1].isdigit():
            return f"https://x.com/i/web/status/{segs[index + 1]}"
    return None


def _tiktok(host: str, segs: list[str], query: list[tuple[str, str]]) -> str | None:
    if host.startswith("vm.") or host.startswith("vt."):
        return f"https://{host}/{segs[0]}/" if len(segs) == 1 and _ID.match(segs[0]) else None  # random short code
    for index, seg in enumerate(segs[:-1]):
        if seg in ("video", "photo") and segs[index + 1].isdigit():
            return f"https://www.tiktok.com/@/{seg}/{segs[index + 1]}"
    return None


def _instagram(host: str, segs: list[str], query: list[tuple[str, str]]) -> str | None:
    for index, seg in enumerate(segs[:-1]):
        if seg in ("p", "reel", "reels", "tv") and _ID.match(segs[index + 1]):
            return f"https://www.instagram.com/{'reel' if seg == 'reels' else seg}/{segs[index + 1]}/"
    return None


def _youtube(host: str, segs: list[str], query: list[tuple[str, str]]) -> str | None:
    if host == "youtu.be":
        return f"https://youtu.be/{segs[0]}" if len(segs) == 1 and _ID.match(segs[0]) else None
    if segs[:1] == ["watch"]:
        kept = [(k, v) for k, v in query if k in ("v", "lc", "t")]
        return f"https://www.youtube.com/watch?{urlencode(kept)}" if any(k == "v" for k, _ in kept) else None
    if len(segs) >= 2 and segs[0] in ("shorts", "live", "embed") and _ID.match(segs[1]):
        return f"https://www.youtube.com/{segs[0]}/{segs[1]}"
    return None  # /@handle, /channel/..., /c/..., /user/...: an account, not a post


def _facebook(host: str, segs: list[str], query: list[tuple[str, str]]) -> str | None:
    if host == "fb.watch":
        return f"https://fb.watch/{segs[0]}/" if len(segs) == 1 and _ID.match(segs[0]) else None
    params = dict(query)
    if segs[:1] == ["watch"] and params.get("v", "").isdigit():
        return f"https://www.facebook.com/watch/?v={params['v']}"
    if "videos" in segs[:-1]:
        video = segs[segs.index("videos") + 1]
        if video.isdigit():
            return f"https://www.facebook.com/watch/?v={video}"
    if segs[:1] == ["groups"] and len(segs) >= 4 and segs[2] in ("posts", "permalink") and segs[3].isdigit():
        # The group is not the author; its post id opens the post.
        kept = [(k, v) for k, v in query if k in ("comment_id", "reply_comment_id")]
        suffix = f"?{urlencode(kept)}" if kept else ""
        return f"https://www.facebook.com/groups/{segs[1]}/posts/{segs[3]}/{suffix}"
    # /<name>/posts/<id>, profile.php?id=, permalink.php?story_fbid=&id=: every form names the account.
    return None


def _mastodon_like(scheme: str, host: str, segs: list[str]) -> str | None:
    """``/@handle/<id>`` and ``/users/<handle>/statuses/<id>``: the status through the public API."""
    if len(segs) == 2 and segs[0].startswith("@") and _STATUS.match(segs[1]):
        status = segs[1]
    elif len(segs) >= 4 and segs[0] == "users" and segs[2] == "statuses" and _STATUS.match(segs[3]):
        status = segs[3]
    else:
        return None
    return f"{scheme}://{host}/api/v1/statuses/{status}"


def _generic(scheme: str, host: str, segs: list[str], url: str) -> str | None:
    if any(s.startswith("@") or s.startswith("%40") for s in segs) or segs[:1] == ["users"]:
        return _mastodon_like(scheme, host, segs)  # fediverse, Threads and the like: handle in the path
    if host.endswith("reddit.com") or host == "redd.it":
        return None if segs[:1] in (["user"], ["u"]) else url
    return url


def _dropped(host: str, segs: list[str], query: list[tuple[str, str]]) -> str | None:
    return None


_RULES = {
    "x.com": _x,
    "twitter.com": _x,
    "tiktok.com": _tiktok,
    "vm.tiktok.com": _tiktok,
    "vt.tiktok.com": _tiktok,
    "instagram.com": _instagram,
    "youtube.com": _youtube,
    "music.youtube.com": _youtube,
    "youtu.be": _youtube,
    "facebook.com": _facebook,
    "fb.com": _facebook,
    "fb.watch": _facebook,
    "bsky.app": _dropped,  # a post address always names the account (handle or DID)
    "t.me": _dropped,
    "telegram.me": _dropped,
}
_SUFFIX_RULES = ((".facebook.com", _facebook), (".tiktok.com", _tiktok))


def author_alias(author_key: str | None) -> str:
    """A short stable label for an author: never the stored key itself, which may be a raw handle.

    The dashboard, the API and the alerts show the same alias, so "akun-1a2b3c4d" in a message
    is the account a reader finds on the issue page.
    """
    if not author_key:
        return "anonim"
    return "akun-" + hashlib.sha256(author_key.encode()).hexdigest()[:8]
