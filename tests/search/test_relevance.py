"""A judged query set over the demo marketplace: how good is `q` at finding the right people?

The demo (`seed_demo`, 65 approved listings) is seeded once for this module, on a database of
its own, with the clock stopped at NOW. Every query goes through `GET /api/v1/practitioners`
with its default (relevance) order, so the set judges whatever engine answers it.

What is relevant is decided by a rule over the demo's own data, never by hand-copied ids:

- a condition (or a lay phrase standing for one): the listing offers a therapy linked to the
  condition AND its own text names the condition: every word of the condition's name, or of
  one of its synonyms, occurs in its display name, headline, profession or bio (words lower
  cased, a plural "s" dropped, stop words ignored);
- a therapy: the listing offers that therapy (an active service of it);
- a name: the listing's display name holds every word of the query;
- a misspelling: whatever is relevant to its correct spelling.

Figures: P@10 is the share of the first ten results that are relevant, out of at most
min(10, number relevant), so that a perfect ranking scores 1 even when fewer than ten
listings are relevant; "first" is the rank of the first relevant result (None: none found).
Run with `-s` (or `-rP`) to see the table.
"""

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import flask_migrate
import pytest
import sqlalchemy as sa

from marketplace.catalog.models import Condition, TherapyType
from marketplace.demo import seed_demo
from marketplace.extensions import db
from marketplace.practitioners.models import ListingStatus, Practitioner, Service
from tests.conftest import BACKEND, POSTGRES_URL, fresh_postgres_database, make_app
from tests.search.helpers import CLOCK_MODULES, SEARCH_URL

pytestmark = pytest.mark.committing

# A Monday, 10:00 in Sydney.
NOW = datetime(2030, 6, 3, 0, 0, tzinfo=UTC)
TOP = 10
MIN_MEAN_PRECISION = 0.9


@dataclass(frozen=True)
class Judged:
    query: str
    kind: str  # condition | lay | therapy | name | misspelling
    intent: str  # a condition slug, a therapy slug, or a name
    correct: str | None = None  # a misspelling's correct spelling


QUERIES = [
    Judged("sciatica", "condition", "sciatica"),
    Judged("piriformis syndrome", "condition", "piriformis-syndrome"),
    Judged("neck pain", "condition", "neck-pain"),
    Judged("lower back pain", "condition", "lower-back-pain"),
    Judged("tension headache", "condition", "tension-headache"),
    Judged("plantar fasciitis", "condition", "plantar-fasciitis"),
    Judged("shoulder pain", "condition", "shoulder-pain"),
    Judged("tennis elbow", "condition", "tennis-elbow"),
    Judged("fibromyalgia", "condition", "fibromyalgia"),
    Judged("pain in my bum when sitting", "lay", "buttock-pain"),
    Judged("sore lower back", "lay", "lower-back-pain"),
    Judged("stiff neck", "lay", "neck-pain"),
    Judged("jaw pain", "lay", "tmj-disorder"),
    Judged("heel pain", "lay", "plantar-fasciitis"),
    Judged("shin splints", "condition", "shin-splints"),
    # Not a name or synonym of the condition word for word.
    Judged("sore bum from sitting", "lay", "buttock-pain"),
    Judged("headaches", "lay", "tension-headache"),
    Judged("tight hips", "lay", "hip-pain"),
    Judged("dry needling", "therapy", "dry-needling"),
    Judged("trigger point therapy", "therapy", "trigger-point-therapy"),
    Judged("remedial massage", "therapy", "remedial-massage"),
    Judged("cupping", "therapy", "cupping"),
    Judged("acupuncture", "therapy", "acupuncture"),
    Judged("clinical pilates", "therapy", "clinical-pilates"),
    Judged("siatica", "misspelling", "sciatica", correct="sciatica"),
    Judged("dry neddling", "misspelling", "dry-needling", correct="dry needling"),
    Judged(
        "trigger piont therapy", "misspelling", "trigger-point-therapy", "trigger point therapy"
    ),
    Judged("acupunture", "misspelling", "acupuncture", correct="acupuncture"),
    Judged("plantar fascitis", "misspelling", "plantar-fasciitis", correct="plantar fasciitis"),
    Judged("piriformis syndrom", "misspelling", "piriformis-syndrome", "piriformis syndrome"),
    Judged("Jess Whitfield", "name", "Jess Whitfield"),
    Judged("whitfield", "name", "whitfield"),
]

_STOP = frozenset(
    [
        "a",
        "an",
        "and",
        "at",
        "for",
        "from",
        "i",
        "in",
        "is",
        "it",
        "my",
        "of",
        "on",
        "the",
        "to",
        "when",
        "with",
    ]
)


def words(text: str | None) -> set[str]:
    """The judge's own normalisation (not search's): lower case, a plural "s" dropped."""
    found = set()
    for word in re.findall(r"[a-z0-9]+", (text or "").lower()):
        if word in _STOP:
            continue
        if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
            word = word[:-1]
        found.add(word)
    return found


@dataclass(frozen=True)
class Listing:
    id: str
    display_name: str
    words: frozenset[str]  # of its display name, headline, profession and bio
    therapies: frozenset[str]  # slugs of its active services' therapies


@dataclass(frozen=True)
class Demo:
    listings: tuple[Listing, ...]
    conditions: dict  # slug -> (therapy slugs, [word sets of the name and each synonym])


def load_demo() -> Demo:
    therapy_slug = dict(db.session.execute(sa.select(TherapyType.id, TherapyType.slug)).all())
    offered: dict = {}
    for listing_id, therapy_id in db.session.execute(
        sa.select(Service.practitioner_id, Service.therapy_type_id).where(Service.is_offered)
    ):
        offered.setdefault(listing_id, set()).add(therapy_slug[therapy_id])
    listings = tuple(
        Listing(
            id=str(row.id),
            display_name=row.display_name,
            words=frozenset(
                words(" ".join([row.display_name, row.headline, row.profession, row.bio]))
            ),
            therapies=frozenset(offered.get(row.id, ())),
        )
        for row in db.session.execute(
            sa.select(
                Practitioner.id,
                Practitioner.display_name,
                Practitioner.headline,
                Practitioner.profession,
                Practitioner.bio,
            ).where(Practitioner.status == ListingStatus.APPROVED)
        )
        if row.id in offered
    )
    conditions = {
        condition.slug: (
            frozenset(therapy.slug for therapy in condition.therapies),
            [words(phrase) for phrase in [condition.name, *condition.synonyms]],
        )
        for condition in db.session.scalars(sa.select(Condition))
    }
    return Demo(listings, conditions)


def relevant(demo: Demo, judged: Judged) -> set[str]:
    """The ids the rule of `judged.kind` calls relevant (see the module's docstring)."""
    if judged.kind in ("condition", "lay") or (
        judged.kind == "misspelling" and judged.intent in demo.conditions
    ):
        therapies, phrases = demo.conditions[judged.intent]
        return {
            listing.id
            for listing in demo.listings
            if listing.therapies & therapies and any(phrase <= listing.words for phrase in phrases)
        }
    if judged.kind == "name":
        wanted = words(judged.intent)
        return {listing.id for listing in demo.listings if wanted <= words(listing.display_name)}
    return {listing.id for listing in demo.listings if judged.intent in listing.therapies}


@pytest.fixture(scope="module")
def demo_client() -> Iterator:
    """A client of an app over a database of its own holding the demo, seeded at NOW."""
    with pytest.MonkeyPatch.context() as patch, _fresh_database() as url:
        for module in CLOCK_MODULES:
            patch.setattr(f"{module}.utc_now", lambda: NOW)
        app = make_app(url)
        with app.app_context():
            flask_migrate.upgrade()
            assert seed_demo(NOW).created
            db.session.commit()
        try:
            yield app, app.test_client()
        finally:
            with app.app_context():
                db.session.remove()
                db.engine.dispose()


class _fresh_database:
    def __init__(self) -> None:
        self._postgres = None

    def __enter__(self) -> str:
        if BACKEND == "postgres":
            self._postgres = fresh_postgres_database(POSTGRES_URL)
            return self._postgres.__enter__()
        import tempfile

        self._dir = tempfile.TemporaryDirectory()
        return f"sqlite:///{self._dir.name}/relevance.db"

    def __exit__(self, *exc) -> None:
        if self._postgres is not None:
            self._postgres.__exit__(*exc)
        else:
            self._dir.cleanup()


@pytest.fixture(scope="module")
def demo(demo_client) -> Demo:
    app, _client = demo_client
    with app.app_context():
        try:
            return load_demo()
        finally:
            db.session.remove()


def ranked(client, q: str) -> tuple[list[str], int]:
    """Every id `q` finds, in the default order, and the total the API reports."""
    ids: list[str] = []
    page = 1
    while True:
        response = client.get(SEARCH_URL, query_string={"q": q, "per_page": 50, "page": page})
        assert response.status_code == 200, response.get_data(as_text=True)
        body = response.get_json()
        ids.extend(item["id"] for item in body["items"])
        if len(body["items"]) < 50:
            return ids, body["total"]
        page += 1


@dataclass(frozen=True)
class Figures:
    judged: Judged
    relevant: int
    total: int
    precision: float
    first: int | None
    top: tuple[str, ...]
    found: frozenset[str]


def measure(client, demo: Demo, judged: Judged) -> Figures:
    wanted = relevant(demo, judged)
    assert wanted, f"the rule finds nothing relevant to {judged.query!r}: a useless query"
    ids, total = ranked(client, judged.query)
    hits = sum(1 for listing_id in ids[:TOP] if listing_id in wanted)
    first = next((rank for rank, i in enumerate(ids, 1) if i in wanted), None)
    return Figures(
        judged, len(wanted), total, hits / min(TOP, len(wanted)), first, tuple(ids[:TOP]),
        frozenset(ids),
    )  # fmt: skip


def table(figures: list[Figures]) -> str:
    lines = [
        f"{'query':32} {'kind':12} {'relevant':>8} {'total':>5} {'P@10':>5} {'first':>5}",
    ]
    for f in figures:
        lines.append(
            f"{f.judged.query:32} {f.judged.kind:12} {f.relevant:>8} {f.total:>5} "
            f"{f.precision:>5.2f} {f.first if f.first is not None else '-':>5}"
        )
    mean = sum(f.precision for f in figures) / len(figures)
    lines.append(f"mean P@10 over {len(figures)} queries: {mean:.3f}")
    return "\n".join(lines)


@pytest.fixture(scope="module")
def figures(demo_client, demo) -> dict[str, Figures]:
    _app, client = demo_client
    return {judged.query: measure(client, demo, judged) for judged in QUERIES}


def test_the_judged_set_covers_every_kind_of_query():
    kinds = {judged.kind for judged in QUERIES}
    assert len(QUERIES) >= 20
    assert kinds == {"condition", "lay", "therapy", "misspelling", "name"}


def test_mean_precision_at_ten_reaches_the_target(figures, request):
    report = table(list(figures.values()))
    print("\n" + report)
    request.node.add_report_section("call", "relevance", report)
    mean = sum(f.precision for f in figures.values()) / len(figures)
    assert mean >= MIN_MEAN_PRECISION, report


def test_every_query_finds_a_relevant_listing_on_the_first_page(figures):
    late = {q: f.first for q, f in figures.items() if f.first is None or f.first > TOP}
    assert late == {}


@pytest.mark.parametrize(
    "judged", [j for j in QUERIES if j.kind == "misspelling"], ids=lambda j: j.query
)
def test_a_misspelling_finds_what_its_correct_spelling_finds(figures, judged):
    wrong, right = figures[judged.query], figures[judged.correct]
    assert (wrong.top, wrong.found, wrong.total) == (right.top, right.found, right.total)


def test_a_name_finds_that_practitioner_first(figures, demo):
    for judged in QUERIES:
        if judged.kind == "name":
            found = figures[judged.query]
            assert found.top[0] in relevant(demo, judged), judged.query
