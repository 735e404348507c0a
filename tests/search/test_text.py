"""search.text: the words of a query, and correcting a misspelt one (pure, no database)."""

import pytest

from marketplace.search.text import edit_distance, nearest_word, terms, typos_allowed, words

VOCABULARY = ["sciatica", "needling", "dry", "point", "trigger", "piriformis", "pain", "neck"]


@pytest.mark.parametrize(
    ("a", "b", "distance"),
    [
        ("point", "point", 0),
        ("piont", "point", 1),  # two letters swapped: one edit
        ("siatica", "sciatica", 1),
        ("neddling", "needling", 1),
        ("fascitis", "fasciitis", 1),
        ("kitten", "sitting", 3),
        ("", "neck", 4),
    ],
)
def test_edit_distance_counts_inserts_deletes_substitutions_and_swaps(a, b, distance):
    assert edit_distance(a, b) == distance
    assert edit_distance(b, a) == distance


def test_short_words_are_never_corrected_and_long_ones_may_be_two_edits_off():
    assert [typos_allowed(word) for word in ("neck", "pai", "sciatic", "piriformis")] == [
        1,
        0,
        1,
        2,
    ]
    assert nearest_word("pan", VOCABULARY) is None
    assert nearest_word("piriformus", VOCABULARY) == "piriformis"
    assert nearest_word("pirifromus", VOCABULARY) == "piriformis"  # a swap and a substitution


@pytest.mark.parametrize(
    ("typed", "meant"),
    [("siatica", "sciatica"), ("neddling", "needling"), ("piont", "point"), ("triger", "trigger")],
)
def test_a_misspelling_is_corrected_to_the_nearest_known_word(typed, meant):
    assert nearest_word(typed, VOCABULARY) == meant


def test_a_word_far_from_every_known_word_stays_uncorrected():
    assert nearest_word("whitfield", VOCABULARY) is None
    assert nearest_word("12345", ["12346"]) is None  # numbers are never corrected


def test_ties_go_to_the_alphabetically_first_word():
    assert nearest_word("necl", ["neck", "neal"]) == "neal"


def test_words_are_folded_and_stop_words_dropped_and_terms_are_their_stems():
    assert words("Pain in my BUM when sitting, Ménière") == ["pain", "bum", "sitting", "meniere"]
    assert terms("Dry needling") == terms("dry needle") == ["dri", "needl"]
