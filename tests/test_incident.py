"""The incident decision (monitor/domain/incident.py), pure: one test per reason, and the rules around it."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import get_args

import pytest

from monitor.domain.incident import (
    REASON_TEXT,
    CandidateView,
    PostView,
    Reason,
    Rules,
    decide,
    desa_named,
    event_anchors,
    is_incident,
    is_response,
    majority_place,
    primary_topic,
    secondary_topics,
)

AT = datetime(2026, 12, 1, 5, 0, tzinfo=UTC)
RULES = Rules()
ROUTING = {"infrastruktur": "pupr", "pendidikan": "disdik", "kesehatan": "dinkes", "lingkungan": "dlh"}
BRIDGE = event_anchors(Counter({"jembatan": 5, "gantung": 4, "putus": 3, "ambruk": 2}))
COLLAPSE = frozenset({"o:jembatan", "h:runtuh"})

# The bridge collapse in Desa Bangsal, Pampangan: started two hours ago, last post 10 minutes ago.
INCIDENT = CandidateView(
    issue_id=1,
    status="open",
    topic="infrastruktur",
    kecamatan="Pampangan",
    desa="Bangsal",
    first_seen=AT - timedelta(hours=2),
    last_seen=AT - timedelta(minutes=10),
    similarity=0.05,
    anchors=BRIDGE,
    size=12,
)
# Yesterday's water issue in Desa Sukadana, Kayu Agung.
OLD_WATER = CandidateView(
    issue_id=2,
    status="open",
    topic="air_bersih",
    kecamatan="Kayu Agung",
    desa="Sukadana",
    first_seen=AT - timedelta(hours=20),
    last_seen=AT - timedelta(hours=19),
    similarity=0.8,
)
SCHOOL = PostView(
    topic="pendidikan", kecamatan="Pampangan", desa=None, at=AT, anchors=COLLAPSE, desas=frozenset({"Bangsal"})
)


def test_bridge_anchors_make_an_incident() -> None:
    assert BRIDGE == COLLAPSE and is_incident(BRIDGE)
    # "putus"/"ambruk"/"roboh" are one collapse; "-nya" is read through.
    assert event_anchors(Counter({"ambruknya": 1, "jembatan": 1})) == COLLAPSE
    # A chronic road complaint is not an event; a word one post of many used does not count.
    assert not is_incident(event_anchors(Counter({"jalan": 9, "rusak": 8, "lubang": 5})))
    assert event_anchors(Counter({"jalan": 20, "rusak": 18, "amblas": 1}), 0.2) == {"o:jalan"}


def test_reason_spread() -> None:
    d = decide(replace(SCHOOL, spread_issue=7), [INCIDENT], RULES)
    assert (d.action, d.issue_id, d.reason, d.spread) == ("join", 7, "spread", True)


def test_reason_same_incident_joins_across_topics() -> None:
    """Children who cannot reach school because the bridge collapsed: the bridge's issue, though the words differ."""
    d = decide(SCHOOL, [INCIDENT], RULES)
    assert (d.action, d.issue_id, d.reason, d.response) == ("join", 1, "same_incident", False)


def test_same_incident_needs_its_place_its_object_and_its_window() -> None:
    other_kecamatan = replace(SCHOOL, kecamatan="Jejawi", desas=frozenset())
    other_desa = replace(SCHOOL, desa="Pampangan", desas=frozenset({"Pampangan"}))
    other_event = replace(SCHOOL, anchors=frozenset({"o:jembatan", "h:api"}))  # the same bridge on fire
    other_object = replace(SCHOOL, anchors=frozenset({"o:jalan", "h:runtuh"}))
    quiet = replace(INCIDENT, last_seen=AT - RULES.incident_window - timedelta(minutes=1))
    for post, cand in (
        (other_kecamatan, INCIDENT),
        (other_desa, INCIDENT),
        (other_event, INCIDENT),
        (other_object, INCIDENT),
        (SCHOOL, quiet),
    ):
        assert decide(post, [cand], RULES).reason == "new_problem", (post, cand)
    # With no kecamatan of its own, the text naming the issue's desa places the post.
    unplaced = replace(SCHOOL, kecamatan=None, desas=frozenset(), named=frozenset({1}))
    assert decide(unplaced, [INCIDENT], RULES).reason == "same_incident"
    assert decide(replace(unplaced, named=frozenset()), [INCIDENT], RULES).reason == "new_problem"


def test_reason_incident_place_pulls_a_wordless_facet_of_its_desa() -> None:
    """'Murid SMP Bangsal diliburkan': no event word, no shared word, but the desa of a live incident."""
    wordless = replace(SCHOOL, anchors=frozenset())
    incident = replace(INCIDENT, similarity=0.0)
    d = decide(wordless, [incident], RULES)
    assert (d.action, d.issue_id, d.reason) == ("join", 1, "incident_place")
    # Not another cause (a power cut there is its own problem), not a small incident, not another desa.
    assert decide(replace(wordless, topic="listrik"), [incident], RULES).reason == "new_problem"
    assert decide(wordless, [replace(incident, size=2)], RULES).reason == "new_problem"
    assert decide(replace(wordless, desas=frozenset({"Menggeris"})), [incident], RULES).reason == "new_problem"


def test_reason_same_problem() -> None:
    water = PostView(topic="air_bersih", kecamatan="Kayu Agung", desa="Sukadana", at=AT, anchors=frozenset())
    d = decide(water, [OLD_WATER], RULES)
    assert (d.action, d.issue_id, d.reason) == ("join", 2, "same_problem")


def test_no_stale_join_from_another_desa() -> None:
    """A new outage in Kedaton never joins yesterday's Sukadana issue; an outage spreading within hours may."""
    kedaton = PostView(
        topic="air_bersih",
        kecamatan="Kayu Agung",
        desa="Kedaton",
        at=AT,
        anchors=frozenset(),
        desas=frozenset({"Kedaton"}),
    )
    assert decide(kedaton, [OLD_WATER], RULES).reason == "new_problem"
    young = replace(OLD_WATER, first_seen=AT - timedelta(hours=2), last_seen=AT - timedelta(minutes=30))
    assert decide(kedaton, [young], RULES).reason == "same_problem"
    # Naming Sukadana too (the outage reached both) is the same place.
    assert decide(replace(kedaton, named=frozenset({2})), [OLD_WATER], RULES).reason == "same_problem"


def test_no_stale_join_without_a_place() -> None:
    unplaced = PostView(topic="air_bersih", kecamatan=None, desa=None, at=AT, anchors=frozenset())
    quiet = replace(OLD_WATER, similarity=0.9, last_seen=AT - RULES.unplaced_recent - timedelta(hours=1))
    assert decide(unplaced, [quiet], RULES).reason == "new_problem"
    recent = replace(OLD_WATER, similarity=0.9, last_seen=AT - timedelta(hours=3))
    assert decide(unplaced, [recent], RULES).reason == "same_problem"


def test_reason_response_joins_without_being_a_complaint() -> None:
    promise = replace(SCHOOL, topic="infrastruktur", response=True, anchors=frozenset({"o:jembatan"}))
    d = decide(promise, [INCIDENT], RULES)
    assert (d.action, d.issue_id, d.reason, d.response) == ("join", 1, "response", True)


def test_reason_response_without_issue_creates_nothing() -> None:
    promise = replace(SCHOOL, response=True, desas=frozenset({"Menggeris"}))
    d = decide(promise, [], RULES)
    assert (d.action, d.issue_id, d.reason) == ("skip", None, "response_without_issue")


def test_reason_regression() -> None:
    water = PostView(topic="air_bersih", kecamatan="Kayu Agung", desa="Sukadana", at=AT, anchors=frozenset())
    resolved = replace(OLD_WATER, status="resolved", last_seen=AT - timedelta(days=5), similarity=0.6)
    d = decide(water, [resolved], RULES)
    assert (d.action, d.issue_id, d.reason) == ("reopen", 2, "regression")
    # A response never reopens a resolved issue.
    assert decide(replace(water, response=True), [resolved], RULES).reason == "response_without_issue"


def test_reason_new_problem() -> None:
    d = decide(SCHOOL, [], RULES)
    assert (d.action, d.issue_id, d.reason) == ("new", None, "new_problem")


def test_every_reason_has_bahasa_text() -> None:
    assert set(REASON_TEXT) == set(get_args(Reason))
    assert decide(SCHOOL, [], RULES).text == "masalah baru: tidak cocok dengan isu yang ada"


def test_primary_is_the_cause_not_the_consequence() -> None:
    # An event first told by its school facet: the bridge's agency takes over once the bridge is named.
    assert primary_topic({"pendidikan": 1, "infrastruktur": 1}, "pendidikan") == "infrastruktur"
    assert primary_topic({"pendidikan": 5, "infrastruktur": 2, "kesehatan": 3}, "infrastruktur") == "infrastruktur"
    # Consequences only: the heavier wins; a near tie does not flip the agency.
    assert primary_topic({"pendidikan": 2, "kesehatan": 5}, "pendidikan") == "kesehatan"
    assert primary_topic({"infrastruktur": 5, "bencana": 5.5}, "infrastruktur") == "infrastruktur"
    assert primary_topic({}, "pendidikan") == "pendidikan"


def test_secondary_facets_need_weight_and_share() -> None:
    topics = {"infrastruktur": 20, "pendidikan": 4, "kesehatan": 3, "lingkungan": 1}
    assert secondary_topics(topics, "infrastruktur", ROUTING) == [("pendidikan", "disdik"), ("kesehatan", "dinkes")]
    assert secondary_topics({"infrastruktur": 40, "pendidikan": 3}, "infrastruktur", ROUTING) == []


def test_place_by_majority_of_the_posts() -> None:
    assert majority_place({"Pampangan": 5, "Jejawi": 1}, {"Pampangan|Bangsal": 4}, ("Jejawi", None)) == (
        "Pampangan",
        "Bangsal",
    )
    # Spread over several desa: the kecamatan alone.
    votes = {"Kayu Agung|Kedaton": 2, "Kayu Agung|Sukadana": 2, "Kayu Agung|Jua-jua": 1}
    assert majority_place({"Kayu Agung": 5}, votes, ("Kayu Agung", "Kedaton")) == ("Kayu Agung", None)
    assert majority_place({}, {}, ("Cengal", "Sungai Lumpur")) == ("Cengal", None)


def test_desa_named_in_the_text() -> None:
    assert desa_named("warga kedaton kayuagung keluhkan air pdam keruh", "Kayu Agung") == {"Kedaton"}
    assert desa_named("bidan tidak bisa ke bangsal", "Pampangan") == {"Bangsal"}
    assert desa_named("bidan tidak bisa ke bangsal", None) == frozenset()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Pemkab OKI janjikan jembatan darurat di Desa Bangsal, Dinas PUPR sudah turun ke lokasi", True),
        ("Bupati OKI menanggapi ambruknya jembatan gantung Bangsal, akan segera dibangun jembatan darurat", True),
        ("Dinas PUPR OKI menyiapkan jembatan darurat untuk warga Desa Bangsal", True),
        ("Kapan jembatan Bangsal dibangun? Pemkab cuma janji terus", False),
        ("Pemkab janjikan jembatan darurat tapi sampai sekarang belum ada", False),
        ("Tolong Dinas PUPR OKI segera turun, jembatan gantung Bangsal ambruk", False),
        ("Jembatan gantung Bangsal putus, warga tidak bisa menyeberang", False),
        ("Warga akan segera membangun rakit sendiri", False),
    ],
)
def test_is_response(text: str, expected: bool) -> None:
    assert is_response(text) is expected
