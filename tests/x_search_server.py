"""A local stand-in for X recent search that really filters by the query (for query tests).

It holds posts and answers ``GET /2/tweets/search/recent`` the way X documents it: only posts
matching the query (``OR``, implicit AND, parentheses, ``"phrases"``, ``-`` exclusion,
``@mentions``, ``is:retweet``), newer than ``since_id`` or ``start_time``, newest first,
``max_results`` a page with a ``next_token``, in the body :mod:`collectors.wire.x` renders.
Served by :class:`tests.platform_replay.ReplayServer`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from collectors.base import RawItem
from collectors.wire.x import x_search_response
from tests.platform_replay import Reply

_TOKEN = re.compile(r'\(|\)|-?"[^"]*"|-?[^\s()"]+')
_WORD = re.compile(r"@?[a-z0-9_]+")

Matcher = Callable[[str], bool]


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def _phrase(term: str) -> Matcher:
    if term.lower() == "is:retweet":
        return lambda text: text.startswith("RT @")
    wanted = [w.lstrip("@") if not term.startswith("@") else w for w in _words(term)]

    def match(text: str) -> bool:
        words = _words(text) if term.startswith("@") else [w.lstrip("@") for w in _words(text)]
        n = len(wanted)
        return n > 0 and any(words[i : i + n] == wanted for i in range(len(words) - n + 1))

    return match


def compile_query(query: str) -> Matcher:
    """The query as a predicate over a post's text (X semantics: AND binds tighter than OR)."""
    tokens = _TOKEN.findall(query)
    pos = 0

    def expr() -> Matcher:
        nonlocal pos
        alternatives = [sequence()]
        while pos < len(tokens) and tokens[pos] == "OR":
            pos += 1
            alternatives.append(sequence())
        return lambda text: any(m(text) for m in alternatives)

    def sequence() -> Matcher:
        nonlocal pos
        clauses: list[Matcher] = []
        while pos < len(tokens) and tokens[pos] not in (")", "OR"):
            clauses.append(clause())
        return lambda text: all(m(text) for m in clauses)

    def clause() -> Matcher:
        nonlocal pos
        token = tokens[pos]
        pos += 1
        if token == "(":
            inner = expr()
            if pos >= len(tokens) or tokens[pos] != ")":
                raise ValueError(f"unbalanced parentheses in {query!r}")
            pos += 1
            return inner
        negate = token.startswith("-") and len(token) > 1
        atom = _phrase(token[1:] if negate else token)
        return (lambda text: not atom(text)) if negate else atom

    matcher = expr()
    if pos != len(tokens):
        raise ValueError(f"cannot parse {query!r} at {tokens[pos]!r}")
    return matcher


@dataclass(frozen=True)
class Tweet:
    id: int
    text: str
    at: datetime
    author: str = "warga"


class XSearch:
    """The posts X holds, and the search over them."""

    def __init__(self, page_size: int = 100) -> None:
        self.tweets: list[Tweet] = []
        self.page_size = page_size
        self.queries: list[str] = []

    def add(self, tweet: Tweet) -> None:
        self.tweets.append(tweet)

    def __call__(self, query: dict[str, str]) -> Reply:
        """Answer one recent-search request."""
        q = query["query"]
        if len(q) > 512:
            return Reply(400, {"title": "Invalid Request", "detail": "query too long"})
        self.queries.append(q)
        match = compile_query(q)
        since = int(query["since_id"]) if query.get("since_id") else 0
        start = datetime.fromisoformat(query["start_time"].replace("Z", "+00:00")) if query.get("start_time") else None
        hits = sorted(
            (t for t in self.tweets if t.id > since and (start is None or t.at >= start) and match(t.text)),
            key=lambda t: t.id,
            reverse=True,
        )
        size = min(self.page_size, int(query.get("max_results", "100")))
        posts = [
            RawItem(
                source="x", platform="x", external_id=str(t.id), text=t.text, created_at=t.at, author=t.author, likes=1
            )
            for t in hits
        ]
        body = x_search_response(posts, next_token=query.get("next_token"), max_results=size)
        return Reply(200, body, {"x-rate-limit-limit": "450", "x-rate-limit-remaining": "400"})
