"""Turning text into search terms: the same normalisation for documents and queries."""

import re
from functools import lru_cache

import snowballstemmer
from text_unidecode import unidecode

_WORD = re.compile(r"[a-z0-9]+")
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


def terms(text: str | None) -> list[str]:
    """Lower-cased, accent-folded, stemmed words, stop words dropped, in order.

    "Dry needling" and "dry needle" both become ["dri", "needl"]; a query matches a document
    when each of its terms begins some document term.
    """
    if not text:
        return []
    words = _WORD.findall(unidecode(text).lower())
    return [_stem(word) for word in words if word not in STOPWORDS]


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
