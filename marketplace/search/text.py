"""Turning text into search terms: the same normalisation for documents and queries."""

import re
from collections.abc import Iterable
from functools import lru_cache

import snowballstemmer
from text_unidecode import unidecode

_WORD = re.compile(r"[a-z0-9]+")
# Longer runs of letters are no word anyone searches for; cut, so that no term is too long
# for PostgreSQL's tsvector (2,047 bytes) and documents and queries cut them alike.
MAX_WORD_LENGTH = 100
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "for",
        "from",
        "has",
        "i",
        "in",
        "is",
        "it",
        "its",
        "me",
        "my",
        "near",
        "of",
        "on",
        "or",
        "the",
        "to",
        "with",
        "who",
        "what",
        "where",
        "when",
        "this",
        "that",
    ]
)
_stemmer = snowballstemmer.stemmer("english")


@lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    return _stemmer.stemWord(word)


def words(text: str | None) -> list[str]:
    """Lower-cased, accent-folded words, stop words dropped, in order (not stemmed)."""
    if not text:
        return []
    return [
        word[:MAX_WORD_LENGTH]
        for word in _WORD.findall(unidecode(text).lower())
        if word not in STOPWORDS
    ]


def stem(word: str) -> str:
    """The search term of one word of `words`."""
    return _stem(word)


def terms(text: str | None) -> list[str]:
    """Lower-cased, accent-folded, stemmed words, stop words dropped, in order.

    "Dry needling" and "dry needle" both become ["dri", "needl"]; a query matches a document
    when each of its terms begins some document term.
    """
    return [_stem(word) for word in words(text)]


def edit_distance(a: str, b: str) -> int:
    """Edits (insert, delete, substitute, or swap two adjacent letters) turning `a` into `b`:
    the optimal string alignment distance, so "piont" is one edit from "point"."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return previous[len(b)]


def typos_allowed(word: str) -> int:
    """How many edits a word may be from the one meant: none under 4 letters (too many short
    words are one edit apart), one up to 7, two from 8."""
    if len(word) < 4:
        return 0
    return 1 if len(word) < 8 else 2


def nearest_word(word: str, vocabulary: Iterable[str]) -> str | None:
    """The word of `vocabulary` that `word` is most likely a misspelling of: the fewest edits
    (at most `typos_allowed`), ties to the alphabetically first; None when none is near.
    Digits are never corrected."""
    allowed = typos_allowed(word)
    if not allowed or not word.isalpha():
        return None
    best: tuple[int, str] | None = None
    for known in vocabulary:
        if abs(len(known) - len(word)) > allowed:
            continue
        distance = edit_distance(word, known)
        if distance <= allowed and (best is None or (distance, known) < best):
            best = (distance, known)
    return None if best is None else best[1]


@lru_cache(maxsize=4096)
def known_terms(text: str) -> frozenset[str]:
    """The terms of a text that recurs (a therapy's or condition's name), remembered."""
    return frozenset(terms(text))


def term_string(*texts: str | None) -> str:
    """A document field: the unique terms of the texts, space separated."""
    seen: dict[str, None] = {}
    for text in texts:
        for term in terms(text):
            seen.setdefault(term, None)
    return " ".join(seen)
