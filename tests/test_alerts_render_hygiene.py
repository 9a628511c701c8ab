"""What a person reads: no internal ids, places named as the data supports, crisis words only as quoted."""

from __future__ import annotations

import re
from typing import Any

from alerts.render import Links, render, thread_subject

LINKS = Links(dashboard="https://monitor.okikab.example", issue="https://monitor.okikab.example/issues/123")


def _payload(kind: str = "first", **issue: Any) -> dict[str, Any]:
    base = {
        "id": 123,
        "title": "Jembatan gantung putus",
        "topic": "infrastruktur",
        "agency_name": "Dinas PUPR OKI",
        "kecamatan": "Pampangan",
        "desa": None,
        "stage": "naik",
        "post_count": 4,
        "author_count": 3,
        "urgent": False,
    }
    return {
        "kind": kind,
        "issue": base | issue,
        "growth": [["2026-12-01T02:00:00+00:00", 3], ["2026-12-01T05:00:00+00:00", 12]],
        "posts": [
            {"id": 9, "text": "Jembatan gantung di Bangsal putus, warga pakai rakit", "url": None, "platform": "x"}
        ],
    }


def test_update_names_no_internal_alert_id() -> None:
    p = _payload("update") | {
        "first_alert_id": 2,
        "first_sent_at": "2026-12-01T02:00:00+00:00",
        "previous_stage": "baru",
    }
    out = render(p, LINKS)
    assert "peringatan pertama dikirim" in out.plain
    assert not re.search(r"#\d", out.plain + out.telegram + out.subject), out.plain
    assert "OKI-123" in out.plain  # the issue's number is what people refer to


def test_failed_delivery_notice_names_the_issue_not_the_alert_row() -> None:
    p = {
        "kind": "delivery_failed",
        "failure": {"alert_id": 77, "issue_id": 123, "issue_title": "Jembatan gantung putus", "channel": "email"},
    }
    out = render(p, LINKS)
    assert "OKI-123" in out.plain and "Jembatan gantung putus" in out.plain and "#77" not in out.plain


def test_subject_and_caption_carry_the_issue_number_and_title() -> None:
    out = render(_payload(), LINKS)
    assert out.subject == "[OKI-123] Jembatan gantung putus – Kec. Pampangan"
    assert out.chart_caption == "OKI-123 · Jembatan gantung putus: grafik pertumbuhan unggahan"
    assert 'alt="OKI-123 · Jembatan gantung putus: grafik pertumbuhan unggahan"' in out.html
    # A thread keeps the subject of its first message, whatever the title became.
    drifted = render(_payload(title="Perahu jembatan gantung putus"), LINKS, subject=out.subject, chart=False)
    assert drifted.subject == out.subject and "cid:chart" not in drifted.html


def test_kelurahan_is_not_called_desa_and_desa_gets_its_kecamatan() -> None:
    kel = render(_payload(kecamatan="Kayu Agung", desa="Kedaton"), LINKS)
    assert "Di mana: Kelurahan Kedaton, Kecamatan Kayu Agung" in kel.plain and "Desa Kedaton" not in kel.plain
    desa = render(_payload(kecamatan=None, desa="Bangsal"), LINKS)
    assert "Di mana: Desa Bangsal, Kecamatan Pampangan" in desa.plain
    assert "lokasi belum diketahui" not in desa.plain + desa.subject
    assert desa.subject == "[OKI-123] Jembatan gantung putus – Desa Bangsal, Kec. Pampangan"
    nowhere = render(_payload(kecamatan=None), LINKS)
    assert "Di mana: lokasi belum diketahui" in nowhere.plain
    assert "Kecamatan lokasi" not in nowhere.plain and "Kec. lokasi" not in nowhere.subject
    kec_only = render(_payload(), LINKS)
    assert "Di mana: Kecamatan Pampangan" in kec_only.plain and "Desa" not in kec_only.plain


def test_group_lines_use_the_same_place_phrase() -> None:
    p = {
        "kind": "group",
        "agency_name": "PDAM",
        "group": [
            {"id": 5, "title": "Air keruh", "kecamatan": "Kayu Agung", "desa": "Jua-jua", "post_count": 2},
            {"id": 6, "title": "Air mati", "kecamatan": None, "post_count": 1},
        ],
    }
    out = render(p, LINKS)
    assert "OKI-5 · Air keruh – Kelurahan Jua-jua, Kec. Kayu Agung" in out.plain
    assert "OKI-6 · Air mati – lokasi belum diketahui" in out.plain and "Kec. ?" not in out.plain


def test_crisis_words_are_named_only_when_the_quoted_text_says_them() -> None:
    p = _payload("crisis") | {"reason": "korban jiwa, ambruk"}
    p["posts"] = [{"id": 1, "text": "Jembatan ambruk! Untung dak ado korban jiwa", "platform": "x", "url": None}]
    out = render(p, LINKS)
    assert "Kata krisis dalam unggahan: ambruk." in out.plain and "korban jiwa." not in out.plain
    urgent_only = render(_payload("crisis", urgent=True) | {"reason": "mendesak"}, LINKS)
    assert "Kata krisis" not in urgent_only.plain  # "mendesak" is no word anyone wrote
    assert "menyangkut keselamatan" in urgent_only.plain


def test_posts_are_labelled_by_platform_never_as_import() -> None:
    p = _payload()
    p["posts"] = [
        {"id": 1, "text": "jembatan putus", "platform": "x", "url": "https://x.com/i/status/1"},
        {"id": 2, "text": "jembatan putus juga", "platform": "import", "url": None},
    ]
    out = render(p, LINKS)
    assert "[X]" in out.plain and "[laporan]" in out.plain and "[import]" not in out.plain


def test_thread_subject_does_not_repeat_a_place_the_title_names() -> None:
    issue = {
        "id": 7,
        "title": "Infrastruktur di Desa Bangsal, Pampangan: jembatan putus",
        "kecamatan": "Pampangan",
        "desa": "Bangsal",
    }
    assert thread_subject(issue) == "[OKI-7] Infrastruktur di Desa Bangsal, Pampangan: jembatan putus"


def test_info_for_a_secondary_agency_informs_without_alarm_or_confirmation() -> None:
    """Disdik hears of the bridge once: no crisis wording, no deadline, no confirmation asked."""
    p = _payload("info") | {"info": {"topic": "pendidikan", "agency_code": "disdik", "agency_name": "Dinas Pendidikan"}}
    out = render(p, Links(dashboard=LINKS.dashboard, issue=LINKS.issue, ack="https://x.example/ack"))
    assert out.plain.startswith("[Untuk diketahui") and "KRISIS" not in out.plain
    assert "ditangani Dinas PUPR OKI" in out.plain and "pendidikan" in out.plain.lower()
    assert "Konfirmasi" not in out.plain and "Batas" not in out.plain
