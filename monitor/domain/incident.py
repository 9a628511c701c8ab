"""Incidents: one event at one place is one issue, whatever facet a post talks about.

A suspension bridge collapses in a desa: some posts are about the bridge, some about children
who cannot reach school, villagers crossing on drum rafts, a midwife who cannot get through, and
the regency's promise of an emergency bridge. The classifier files them under different topics,
yet they are one event, and only one agency can fix its cause. This module holds the pure parts
of that decision; ``monitor.stages.group.IssueGrouper`` reads the facts from the database, asks
:func:`decide` and applies the answer.

* **Event words** (:func:`event_anchors`): what broke (jembatan, tanggul, pipa...) and what
  happened to it (putus/ambruk/roboh → one collapse, terbakar, banjir...). An issue whose weighty
  words hold both is an *incident*; a post in the same kecamatan/desa that shares them joins it
  within ``issues.incident_window_hours`` even when its topic differs.
* **Responses** (:func:`is_response`): the government saying what it does ("Pemkab janjikan
  jembatan darurat", "Dinas PUPR sudah turun ke lokasi") joins the issue it answers as a
  response: not a complaint, no growth, no alert of its own.
* **No stale joins** (:func:`place_ok`): a post that names another desa joins an issue only while
  that issue is young (``issues.other_desa_window_hours``), and a post naming no place joins only
  an issue active lately (``issues.unplaced_recent_hours``).
* **One primary topic** (:func:`primary_topic`): the topic that can fix the cause (infrastructure-
  like causes outweigh consequences such as school access or health), by weight; the other
  topics' agencies are *secondary* (:func:`secondary_topics`) and are only informed once.
* **Place by majority** (:func:`majority_place`): the issue's kecamatan and desa follow its posts.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Literal

from classifiers.normalise import normalise
from monitor.domain.prefilter import WILAYAH
from monitor.kernel.regions import DEFAULT_REGION

# --- event words -------------------------------------------------------------------------------

_OBJECTS = {
    # What breaks, in the words people use; the value is the canonical anchor.
    "jembatan": "jembatan",
    "titian": "jembatan",
    "jalan": "jalan",
    "tanggul": "tanggul",
    "bendungan": "tanggul",
    "turap": "tanggul",
    "siring": "tanggul",
    "pipa": "pipa",
    "tiang": "tiang",
    "gardu": "gardu",
    "trafo": "gardu",
    "kabel": "kabel",
    "dermaga": "dermaga",
    "gedung": "gedung",
    "atap": "gedung",
    "rumah": "rumah",
    "pasar": "pasar",
    "masjid": "masjid",
    "menara": "menara",
    "tower": "menara",
    "gorong": "gorong",
    "kapal": "kapal",
    "speedboat": "kapal",
    "ketek": "kapal",
    "pohon": "pohon",
}
_HAPPENINGS = {
    # What happened to it: synonyms of one kind of event share an anchor ("putus"/"ambruk" are one collapse).
    "putus": "runtuh",
    "ambruk": "runtuh",
    "roboh": "runtuh",
    "rubuh": "runtuh",
    "runtuh": "runtuh",
    "ambrol": "runtuh",
    "patah": "runtuh",
    "jebol": "runtuh",
    "amblas": "runtuh",
    "ambles": "runtuh",
    "longsor": "longsor",
    "terbakar": "api",
    "kebakaran": "api",
    "hangus": "api",
    "dilalap": "api",
    "banjir": "banjir",
    "terendam": "banjir",
    "kebanjiran": "banjir",
    "tenggelam": "tenggelam",
    "karam": "tenggelam",
    "terbalik": "tenggelam",
    "hanyut": "hanyut",
    "meledak": "ledakan",
    "ledakan": "ledakan",
    "tumbang": "tumbang",
}
ANCHOR_SHARE = 0.2
"""An issue's event word counts when its weight is at least this share of the issue's heaviest word."""


@lru_cache(maxsize=1 << 16)
def _anchor(word: str) -> str | None:
    """``o:<object>`` or ``h:<happening>`` for an event word (also with a ``-nya`` ending), else None.

    Cached: grouping asks for every word of every post and of every candidate issue's term vector, and the
    same few thousand words recur (a third of the grouping's time was these look-ups).
    """
    for w in (word, word[:-3] if word.endswith("nya") else None):
        if not w:
            continue
        if w in _OBJECTS:
            return "o:" + _OBJECTS[w]
        if w in _HAPPENINGS:
            return "h:" + _HAPPENINGS[w]
    return None


def event_anchors(weights: Mapping[str, float], share: float = 0.0) -> frozenset[str]:
    """The event anchors among a bag of words; with ``share``, only those weighing that share of the heaviest word.

    A post's anchors are every event word it has (``share=0``); an issue's are the ones its posts keep
    repeating, so a word one post of a hundred used does not make a road complaint a collapse.
    """
    if not weights:
        return frozenset()
    summed: dict[str, float] = {}
    for word, weight in weights.items():
        anchor = _anchor(word)
        if anchor is not None:
            summed[anchor] = summed.get(anchor, 0.0) + weight
    if not summed:
        return frozenset()
    floor = share * max(weights.values())
    return frozenset(a for a, w in summed.items() if w >= floor)


def _objects(anchors: Iterable[str]) -> frozenset[str]:
    return frozenset(a for a in anchors if a.startswith("o:"))


def _happenings(anchors: Iterable[str]) -> frozenset[str]:
    return frozenset(a for a in anchors if a.startswith("h:"))


def is_incident(anchors: frozenset[str]) -> bool:
    """Whether anchors describe an event: something (an object) that something happened to."""
    return bool(_objects(anchors)) and bool(_happenings(anchors))


# --- responses ---------------------------------------------------------------------------------

# Who speaks for the government (after normalisation: lower case, slang mapped).
_ACTOR = re.compile(
    r"\b(pemkab|pemda|pemerintah (kabupaten|daerah)|bupati|wabup|wakil bupati|sekda|camat|kadis|"
    r"kepala dinas|dinas|pupr|bpbd|dinkes|disdik|dinsos|dishub|pdam|diskominfo|humas pemkab)\b"
)
# What a response says: a promise, an answer, an action taken.
_RESPONSE = re.compile(
    r"\b(akan segera|segera (membangun|memperbaiki|menangani|mengirim|menyalurkan)|janjikan|menjanjikan|"
    r"berjanji|menanggapi|tanggapi|merespons?|respons? cepat|turun ke lokasi|turun langsung ke lokasi|"
    r"meninjau|tinjau lokasi|mengerahkan|menurunkan tim|menyalurkan bantuan|memastikan|menyiapkan|"
    r"sedang (ditangani|dikerjakan|diperbaiki)|telah (menangani|memperbaiki|menyalurkan)|klarifikasi|"
    r"mengimbau|menginstruksikan)\b"
)
# A citizen still asking, or doubting the promise: a complaint, even when it quotes the government.
_STILL_COMPLAINT = re.compile(
    r"(\?|\b(minta|meminta|mohon|tolong|berharap|harap|desak|mendesak|kapan|kecewa|bohong|omong kosong|"
    r"(hanya|cuma|cuman) janji|janji (palsu|manis)|mana buktinya|(tidak|tak) kunjung|"
    r"(tapi|tetapi|namun|sampai sekarang|hingga kini|sampai kini) (masih )?belum)\b)"
)


def is_response(text: str) -> bool:
    """Whether a text is the government answering (a statement, promise or action), not a citizen complaining.

    Needs a government actor and a response cue, and no sign of a citizen still asking or doubting
    ("tolong", "kapan", "cuma janji", "tapi belum", a question mark).
    """
    return is_response_normalised(normalise(text).lower(), raw=text)


def is_response_normalised(norm: str, raw: str = "") -> bool:
    """:func:`is_response` of an already normalised text (``raw``, when given, is searched for '?' too)."""
    if not _ACTOR.search(norm) or not _RESPONSE.search(norm):
        return False
    return not (_STILL_COMPLAINT.search(norm) or "?" in raw)


# --- places ------------------------------------------------------------------------------------


@lru_cache(maxsize=4096)
def _name_forms(name: str) -> tuple[str, ...]:
    words = " ".join(normalise(name).lower().split())
    if not words:
        return ()
    return (f" {words} ", f" {words.replace(' ', '')} ") if " " in words else (f" {words} ",)


def _squash(name: str) -> str:
    return "".join(name.lower().split())


@lru_cache(maxsize=1)
def _desa_by_kecamatan() -> dict[str, tuple[str, ...]]:
    """OKI's desa and kelurahan by kecamatan (``classifiers/data/oki_wilayah.csv``), without those named
    like their kecamatan (a mention of the kecamatan would read as that desa)."""
    out: dict[str, list[str]] = {}
    if WILAYAH.exists():
        with WILAYAH.open(encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                if row["level"] == "desa_kelurahan" and _squash(row["nama"]) != _squash(row["nama_kecamatan"]):
                    out.setdefault(row["nama_kecamatan"], []).append(row["nama"])
    return {k: tuple(v) for k, v in out.items()}


@lru_cache(maxsize=512)
def _desa_forms(kecamatan: str) -> dict[str, tuple[tuple[str, str], ...]]:
    """The padded forms ``names_place`` looks for of each desa of ``kecamatan``, by their first word."""
    out: dict[str, list[tuple[str, str]]] = {}
    for desa in _desa_by_kecamatan().get(kecamatan, ()):
        for form in _name_forms(desa):
            out.setdefault(form.split()[0], []).append((desa, form))
    return {word: tuple(forms) for word, forms in out.items()}


def desa_named(norm: str, kecamatan: str | None) -> frozenset[str]:
    """The desa/kelurahan of ``kecamatan`` that a normalised text names (the classifier may not have placed it)."""
    if not kecamatan:
        return frozenset()
    # What ``names_place`` says for each desa, found from the text's words: a form (" sungai lumpur ") is in
    # the padded text only if its first word is one of the text's words. Asking each of a kecamatan's dozens
    # of desa in turn, for every grouped post that names none, was a tenth of the grouping time.
    forms = _desa_forms(kecamatan)
    padded = f" {norm} "
    found: set[str] = set()
    for word in set(norm.split()):
        for desa, form in forms.get(word, ()):
            if form in padded:
                found.add(desa)
    return frozenset(found)


def names_place(norm: str, name: str | None) -> bool:
    """Whether a normalised text names a place (also written without its spaces: "Kayuagung")."""
    if not name:
        return False
    padded = f" {norm} "
    return any(form in padded for form in _name_forms(name))


# --- the decision ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PostView:
    """What the decision reads of a post."""

    topic: str
    kecamatan: str | None
    desa: str | None
    at: datetime
    anchors: frozenset[str]
    response: bool = False
    spread_issue: int | None = None
    """The open issue holding the post this one copies or replies to."""
    named: frozenset[int] = frozenset()
    """Candidate issues whose desa (or, with no desa, kecamatan) the post's text names."""
    desas: frozenset[str] = frozenset()
    """Where in its kecamatan the post is: its label's desa, else the desa of its kecamatan its text names."""
    region_code: str = DEFAULT_REGION
    """Its kabupaten/kota: it joins only issues of the same region."""


@dataclass(frozen=True, slots=True)
class CandidateView:
    """What the decision reads of an issue a post might join."""

    issue_id: int
    status: str
    """open | resolved"""
    topic: str
    kecamatan: str | None
    desa: str | None
    first_seen: datetime
    last_seen: datetime
    similarity: float
    """Cosine of the post's words with the issue's."""
    near: bool = False
    """A near-duplicate (simhash) of one of the issue's recent posts."""
    anchors: frozenset[str] = frozenset()
    size: int = 0
    """Complaint posts in the issue."""
    region_code: str = DEFAULT_REGION


@dataclass(frozen=True, slots=True)
class Rules:
    """The grouping settings the decision applies (``issues:`` in config.yaml)."""

    min_similarity: float = 0.2
    match_window: timedelta = timedelta(hours=72)
    regression_window: timedelta = timedelta(days=30)
    incident_window: timedelta = timedelta(hours=24)
    other_desa_window: timedelta = timedelta(hours=6)
    unplaced_recent: timedelta = timedelta(hours=24)
    cross_topic_penalty: float = 0.2
    desa_bonus: float = 0.15


Action = Literal["join", "reopen", "new", "skip"]
Reason = Literal[
    "spread",
    "same_incident",
    "same_problem",
    "response",
    "regression",
    "incident_place",
    "new_problem",
    "response_without_issue",
]
REASON_TEXT: dict[Reason, str] = {
    "spread": "salinan atau balasan unggahan yang sudah ada di isu ini",
    "same_incident": "kejadian yang sama di tempat yang sama",
    "same_problem": "masalah yang sama: topik, tempat dan kata-katanya dekat",
    "response": "tanggapan pemerintah atas isu ini",
    "regression": "masalah yang sudah selesai muncul lagi",
    "incident_place": "akibat kejadian di desa yang sama",
    "new_problem": "masalah baru: tidak cocok dengan isu yang ada",
    "response_without_issue": "tanggapan pemerintah tanpa isu keluhan: tidak dikelompokkan",
}
"""The reason in Bahasa Indonesia, for people reading why a post went where it went."""
INCIDENT_PULL_MIN_POSTS = 3
"""An incident pulls word-less posts of its desa only once it has this many complaint posts."""


@dataclass(frozen=True, slots=True)
class Decision:
    """Where a post goes, and why."""

    action: Action
    issue_id: int | None
    reason: Reason
    similarity: float = 1.0
    spread: bool = False
    response: bool = False

    @property
    def text(self) -> str:
        """The reason in Bahasa Indonesia."""
        return REASON_TEXT[self.reason]


def _same_desa(post: PostView, c: CandidateView) -> bool:
    return bool(c.desa) and (c.desa in post.desas or c.issue_id in post.named)


def _other_desa(post: PostView, c: CandidateView) -> bool:
    """The post is in another desa than the issue (and does not name the issue's)."""
    return bool(c.desa and post.desas and c.desa not in post.desas and c.issue_id not in post.named)


def _same_place(post: PostView, c: CandidateView) -> bool:
    """Same kecamatan (by label, or the text naming the issue's place), and no other desa named."""
    if not c.kecamatan:
        return False
    if post.kecamatan:
        if post.kecamatan != c.kecamatan:
            return False
    elif c.issue_id not in post.named:
        return False
    return not _other_desa(post, c)


def place_ok(post: PostView, c: CandidateView, rules: Rules) -> bool:
    """Whether a post may join an issue as far as place and age go (no stale joins).

    A post in another desa of the same kecamatan joins only an issue that began lately (an outage
    spreading street by street); a post naming no place joins only an issue with a recent post.
    """
    if post.kecamatan and c.kecamatan and post.kecamatan != c.kecamatan:
        return False
    if _other_desa(post, c):
        return post.at - c.first_seen <= rules.other_desa_window
    if not post.kecamatan and c.issue_id not in post.named:
        return post.at - c.last_seen <= rules.unplaced_recent
    return True


def incident_match(post: PostView, c: CandidateView, rules: Rules) -> int:
    """How many event anchors a post shares with a live incident at its place (0: not this incident)."""
    if c.status != "open" or not is_incident(c.anchors) or post.at - c.last_seen > rules.incident_window:
        return 0
    if not _same_place(post, c):
        return 0
    objects = _objects(post.anchors) & _objects(c.anchors)
    if not objects:
        return 0
    happenings = _happenings(post.anchors)
    shared = happenings & _happenings(c.anchors)
    if happenings and not shared:
        return 0  # the same bridge, another event ("jembatan ... terbakar" is not the collapse)
    if not shared and not _same_desa(post, c):
        return 0  # only the object in common: the desa must say it is the same one
    return len(objects) + len(shared)


def _ordinary_score(post: PostView, c: CandidateView, rules: Rules) -> float:
    sim = c.similarity
    if c.desa and c.desa in post.desas:
        sim += rules.desa_bonus
    # A response answers whatever topic it answers, and an incident spans topics in its desa.
    if c.topic != post.topic and not post.response and not _facet_of(post, c, rules):
        sim -= rules.cross_topic_penalty
    if c.near:
        sim = max(sim, 0.95)
    return sim


def _threshold(post: PostView, c: CandidateView, rules: Rules) -> float:
    # Same named place is strong evidence; an unplaced post needs more shared words.
    if post.kecamatan and c.kecamatan == post.kecamatan:
        return rules.min_similarity
    return rules.min_similarity + 0.2


def _ordinary_best(
    post: PostView, candidates: Sequence[CandidateView], rules: Rules, extra: float = 0.0
) -> tuple[CandidateView | None, float]:
    best: CandidateView | None = None
    best_sim = 0.0
    for c in candidates:
        if not place_ok(post, c, rules):
            continue
        sim = _ordinary_score(post, c, rules)
        if sim > best_sim and (sim >= _threshold(post, c, rules) + extra or c.near):
            best, best_sim = c, sim
    return best, best_sim


def _live_incident(post: PostView, c: CandidateView, rules: Rules) -> bool:
    return c.status == "open" and is_incident(c.anchors) and post.at - c.last_seen <= rules.incident_window


def _facet_of(post: PostView, c: CandidateView, rules: Rules) -> bool:
    """The post is in the desa of a live incident and tells of no other event there (no other happening,
    nor something else that happened: "jalan amblas" beside a bridge collapse is its own event)."""
    if not (_live_incident(post, c, rules) and _same_desa(post, c)):
        return False
    if not _happenings(post.anchors) <= _happenings(c.anchors):
        return False
    return not (is_incident(post.anchors) and not _objects(post.anchors) & _objects(c.anchors))


def incident_pull(post: PostView, c: CandidateView, rules: Rules) -> bool:
    """Whether a post that matched nothing else belongs to a live incident in its desa by place alone.

    Many posts about an event's consequences name neither the event nor its words ("Murid SMP
    Bangsal diliburkan", "bidan tidak bisa menjangkau ibu hamil di seberang"); in the desa of a live
    incident of some size they are its facets. Not another cause (a power cut or a water outage
    there is its own problem) and not another event (its own happening words).
    """
    if c.size < INCIDENT_PULL_MIN_POSTS or not _facet_of(post, c, rules) or not _same_place(post, c):
        return False
    return post.topic == c.topic or CAUSE_WEIGHT.get(post.topic, 1.0) < CAUSE_WEIGHT["infrastruktur"]


def decide(post: PostView, candidates: Sequence[CandidateView], rules: Rules) -> Decision:
    """Where a post goes: the issue it spreads, the incident or problem it belongs to, a reopened one, or a new one.

    Order: spread of a grouped post; a live incident at its place sharing its event words; the
    closest open issue on topic, place and words; a resolved issue that is back; a live incident
    in its desa by place alone; else a new issue, except for a government response, which is not
    a complaint of its own and joins nothing then.
    """
    if post.spread_issue is not None:
        return Decision("join", post.spread_issue, "spread", 1.0, spread=True, response=post.response)
    # One issue is one region's: a same-named village or the same story in another regency is not it.
    candidates = [c for c in candidates if c.region_code == post.region_code]
    open_ = [c for c in candidates if c.status == "open" and post.at - c.last_seen <= rules.match_window]
    incidents = [(incident_match(post, c, rules), c) for c in open_]
    incidents = [(n, c) for n, c in incidents if n]
    if incidents:
        _, c = max(incidents, key=lambda nc: (nc[0], nc[1].similarity, nc[1].last_seen, -nc[1].issue_id))
        reason: Reason = "response" if post.response else "same_incident"
        return Decision("join", c.issue_id, reason, c.similarity, response=post.response)
    best, sim = _ordinary_best(post, open_, rules)
    if best is not None:
        if post.response:
            return Decision("join", best.issue_id, "response", sim, response=True)
        facet = best.topic != post.topic and _facet_of(post, best, rules)
        return Decision("join", best.issue_id, "same_incident" if facet else "same_problem", sim, spread=best.near)
    if not post.response:
        resolved = [
            c for c in candidates if c.status == "resolved" and post.at - c.last_seen <= rules.regression_window
        ]
        back, back_sim = _ordinary_best(post, resolved, rules, extra=0.1)
        if back is not None:
            return Decision("reopen", back.issue_id, "regression", back_sim)
    pulled = [c for c in open_ if incident_pull(post, c, rules)]
    if pulled:
        c = max(pulled, key=lambda c: (c.size, c.last_seen, -c.issue_id))
        reason = "response" if post.response else "incident_place"
        return Decision("join", c.issue_id, reason, c.similarity, response=post.response)
    if post.response:
        return Decision("skip", None, "response_without_issue", 0.0, response=True)
    return Decision("new", None, "new_problem", 1.0)


# --- primary and secondary topics, place by majority ---------------------------------------------

CAUSE_WEIGHT: dict[str, float] = {
    # What can be the cause of an event: fixing it fixes the rest.
    "infrastruktur": 2.0,
    "air_bersih": 2.0,
    "listrik": 2.0,
    "bencana": 2.0,
    "lingkungan": 1.0,
    "transportasi": 1.0,
    "pertanian": 1.0,
    "ketertiban": 1.0,
    "pungli_korupsi": 1.0,
    "adminduk": 1.0,
    "bansos": 1.0,
    "harga_kebutuhan": 1.0,
    "ketenagakerjaan": 1.0,
    "pelayanan_publik": 1.0,
    # Usually a consequence of an event elsewhere in the issue: children cannot reach school,
    # a patient cannot reach the puskesmas.
    "pendidikan": 0.5,
    "kesehatan": 0.5,
}
SWITCH_MARGIN = 1.25
"""Another topic becomes primary only when its cause-weighted score beats the current one's by this factor."""
SECONDARY_MIN_WEIGHT = 2.0
SECONDARY_MIN_SHARE = 0.1
"""A topic is a secondary facet with at least this weight and share of the issue's posts (one stray label is not)."""


def primary_topic(weights: Mapping[str, float], current: str) -> str:
    """The topic whose agency can fix the cause: most weight, causes counting more than consequences.

    ``weights`` is the issue's posts' topics (originals 1, copies 0.5). The current primary topic
    stays until another beats it by ``SWITCH_MARGIN``, so the agency does not flip on one post.
    """
    if not weights:
        return current

    def score(topic: str) -> float:
        return weights.get(topic, 0.0) * CAUSE_WEIGHT.get(topic, 1.0)

    best = max(sorted(weights), key=score)
    if best != current and score(best) > score(current) * SWITCH_MARGIN:
        return best
    return current


def secondary_topics(weights: Mapping[str, float], primary: str, routing: Mapping[str, str]) -> list[tuple[str, str]]:
    """(topic, agency) of the facets other than the primary whose agency differs, heaviest first."""
    total = sum(weights.values())
    primary_agency = routing.get(primary)
    best: dict[str, tuple[float, str]] = {}
    for topic, weight in weights.items():
        agency = routing.get(topic)
        if topic == primary or not agency or agency == primary_agency:
            continue
        if weight < SECONDARY_MIN_WEIGHT or weight < SECONDARY_MIN_SHARE * total:
            continue
        if agency not in best or weight > best[agency][0]:
            best[agency] = (weight, topic)
    ranked = sorted(best.items(), key=lambda item: (-item[1][0], item[0]))
    return [(topic, agency) for agency, (_, topic) in ranked]


def majority_place(
    kecamatan_votes: Mapping[str, float],
    desa_votes: Mapping[str, float],
    current: tuple[str | None, str | None],
) -> tuple[str | None, str | None]:
    """The issue's (kecamatan, desa) by its posts' weight; ``desa_votes`` keys are "kecamatan|desa".

    Ties keep the current place. The desa is named only when it has at least half the weight of the
    kecamatan's posts that name a desa (posts spread over many desa: the kecamatan alone).
    """
    kec, desa = current
    if kecamatan_votes:
        top = max(kecamatan_votes.values())
        if kecamatan_votes.get(kec or "", -1.0) < top:
            kec = min(k for k, v in kecamatan_votes.items() if v == top)
    if kec is None:
        return None, desa
    in_kec = {key.split("|", 1)[1]: v for key, v in desa_votes.items() if key.split("|", 1)[0] == kec}
    if not in_kec:
        return kec, None
    total = sum(in_kec.values())
    top = max(in_kec.values())
    chosen = desa if in_kec.get(desa or "", -1.0) == top else min(d for d, v in in_kec.items() if v == top)
    return kec, chosen if top * 2 >= total else None
