"""Urgency cues and crisis words ignore what the text says did not happen."""

from __future__ import annotations

import pytest

from alerts.engine import crisis_reason
from classifiers.normalise import normalise
from classifiers.urgency import find_terms, urgency_cues
from monitor.kernel.config import AppConfig
from monitor.store.models import Issue


@pytest.mark.parametrize(
    "text",
    [
        "Untung dak ado korban jiwa",
        "Alhamdulillah idak ado korban jiwa dalam kejadian itu",
        "nggak ada korban jiwa kok",
        "Jembatan putus tanpa korban jiwa",
        "belum ada laporan korban jiwa",
        "tidak ada yang meninggal",
        "korban jiwa nihil",
    ],
)
def test_denied_deaths_are_no_cue(text: str) -> None:
    norm = normalise(text)
    assert "korban_jiwa" not in urgency_cues(norm)
    assert "korban_jiwa" not in urgency_cues(norm, norm.split())


@pytest.mark.parametrize(
    "text",
    [
        "dua warga tewas tertimpa jembatan",
        "tidak ada bantuan, warga tewas",  # a denial of something else
        "Untung dak ado korban jiwa di jembatan, tapi di hilir satu anak meninggal",
    ],
)
def test_deaths_still_count_when_not_denied(text: str) -> None:
    norm = normalise(text)
    assert "korban_jiwa" in urgency_cues(norm) and urgency_cues(norm) == urgency_cues(norm, norm.split())


def test_crisis_terms_read_phrases_from_text_and_single_words_from_the_bag() -> None:
    words = ["korban jiwa", "ambruk", "tewas"]
    # "korban" and "jiwa" side by side in a bag of words are no phrase.
    assert find_terms("Jembatan Bangsal", words, {"korban": 2, "jiwa": 2, "ambruk": 3}) == ["ambruk"]
    assert find_terms("Untung dak ado korban jiwa, jembatan ambruk", words) == ["ambruk"]
    assert find_terms("korban jiwa dua orang", words) == ["korban jiwa"]


def test_an_issue_whose_posts_deny_deaths_is_no_crisis(config: AppConfig) -> None:
    issue = Issue(
        title="Jembatan gantung Bangsal putus, untung dak ado korban jiwa",
        terms={"w": {"jembatan": 3.0, "korban": 2.0, "jiwa": 2.0, "untung": 1.0}},
        urgent=False,
    )
    assert crisis_reason(issue, config) is None
    issue.title = "Jembatan gantung Bangsal ambruk"
    assert crisis_reason(issue, config) == "ambruk"
