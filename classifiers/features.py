"""Word and character n-gram TF-IDF features, built for throughput.

scikit-learn's char n-gram analyzer re-splits every word of every post into n-grams, which
caps a pipeline at roughly 10k short posts per second. Social-media vocabulary repeats a lot,
so this featuriser computes each *word's* character n-grams once, caches the resulting column
ids, and assembles the sparse matrix for a whole batch with numpy. The features equal
``char_wb`` n-grams (2..5, word padded with spaces) plus word unigrams and bigrams, with
raw TF, smoothed IDF and rows scaled to unit length.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from itertools import chain, pairwise
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # only `transform` (training) builds sparse matrices; prediction needs numpy alone
    import scipy.sparse as sp

_EMPTY = np.zeros(0, dtype=np.int32)
_KEY_BASE = 1 << 31
"""Row ids are far below this (the word table is bounded), so a pair of them packs into one int64."""

_CLITICS = ("nya", "lah", "kah", "pun", "ny")
"""Suffixes a lexicon word may carry in posts (jalannya, gajinya, sekolahpun, airny)."""

LEXICON_WEIGHT = 3
"""Term count of a lexicon word's shared topic feature. 1 left it drowned among ~60 n-grams per
word; 3 gave the best held-out topic macro-F1 (0.86 -> 0.93; 6 was no better)."""


class NgramFeatures:
    """Fit on normalised texts; `transform` returns a CSR matrix (rows L2-normalised)."""

    def __init__(
        self,
        char_range: tuple[int, int] = (2, 5),
        min_df: int = 2,
        max_cache: int = 300_000,
        lexicon: dict[str, str] | None = None,
    ) -> None:
        self.char_range = char_range
        self.lexicon = dict(lexicon or {})
        """word -> class name: each such word also fires a shared feature "t:<class>"."""
        self.min_df = min_df
        self.max_cache = max_cache
        self.vocab: dict[str, int] = {}
        self.idf: np.ndarray = np.zeros(0)
        self._word_cache: dict[str, np.ndarray] = {}
        self._tag_memo: dict[str, str | None] = {}
        self._bigrams: dict[tuple[str, str], int] = {}
        self._n_single = 0

    def __getstate__(self) -> dict[str, object]:
        state = dict(self.__dict__)
        state["_word_cache"] = {}  # rebuilt lazily; keeps the model file small
        state["_tag_memo"] = {}
        return state

    def _char_grams(self, word: str) -> list[str]:
        padded = f" {word} "
        # The shared lexicon feature rides along with the word's n-grams, so it is cached
        # per word and costs nothing per post.
        tag = self.lexicon_tag(word)
        lo, hi = self.char_range
        out: list[str] = []
        for n in range(lo, hi + 1):
            out.extend(f"c:{padded[i : i + n]}" for i in range(len(padded) - n + 1))
        if tag is not None:
            out.extend([f"t:{tag}"] * LEXICON_WEIGHT)
        return out

    def lexicon_tag(self, word: str) -> str | None:
        """The lexicon class of `word`, or of its stem when it carries a clitic (jalannya -> jalan)."""
        # Memoised per word (bounded like the n-gram cache): prediction asks it for every word of
        # every complaint when it looks for a second topic.
        memo = self._tag_memo
        if word in memo:
            return memo[word]
        tag = self.lexicon.get(word)
        if tag is None:
            for suffix in _CLITICS:
                if word.endswith(suffix) and len(word) - len(suffix) >= 3:
                    tag = self.lexicon.get(word[: -len(suffix)])
                    if tag is not None:
                        break
        if len(memo) < self.max_cache:
            memo[word] = tag
        return tag

    def fit(self, texts: Sequence[str]) -> NgramFeatures:
        """Learn the vocabulary (terms in at least `min_df` texts) and IDF weights."""
        # A text's terms are its words, its bigrams and its words' character n-grams (with the lexicon
        # tag). The n-grams are computed once per distinct word, not once per occurrence: the same
        # counts, a fraction of the cost (training texts repeat their words a lot).
        df: Counter[str] = Counter()
        grams: dict[str, frozenset[str]] = {}
        for text in texts:
            words = text.split()
            terms = {f"w:{w}" for w in words}
            terms.update(f"b:{a} {b}" for a, b in pairwise(words))
            for w in set(words):
                word_grams = grams.get(w)
                if word_grams is None:
                    word_grams = grams[w] = frozenset(self._char_grams(w))
                terms |= word_grams
            df.update(terms)
        # Bigrams last: transform() writes the two blocks separately (see there).
        kept = sorted((t for t, c in df.items() if c >= self.min_df), key=lambda t: (t.startswith("b:"), t))
        n = len(texts)
        counts = np.array([df[t] for t in kept], dtype=np.float64)
        self._set_vocabulary(kept, np.log((1 + n) / (1 + counts)) + 1.0)
        return self

    def _set_vocabulary(self, terms: list[str], idf: np.ndarray) -> None:
        self.vocab = {t: i for i, t in enumerate(terms)}
        self.idf = idf
        self._n_single = sum(1 for t in terms if not t.startswith("b:"))
        self._word_cache = {}
        self._bigrams = {
            (t[2:].split(" ", 1)[0], t[2:].split(" ", 1)[1]): i - self._n_single
            for t, i in self.vocab.items()
            if t.startswith("b:")
        }

    def state(self) -> tuple[dict[str, object], dict[str, np.ndarray]]:
        """(JSON-able settings and vocabulary, arrays): everything `from_state` needs, no pickle."""
        # Terms never contain a newline (they are built from normalised words), so one string holds them all.
        info: dict[str, object] = {
            "char_range": list(self.char_range),
            "min_df": self.min_df,
            "lexicon": self.lexicon,
            "terms": "\n".join(sorted(self.vocab, key=self.vocab.__getitem__)),
        }
        return info, {"idf": self.idf}

    @classmethod
    def from_state(cls, info: dict[str, Any], arrays: dict[str, np.ndarray]) -> NgramFeatures:
        """Rebuild fitted features from :meth:`state`."""
        lo, hi = info["char_range"]
        features = cls(char_range=(int(lo), int(hi)), min_df=int(info["min_df"]), lexicon=dict(info["lexicon"]))
        terms = str(info["terms"]).split("\n") if info["terms"] else []
        features._set_vocabulary(terms, np.asarray(arrays["idf"], dtype=np.float64))
        return features

    @property
    def n_features(self) -> int:
        """Number of columns `transform` produces."""
        return len(self.vocab)

    def warm(self) -> None:
        """Fill the per-word cache with every word seen in training (about 0.1 s, once per process)."""
        for term in self.vocab:
            if term.startswith("w:"):
                self._word_ids(term[2:])

    def _word_ids(self, word: str) -> np.ndarray:
        ids = self._word_cache.get(word)
        if ids is None:
            ids = self.columns(word)
            if len(self._word_cache) < self.max_cache:
                self._word_cache[word] = ids
        return ids

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        """TF-IDF rows for normalised texts (unknown terms are ignored).

        Columns of words and character n-grams come first, word bigrams after, so each block
        can be written straight into CSR arrays in row order. A column hit twice in a post
        (the same n-gram in two words) stays as two entries, which every sparse product sums
        (raw TF x IDF); skipping the per-row merge is what keeps this fast. Row length is
        taken over those entries; training and prediction share the definition.
        """
        import scipy.sparse as sp

        if not self._word_cache:
            self.warm()
        cache = self._word_cache
        word_ids = self._word_ids
        bigram_get = self._bigrams.get
        n = len(texts)
        chunks: list[np.ndarray] = []
        chunk_rows: list[int] = []
        bi_cols: list[int] = []
        bi_len = np.zeros(n, dtype=np.int64)
        for r, text in enumerate(texts):
            words = text.split()
            try:
                arrs = [cache[w] for w in words]
            except KeyError:  # a word not seen yet: compute and cache it
                arrs = [word_ids(w) for w in words]
            chunks.extend(arrs)
            chunk_rows.extend([r] * len(arrs))
            if len(words) > 1:
                cols = [c for c in map(bigram_get, pairwise(words)) if c is not None]
                if cols:
                    bi_cols.extend(cols)
                    bi_len[r] = len(cols)
        sizes = np.fromiter((a.size for a in chunks), dtype=np.int64, count=len(chunks))
        word_len = np.bincount(np.asarray(chunk_rows, dtype=np.int64), weights=sizes, minlength=n).astype(np.int64)
        word_cols = np.concatenate(chunks) if chunks else _EMPTY
        bigram_cols = np.asarray(bi_cols, dtype=np.int32)
        w_vals = self.idf[word_cols]
        b_vals = self.idf[bigram_cols + self._n_single]
        w_rows = np.repeat(np.arange(n), word_len)
        b_rows = np.repeat(np.arange(n), bi_len)
        sq = np.bincount(w_rows, weights=w_vals * w_vals, minlength=n) + np.bincount(
            b_rows, weights=b_vals * b_vals, minlength=n
        )
        norms = np.sqrt(sq)
        norms[norms == 0] = 1.0
        w_ptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(word_len, out=w_ptr[1:])
        b_ptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(bi_len, out=b_ptr[1:])
        single = sp.csr_matrix((w_vals / norms[w_rows], word_cols, w_ptr), shape=(n, self._n_single))
        pairs = sp.csr_matrix((b_vals / norms[b_rows], bigram_cols, b_ptr), shape=(n, len(self.vocab) - self._n_single))
        return sp.hstack([single, pairs], format="csr")

    def columns(self, word: str) -> np.ndarray:
        """Column ids one occurrence of `word` adds (its character n-grams, topic tag and unigram); not cached."""
        ids = self._word_cache.get(word)
        if ids is not None:
            return ids
        get = self.vocab.get
        cols = [c for c in map(get, self._char_grams(word)) if c is not None]
        unigram = get(f"w:{word}")
        if unigram is not None:
            cols.append(unigram)
        return np.array(cols, dtype=np.int32) if cols else _EMPTY

    def bigram_columns(self) -> dict[tuple[str, str], int]:
        """Word pair -> column id of every bigram in the vocabulary."""
        return {pair: i + self._n_single for pair, i in self._bigrams.items()}


class ProjectedFeatures:
    """`NgramFeatures` folded into the weight matrix of linear models, for prediction only.

    The models only ever need ``transform(texts) @ weights``. Every entry of a TF-IDF row comes
    from one word or one bigram of the post, so that product is, per post,
    ``sum(word and bigram vectors) / sqrt(sum(word and bigram squared lengths))``, where a word's
    vector is the IDF-weighted sum of the weight rows of its columns. Those (k + 1) numbers are
    computed once per distinct word, which replaces ~60 sparse entries per word with one row
    lookup; the result equals the sparse product up to float rounding (a test checks it).
    Only the vocabulary of the fitted features is kept; nothing here imports scikit-learn.
    """

    def __init__(self, features: NgramFeatures, weights: np.ndarray, max_words: int = 100_000) -> None:
        if weights.shape[0] != features.n_features:
            raise ValueError(f"weights have {weights.shape[0]} rows, features {features.n_features} columns")
        self.features = features
        self.weights = np.ascontiguousarray(weights, dtype=np.float64)
        self.k = self.weights.shape[1]
        self.max_words = max_words
        # Bigrams are few (~10k) and fixed: one table row each, built now.
        pairs = features.bigram_columns()
        self._bigram_row = {pair: r for r, pair in enumerate(pairs)}
        cols = np.fromiter(pairs.values(), dtype=np.int64, count=len(pairs))
        # One extra zero row at the end: pairs outside the vocabulary point there (index -1).
        self._bigram_table = np.vstack([self._rows(cols, np.arange(len(cols) + 1)), np.zeros((1, self.k + 1))])
        # Every word of a vocabulary bigram always has a word row, so a bigram is a pair of row ids.
        self._bigram_words = sorted({w for pair in pairs for w in pair})
        self._bigram_keys = np.zeros(0, dtype=np.int64)
        self._bigram_key_rows = np.zeros(0, dtype=np.int64)
        self._word_row: dict[str, int] = {}
        self._word_table = np.zeros((1024, self.k + 1))

    def _rows(self, cols: np.ndarray, ptr: np.ndarray) -> np.ndarray:
        """Table rows [sum of idf * weight row, sum of idf^2] for consecutive column groups."""
        idf = self.features.idf[cols]
        out = np.zeros((len(ptr) - 1, self.k + 1))
        if cols.size:
            entries = np.empty((cols.size, self.k + 1))
            entries[:, : self.k] = self.weights[cols] * idf[:, None]
            entries[:, self.k] = idf * idf
            counts = np.diff(ptr)
            nonempty = counts > 0
            out[nonempty] = np.add.reduceat(entries, ptr[:-1][nonempty], axis=0)
        return out

    def _add_words(self, words: list[str]) -> None:
        start = len(self._word_row)
        groups = [self.features.columns(w) for w in words]
        sizes = np.fromiter((g.size for g in groups), dtype=np.int64, count=len(groups))
        ptr = np.zeros(len(groups) + 1, dtype=np.int64)
        np.cumsum(sizes, out=ptr[1:])
        cols = np.concatenate(groups).astype(np.int64) if groups else np.zeros(0, dtype=np.int64)
        rows = self._rows(cols, ptr)
        need = start + len(words)
        if need > self._word_table.shape[0]:
            grown = np.zeros((max(need, 2 * self._word_table.shape[0]), self.k + 1))
            grown[:start] = self._word_table[:start]
            self._word_table = grown
        self._word_table[start:need] = rows
        for i, w in enumerate(words):
            self._word_row[w] = start + i

    def warm(self) -> None:
        """Compute the rows of every word seen in training (once per process)."""
        self._add_words([t[2:] for t in self.features.vocab if t.startswith("w:") and t[2:] not in self._word_row])
        self._index_bigrams()

    def _index_bigrams(self) -> None:
        # A bigram's key is (row of first word) * _KEY_BASE + (row of second word): a batch's pairs
        # are then looked up with one np.searchsorted instead of hashing a tuple per pair in Python.
        missing = [w for w in self._bigram_words if w not in self._word_row]
        if missing:
            self._add_words(missing)
        row = self._word_row
        keys = np.fromiter(
            (row[a] * _KEY_BASE + row[b] for a, b in self._bigram_row), dtype=np.int64, count=len(self._bigram_row)
        )
        order = np.argsort(keys, kind="stable")
        self._bigram_keys = keys[order]
        self._bigram_key_rows = order.astype(np.int64)

    def _bigram_index(self, w_idx: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """Bigram table row of every word pair inside each post, in order (-1: not in the vocabulary)."""
        n_pairs = int(np.maximum(lengths - 1, 0).sum())
        if not n_pairs or not self._bigram_keys.size:
            return np.full(n_pairs, -1, dtype=np.int64)
        keys = w_idx[:-1] * _KEY_BASE + w_idx[1:]
        pos = np.searchsorted(self._bigram_keys, keys)
        pos[pos == self._bigram_keys.size] = 0
        rows = np.where(self._bigram_keys[pos] == keys, self._bigram_key_rows[pos], -1)
        # Drop the pairs that straddle two posts (the last word of one and the first of the next).
        ends = np.cumsum(lengths)[:-1]
        ends = ends[(ends > 0) & (ends < w_idx.size)] - 1
        if ends.size:
            keep = np.ones(rows.size, dtype=bool)
            keep[ends] = False
            rows = rows[keep]
        return rows

    def decision(self, token_lists: Sequence[Sequence[str]]) -> np.ndarray:
        """``features.transform(texts) @ weights`` for posts given as token lists (``text.split()``)."""
        if not self._word_row:
            self.warm()
        n = len(token_lists)
        lengths = np.fromiter(map(len, token_lists), dtype=np.int64, count=n)
        # map/chain/fromiter keep the per-word loop in C: the batch costs one dict lookup per word.
        try:
            w_idx = np.fromiter(map(self._word_row.__getitem__, chain.from_iterable(token_lists)), dtype=np.int64)
        except KeyError:  # words not seen yet: compute their rows once
            batch = {w for words in token_lists for w in words}
            missing = batch - self._word_row.keys()
            if len(self._word_row) + len(missing) > self.max_words:
                # Unbounded growth would be a slow leak in a long-running service: start over
                # with this batch's words (rows are recomputed, results do not change).
                self._word_row.clear()
                missing = batch
            self._add_words(sorted(missing))
            if len(self._word_row) == len(missing):  # started over: the bigram words need rows again
                self._index_bigrams()
            w_idx = np.fromiter(map(self._word_row.__getitem__, chain.from_iterable(token_lists)), dtype=np.int64)
        # A pair outside the vocabulary maps to the bigram table's last row, which is zero.
        b_idx = self._bigram_index(w_idx, lengths)
        totals = self._sum_rows(self._word_table, w_idx, lengths) + self._sum_rows(
            self._bigram_table, b_idx, np.maximum(lengths - 1, 0)
        )
        norms = np.sqrt(totals[:, self.k])
        norms[norms == 0] = 1.0
        return totals[:, : self.k] / norms[:, None]

    def _sum_rows(self, table: np.ndarray, idx: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        out = np.zeros((len(lengths), self.k + 1))
        if not idx.size:
            return out
        starts = np.zeros(len(lengths), dtype=np.int64)
        np.cumsum(lengths[:-1], out=starts[1:])
        nonempty = lengths > 0
        # reduceat sums each post's slice; empty posts are left out (reduceat would copy a neighbour).
        out[nonempty] = np.add.reduceat(table[idx], starts[nonempty], axis=0)
        return out
