"""Relevance rules: how gazetteer evidence overrides or defers to the model's probability."""

from __future__ import annotations

import pytest

from classifiers.gazetteer import Evidence, find_places
from classifiers.model import relevance_rule


def test_no_evidence_is_never_relevant() -> None:
    assert relevance_rule(0.99, Evidence()) < 0.5


def test_confuser_without_oki_name_is_not_relevant_even_if_model_says_so() -> None:
    assert relevance_rule(0.95, find_places("Ceramah Ustazah Oki Setiana Dewi bikin adem")) < 0.5
    assert relevance_rule(0.95, find_places("Jalan rusak di Baturaja OKU")) < 0.5


def test_strong_signal_is_relevant_even_if_model_doubts() -> None:
    assert relevance_rule(0.2, find_places("Selamat pagi Kayuagung, cuaca cerah")) >= 0.9


def test_unique_place_is_relevant_unless_model_is_very_sure_it_is_not() -> None:
    ev = find_places("jalan rusak di Cengal")
    assert ev.place == 1
    assert relevance_rule(0.4, ev) >= 0.7
    assert relevance_rule(0.05, ev) < 0.5


@pytest.mark.parametrize("p", [0.2, 0.8])
def test_weak_evidence_defers_to_the_model(p: float) -> None:
    assert relevance_rule(p, find_places("banjir di Mesuji")) == pytest.approx(p)


def test_oki_place_beats_a_neighbour_mention() -> None:
    ev = find_places("truk dari Baturaja rusak jalan di desa Sri Tanjung Cengal")
    assert relevance_rule(0.6, ev) >= 0.5
