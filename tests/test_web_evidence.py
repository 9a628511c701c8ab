"""The issue page's evidence list, rendered in Python: every value from a post or label is escaped."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html.parser import HTMLParser
from types import SimpleNamespace

from monitor.web.evidence import evidence_items
from monitor.web.queries import EvidencePost, LabelView

HOSTILE = '<script>alert(1)</script><img src=x onerror="alert(2)">'


def _post(**over: object) -> SimpleNamespace:
    values: dict[str, object] = {
        "id": 7,
        "platform": "x",
        "url": "https://x.com/a/status/1",
        "title": None,
        "text": "Jalan rusak di Kayuagung",
        "created_at": datetime(2026, 11, 29, 3, 5, tzinfo=UTC),
        "likes": 3,
        "shares": 1,
        "replies": 0,
    }
    values.update(over)
    return SimpleNamespace(**values)


def _label(**over: object) -> LabelView:
    values = {"post_id": 7, "topic": "infrastruktur", "kecamatan": "Kayuagung", "agency_code": "pupr",
              "is_complaint": True, "relevant": True, "confidence": 0.876, "needs_triage": False}  # fmt: skip
    values.update(over)
    return LabelView(tuple(values.values()))


def _render(posts: list[EvidencePost], can_act: bool = True) -> str:
    names = {"pupr": "Dinas PUPR"}
    return str(
        evidence_items(
            posts,
            issue_id=12,
            can_act=can_act,
            csrf_token='tok"en<',
            agency_name=lambda code: names.get(code or "", code or "-"),
        )
    )


class _Collector(HTMLParser):
    """Tags and text as a browser's parser sees them."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _parse(html: str) -> _Collector:
    parser = _Collector()
    parser.feed(html)
    parser.close()
    return parser


def test_a_post_shows_its_source_line_text_label_and_forms() -> None:
    html = _render([EvidencePost(_post(), _label(), True, "akun-1a2b3c4d")])
    page = _parse(html)
    text = "".join(page.text)
    assert "akun-1a2b3c4d" in text and "29 Nov 2026 10.05 WIB" in text and "sebaran" in text
    assert "👍 3 · 🔁 1 · 💬 0" in text
    assert "Label: Infrastruktur · " in text
    assert "Kayuagung · Dinas PUPR · keluhan: ya · yakin 88%" in text
    links = [attrs for tag, attrs in page.tags if tag == "a"]
    # Pseudonymised by default: the link opens the post without naming its author (monitor/domain/personal_urls.py).
    assert links == [
        {"href": "https://x.com/i/web/status/1", "rel": "noopener noreferrer nofollow", "target": "_blank"}
    ]
    forms = [attrs for tag, attrs in page.tags if tag == "form"]
    assert forms == [{"method": "post", "action": "/issues/12/labels"}]
    inputs = {(a.get("name"), a.get("value")) for tag, a in page.tags if tag == "input" and a.get("type") == "hidden"}
    assert inputs == {("csrf_token", 'tok"en<'), ("post_id", "7")}  # the token is escaped, then read back whole
    assert ("input", {"type": "checkbox", "name": "post_id", "value": "7", "form": "split-form",
                      "aria-label": "pilih unggahan 7"}) in page.tags  # fmt: skip


def test_hostile_values_are_text_never_markup() -> None:
    post = _post(platform=HOSTILE, title=HOSTILE, text=HOSTILE, url='https://ok.example/"><script>x()</script>')
    label = _label(kecamatan=HOSTILE, agency_code=HOSTILE, topic=HOSTILE)
    html = _render([EvidencePost(post, label, False, HOSTILE)])
    page = _parse(html)
    assert not [t for t, _ in page.tags if t in ("script", "img")]
    assert not any(k.startswith("on") for _, attrs in page.tags for k in attrs)
    # platform, author, title, text, and the label's topic, place and agency (unknown codes show as given)
    assert "".join(page.text).count(HOSTILE) == 7
    href = next(a["href"] for t, a in page.tags if t == "a")
    assert href == 'https://ok.example/"><script>x()</script>'  # one attribute value, escaped in the markup


def test_unsafe_links_are_not_linked() -> None:
    for url in ("javascript:alert(1)", " JaVaScRiPt:alert(1)", "data:text/html,<b>x</b>", "//evil.example", "", None):
        html = _render([EvidencePost(_post(url=url), None, False, "a")])
        assert "<a " not in html, url


def test_readers_see_no_forms_and_a_purged_text_is_said_so() -> None:
    html = _render([EvidencePost(_post(text=None), None, False, "a")], can_act=False)
    assert "<form" not in html and 'type="checkbox"' not in html and "csrf" not in html
    assert "teks sudah dihapus sesuai masa simpan" in html
    assert 'class="label' not in html  # unlabelled


def test_a_label_needing_triage_says_so_and_an_empty_issue_says_it_has_no_posts() -> None:
    html = _render([EvidencePost(_post(), _label(needs_triage=True, kecamatan=None), False, "a")])
    assert "perlu triase" in html and "tanpa kecamatan" in html
    assert re.fullmatch(r'<li class="muted">Belum ada unggahan\.</li>', _render([]))
