"""The fast prediction path gives the same answers as the plain definitions it replaces.

- `NgramFeatures.fit` keeps the terms in at least ``min_df`` texts, counted once per text, with
  scikit-learn's ``char_wb`` n-grams and smoothed IDF;
- `ProjectedFeatures.decision` == ``NgramFeatures.transform(texts) @ weights``;
- the gazetteer's word walk finds what the trie regex (`Gazetteer.pattern`) finds, and the
  glued-kecamatan check finds what `typo_pattern` finds;
- the rewritten number regex matches exactly what the plain money/number alternation matches;
- `normalise_split` is ``(normalise(t), normalise(t).split())``; undoing letter runs word by word equals the
  run regex on the whole text.
"""

from __future__ import annotations

import json
import re

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from classifiers import normalise as norm_module
from classifiers import urgency as urgency_module
from classifiers.features import NgramFeatures, ProjectedFeatures
from classifiers.gazetteer import _AT, _LOCAL_WORDS, Entry, Evidence, find_places, get_gazetteer, is_cued
from classifiers.model import CORPUS_PATH, _evidence_array
from classifiers.normalise import normalise, normalise_split
from classifiers.urgency import urgency_cues

TEXTS = [
    "jalan rusak parah di desa sri tanjung kecamatan cengal",
    "air pdam mati tiga hari di kayuagung tolong",
    "listrik padam terus",
    "",
    "kata yang belum pernah dilihat zzqx qwerty",
    "oki",
    "jalan jalan jalan",
]


def _corpus_texts(step: int = 7) -> list[str]:
    lines = CORPUS_PATH.read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["text"] for line in lines[::step]]


def _fitted() -> NgramFeatures:
    train = [normalise(t) for t in _corpus_texts(5)]
    return NgramFeatures(lexicon={"pdam": "air_bersih", "listrik": "listrik"}).fit(train)


def test_fit_vocabulary_and_idf_equal_document_frequency_of_each_text_s_terms() -> None:
    from sklearn.feature_extraction.text import CountVectorizer

    texts = [normalise(t) for t in _corpus_texts(41)] + ["jalan jalan jalan", "pdam pdamnya pdam", "listrik"]
    lexicon = {"pdam": "air_bersih", "listrik": "listrik"}
    features = NgramFeatures(lexicon=lexicon).fit(texts)
    chars = CountVectorizer(analyzer="char_wb", ngram_range=(2, 5), lowercase=False, binary=True)
    words = CountVectorizer(ngram_range=(1, 2), token_pattern=r"\S+", lowercase=False, binary=True)
    df: dict[str, int] = {}
    for prefix, vectoriser in (("c:", chars), ("", words)):
        counts = np.asarray(vectoriser.fit_transform(texts).sum(axis=0)).ravel()
        for term, column in vectoriser.vocabulary_.items():
            key = prefix + term if prefix else ("b:" if " " in term else "w:") + term
            df[key] = int(counts[column])
    for tag in set(lexicon.values()):  # a text with a lexicon word (or its clitic form) counts once
        df[f"t:{tag}"] = sum(1 for t in texts if any(features.lexicon_tag(w) == tag for w in t.split()))
    expected = {term: n for term, n in df.items() if n >= features.min_df}
    assert set(features.vocab) == set(expected)
    n = len(texts)
    for term, column in features.vocab.items():
        assert features.idf[column] == np.log((1 + n) / (1 + expected[term])) + 1.0, term


def test_projection_equals_sparse_product_for_known_unknown_and_empty_texts() -> None:
    features = _fitted()
    rng = np.random.default_rng(0)
    weights = rng.normal(size=(features.n_features, 5))
    projected = ProjectedFeatures(features, weights)
    texts = TEXTS + [normalise(t) for t in _corpus_texts(11)[:300]]
    expected = np.asarray(features.transform(texts) @ weights)
    got = projected.decision([t.split() for t in texts])
    assert got.shape == expected.shape
    assert np.allclose(got, expected, rtol=1e-9, atol=1e-12)
    assert not got[TEXTS.index("")].any()


def test_projection_stays_bounded_and_correct_after_its_word_table_resets() -> None:
    features = _fitted()
    weights = np.random.default_rng(1).normal(size=(features.n_features, 3))
    projected = ProjectedFeatures(features, weights, max_words=50)
    texts = [normalise(t) for t in _corpus_texts(13)[:200]]
    for start in range(0, len(texts), 40):  # each batch brings new words and forces resets
        batch = texts[start : start + 40]
        got = projected.decision([t.split() for t in batch])
        assert np.allclose(got, np.asarray(features.transform(batch) @ weights))
        # Bounded by the batch's words plus the words of vocabulary bigrams, which always keep a row.
        bound = max(50, len({w for t in batch for w in t.split()})) + len(projected._bigram_words)
        assert len(projected._word_row) <= bound


def test_bigrams_never_straddle_two_posts_of_a_batch() -> None:
    features = _fitted()
    weights = np.random.default_rng(2).normal(size=(features.n_features, 4))
    projected = ProjectedFeatures(features, weights)
    pair = next(iter(features.bigram_columns()))  # a bigram of the vocabulary, split over two posts
    batch = ["", pair[0], pair[1], "", f"{pair[0]} {pair[1]}", pair[1], pair[0], ""]
    got = projected.decision([t.split() for t in batch])
    assert np.allclose(got, np.asarray(features.transform(batch) @ weights), rtol=1e-9, atol=1e-12)
    one_by_one = np.vstack([projected.decision([t.split()]) for t in batch])
    assert np.allclose(got, one_by_one, rtol=1e-12, atol=1e-14)


def _regex_reference(text: str) -> list[tuple[str, int, int, Entry]]:
    """Exact matches the way `find` made them before the word walk: the trie regex over the text."""
    gaz = get_gazetteer()
    out = []
    for m in gaz.pattern.finditer(text):
        before = text[: m.start()].split()
        cued = is_cued([*before, m.group()], len(before))
        for entry in gaz.index[tuple(m.group().split())]:
            if entry.needs_cue and not cued:
                if not before or before[-1] not in _AT or m.group() not in _LOCAL_WORDS:
                    continue
                entry = gaz.weak_twin(entry)
            out.append((m.group(), m.start(), m.end(), entry))
    return out


def _walk(text: str) -> list[tuple[str, int, int, Entry]]:
    return [(m.phrase, m.start, m.end, m.entry) for m in get_gazetteer().find(text) if not m.fuzzy]


def test_word_walk_finds_the_names_the_trie_regex_finds() -> None:
    texts = [normalise(t) for t in _corpus_texts(3)] + [
        "kabupaten ogan komering ilir",
        "ogan komering",
        "pedamaran timur pedamaran",
        "tanjung lubuk tanjung",
        "desa sukamaju sukamaju",
        "oki pulp oki mill",
    ]
    assert len(texts) > 1000
    for text in texts:
        assert _walk(text) == _regex_reference(text), text


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from([*sorted(get_gazetteer().name_words), "desa", "di", "x", "kecamatan", "rusak"]), max_size=8
    )
)
def test_word_walk_equals_regex_on_random_name_word_sequences(words: list[str]) -> None:
    text = " ".join(words)
    assert _walk(text) == _regex_reference(text)


def test_glued_kecamatan_check_matches_the_typo_regex() -> None:
    gaz = get_gazetteer()
    assert gaz.typo_pattern is not None
    for text in ("banjir di kayuuagung", "jalan pedamran rusak", "kayuagung2 telukgelamm", "x pedamarantimurr y"):
        norm = normalise(text)
        fuzzy = {(m.start, m.end) for m in gaz.find(norm) if m.fuzzy}
        regex = {(m.start(), m.end()) for m in gaz.typo_pattern.finditer(norm) if m.group() not in gaz.name_words}
        assert fuzzy <= regex
    assert find_kec("banjir di kayuuagung") == "Kayu Agung"


def find_kec(text: str) -> str | None:
    return get_gazetteer().evidence(normalise(text)).kecamatan


_REFERENCE_NUMBER = re.compile(f"(?P<money>{norm_module._MONEY_BODY})|(?P<num>\\d[\\d.,]*)")


def _reference_number(match: re.Match[str]) -> str:
    if match.group("money") is not None:
        return " nominaluang "
    return " " + norm_module._THOUSANDS.sub("", match.group("num")) + " "


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet="rp0123456789٣., \tkjtmbiuaenly_", max_size=30))
def test_number_regex_equals_the_plain_alternation(text: str) -> None:
    assert norm_module._NUMBER.sub(norm_module._number, text) == _REFERENCE_NUMBER.sub(_reference_number, text)


def test_number_regex_on_money_examples() -> None:
    for text in ("rp 50.000,", "rp50rb", "50 ribu", "2jt", "1,5 juta", "100k", "x50 ribu", "_rp5", "bayar 3kg 10.000"):
        assert norm_module._NUMBER.sub(norm_module._number, text) == _REFERENCE_NUMBER.sub(_reference_number, text)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="aaiiillkp2 .,", max_size=25))
def test_word_by_word_run_collapse_equals_the_run_regex_on_the_text(text: str) -> None:
    expected = norm_module._TOKEN.findall(norm_module._LONG_RUN.sub(norm_module._collapse, text))
    assert norm_module._collapse_runs(norm_module._TOKEN.findall(text)) == expected
    assert norm_module._collapse_runs(norm_module._TOKEN.findall(text)) == expected  # again, from the memo


def test_elongated_phrase_words_still_join() -> None:
    assert normalise("cakkk manooo jalan ini") == normalise("cak mano jalan ini")
    assert normalise("Pedamaran III") == "pedamaran iii"


def test_normalise_split_is_normalise_and_its_words() -> None:
    for text in [*TEXTS, "kades dimano thx gan", "cak mano ini", "🙏🙏", "Rp 50.000 anak2 parahhh", *_corpus_texts(29)]:
        joined, words = normalise_split(text)
        assert joined == normalise(text)
        assert words == joined.split()


def test_evidence_columns_are_clipped_counts_and_the_positive_flag() -> None:
    texts = ["banjir di kayuagung", "ktt oki kecam israel", "jalan rusak #oki oki oki", "", "desa sri tanjung cengal"]
    evidence = [find_places(t) for t in texts] + [Evidence(strong=5, confuser=3, neighbour=1)]
    rows = _evidence_array(evidence)
    for ev, row in zip(evidence, rows, strict=True):
        counts = (ev.strong, ev.place, ev.weak, ev.confuser, ev.neighbour, ev.bare_oki)
        assert list(row) == [min(c, 2) * 0.5 for c in counts] + [0.5 if ev.positive else 0.0]


def test_urgency_scan_at_cue_words_equals_the_regex_scan() -> None:
    texts = [normalise(t) for t in _corpus_texts(2)] + [
        "mati tenggelam di sungai",
        "banjir bandang banjir terendam",
        "anak anak kecil jatuh",
        "tolong segera evakuasi korban jiwa",
    ]
    for text in texts:
        assert urgency_module._scan(text, text.split()) == {m.lastgroup for m in urgency_module._PATTERN.finditer(text)}


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from([*sorted(urgency_module._FIRST_WORDS), "dunia", "api", "segera", "x", "anak"]), max_size=8)
)
def test_urgency_scan_equals_regex_on_random_cue_word_sequences(words: list[str]) -> None:
    text = " ".join(words)
    assert urgency_module._scan(text, words) == {m.lastgroup for m in urgency_module._PATTERN.finditer(text)}
    assert urgency_cues(text, words) == urgency_cues(text)


def test_a_death_named_without_other_cue_words_is_urgent() -> None:
    # "meninggal" was missing from the quick pre-check (its regex was "meninggal(?: dunia)?").
    assert urgency_cues("bapak itu meninggal") == ("korban_jiwa",)
    assert urgency_cues("nenek meninggal dunia di jalan") == ("korban_jiwa",)


def test_fast_labels_equal_the_dataclass_constructor() -> None:
    from dataclasses import fields

    from classifiers.labels import Labels
    from classifiers.model import _labels

    values = (True, 0.9, True, 0.8, "adminduk", 0.7, "Cengal", None, False, ("banjir",), 0.7, False, "v1",
              ("adminduk", "pungli_korupsi"))
    assert len(values) == len(fields(Labels))
    fast, plain = _labels(*values), Labels(*values)
    assert fast == plain and hash(fast) == hash(plain) and type(fast) is Labels
    assert repr(fast) == repr(plain)
