"""Issue titles: a phrase in the posts' own words, the place said once, stable between passes."""

from __future__ import annotations

from datetime import timedelta

from monitor.domain.titles import best_phrase, make_title, phrase_of, top_words, words_of
from monitor.kernel.config import AppConfig
from monitor.stages.assess import assess_issues
from monitor.store.db import Database
from monitor.store.models import Issue
from tests.grouping_support import NOW, Harness

ROAD = {"jalan": 10.0, "rusak": 9.0, "hancur": 3.0, "motor": 3.0, "lubang": 1.0}


def test_phrase_keeps_the_posts_word_order_and_its_negation() -> None:
    weights = {"blt": 5.0, "cair": 4.0, "kenapa": 2.0, "dana": 1.0}
    phrase = phrase_of("Dana BLT kenapa blm cair juga sih??", weights)
    assert phrase is not None
    # Slang normalised ("blm"), the small word that carries the meaning kept, the acronym in capitals.
    assert phrase.text == "dana BLT kenapa belum cair" and phrase.top_words == 4
    negated = phrase_of("air tdk mengalir sudah tiga hari", {"air": 3.0, "mengalir": 2.0})
    assert negated is not None and negated.text == "air tidak mengalir"
    lead = phrase_of("pokoknya belum cair dana blt", {"cair": 3.0, "blt": 2.0})
    assert lead is not None and lead.text == "belum cair dana BLT"  # a negation just before the run joins it


def test_phrase_leaves_out_the_place_the_title_already_names() -> None:
    text = "jln ke desa sungai lumpur rusak parah hancur motor warga jatuh tiap hari #OKI"
    phrase = phrase_of(text, ROAD, places=("Cengal", "Sungai Lumpur"))
    assert phrase is not None and phrase.text == "jalan rusak parah hancur motor"
    joined = phrase_of("air pdam di kayuagung amis", {"air": 2.0, "pdam": 2.0, "amis": 1.0}, places=("Kayu Agung",))
    assert joined is not None and joined.text == "air PDAM amis"  # "Kayu Agung" is also written as one word
    # A word that is only *part* of a place name elsewhere stays: "sungai" is not the issue's place.
    river = phrase_of("sungai meluap", {"sungai": 3.0, "meluap": 2.0}, places=("Cengal", "Sungai Lumpur"))
    assert river is not None and river.text == "sungai meluap"


def test_phrase_stays_within_one_clause() -> None:
    text = "Sudah 3 bulan jalan desa Sungai Lumpur rusak, anak sekolah jalan kaki lewat lumpur. https://x.co/a.b"
    weights = {"jalan": 5.0, "rusak": 4.0, "anak": 3.0, "sekolah": 1.0}
    phrase = phrase_of(text, weights, places=("Cengal", "Sungai Lumpur"))
    assert phrase is not None and phrase.text == "jalan rusak"  # not "jalan rusak anak" across the comma


def test_filler_words_cost_a_phrase() -> None:
    weights = {"jalan": 264.0, "rusak": 115.0, "hancur": 50.0, "motor": 39.0}
    text = "anak sekolah harus dorong motor tiap pagi gara2 jalan rusak"
    # One more top word through four filler words loses to the plain "jalan rusak".
    assert best_phrase([text], weights) == "jalan rusak"
    assert best_phrase(["motor jatuh di jalan rusak"], weights) == "jalan rusak"  # two fillers: a tie, shorter wins
    assert best_phrase(["motor di jalan rusak"], weights) == "motor di jalan rusak"


def test_best_phrase_prefers_the_post_that_holds_most_of_the_issue() -> None:
    texts = [
        "Video Jalan Rusak di Cengal OKI Viral, DPRD Minta Dinas PUPR Bertindak",
        "jalan rusak hancur motor jatuh semua",
    ]
    assert best_phrase(texts, ROAD) == "jalan rusak hancur motor"
    assert best_phrase(["rusak sekali"], ROAD) is None  # one top word is not a phrase: fall back to top words
    assert best_phrase([], ROAD) is None


def test_current_phrase_is_kept_unless_clearly_outweighed() -> None:
    texts = ["jalan rusak hancur motor jatuh"]
    # "jalan rusak" holds 19 of the 25 the new phrase holds: below 90 %, so it is replaced ...
    assert best_phrase(texts, ROAD, current="jalan rusak") == "jalan rusak hancur motor"
    # ... but a phrase within 10 % of the best stays, so near ties do not flip the title between passes.
    near = {"jalan": 10.0, "rusak": 9.0, "hancur": 1.0, "motor": 1.0}
    assert best_phrase(texts, near, current="jalan rusak") == "jalan rusak"


def test_title_falls_back_to_top_words_and_round_trips_its_phrase() -> None:
    title = make_title("air_bersih", "Kayu Agung", "Jua-jua", {"pdam": 3.0, "air": 3.0, "amis": 1.0})
    assert title == "Air bersih di Kelurahan Jua-jua, Kayu Agung: air PDAM amis"
    assert words_of(title) == "air PDAM amis"
    assert make_title("bencana", None, None, {}) == "Bencana di lokasi belum jelas" and words_of("Bencana") is None
    assert top_words({"b": 1.0, "a": 1.0, "c": 2.0}, 2) == ["c", "a"]  # ties alphabetical: reproducible


def test_grouping_titles_a_new_issue_with_its_first_posts_phrase(db: Database, config: AppConfig) -> None:
    h = Harness(db, config)
    _, issue_id = h.add("Jalan di Desa Sungai Lumpur Cengal rusak parah, lubang besar")
    h.add("jalan sungai lumpur cengal makin rusak, lubang dimana-mana", at=NOW + timedelta(hours=1))
    with db.session() as s:
        issue = s.get(Issue, issue_id)
        assert issue is not None
        assert issue.title.startswith("Infrastruktur di Desa Sungai Lumpur, Cengal: ")
        words = words_of(issue.title)
        assert words is not None and "sungai" not in words and "jalan" in words and "rusak" in words


def test_assessment_retitles_with_the_phrase_that_holds_most_of_the_issue(db: Database, config: AppConfig) -> None:
    h = Harness(db, config)
    _, issue_id = h.add("rusak jalan lubang")  # created with the phrase of its only post
    for k in range(4):
        h.add(f"jalan rusak hancur berlubang {k}", at=NOW + timedelta(minutes=40 + k))
    with db.session() as s:
        issue = s.get(Issue, issue_id)
        assert issue is not None
        before = issue.title
        assess_issues(s, config, NOW + timedelta(hours=1))
        after = issue.title
    assert words_of(before) == "rusak jalan lubang"  # grouping keeps the phrase; the place may change
    assert words_of(after) == "jalan rusak hancur berlubang"
    with db.session() as s:  # the next pass with nothing new keeps the title, without choosing again
        issue = s.get(Issue, issue_id)
        assert issue is not None and issue.terms["t"][0] == 5  # chosen from these five posts
        issue.terms = {**issue.terms, "w": {"lubang": 9.0, "berlubang": 8.0}}  # would change the phrase ...
        assess_issues(s, config, NOW + timedelta(hours=2))
        assert issue.title == after  # ... but the posts are the same, so it is not looked at again
    h.add("jalan rusak hancur berlubang dalam", at=NOW + timedelta(hours=2))
    with db.session() as s:  # a new post (grouping drops the marker) makes the next pass choose again
        issue = s.get(Issue, issue_id)
        assert issue is not None and "t" not in issue.terms
        assess_issues(s, config, NOW + timedelta(hours=3))
        assert issue.terms["t"][0] == 6 and words_of(issue.title) == "jalan rusak hancur berlubang"
