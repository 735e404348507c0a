"""A realistic, deterministic demo marketplace, built through the ordinary service functions.

`seed_demo(now)` runs inside an app context and only flushes; the caller commits. It is
idempotent: when the demo admin already exists it changes nothing and returns `created=False`.
"""

import random
import secrets
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app

from marketplace.accounts.models import Role, User
from marketplace.accounts.service import ensure_admin, get_user_by_email, register_user
from marketplace.admin.service import review_listing
from marketplace.availability import free_time
from marketplace.availability import service as availability
from marketplace.bookings import service as bookings
from marketplace.extensions import db
from marketplace.payments.simulated import SimulatedGateway
from marketplace.payments.webhooks import confirm_payment
from marketplace.practitioners import service as listings
from marketplace.practitioners.models import Gender, Location, Practitioner

DOMAIN = "demo.relieve.example"
ADMIN_EMAIL = f"admin@{DOMAIN}"
PATIENT_EMAIL = f"patient@{DOMAIN}"
PRACTITIONER_EMAIL = f"practitioner@{DOMAIN}"
DEMO_CREDENTIALS: list[tuple[Role, str, str]] = [
    (Role.ADMIN, ADMIN_EMAIL, "relieve-admin-demo"),
    (Role.PATIENT, PATIENT_EMAIL, "relieve-patient-demo"),
    (Role.PRACTITIONER, PRACTITIONER_EMAIL, "relieve-practitioner-demo"),
]
APPROVED_PER_CITY = 13
PENDING_COUNT = 5
SEED = 42


@dataclass
class DemoResult:
    created: bool
    credentials: list[tuple[Role, str, str]] = field(default_factory=list)


# --- places --------------------------------------------------------------------------------

# city -> (IANA zone, state, [(suburb, postcode, latitude, longitude, a real street there)])
CITIES: dict[str, tuple[str, str, list[tuple[str, str, float, float, str]]]] = {
    "Sydney": (
        "Australia/Sydney",
        "NSW",
        [
            ("Surry Hills", "2010", -33.886, 151.211, "Crown Street"),
            ("Bondi Junction", "2022", -33.892, 151.248, "Oxford Street"),
            ("Newtown", "2042", -33.897, 151.179, "King Street"),
            ("Parramatta", "2150", -33.815, 151.003, "Church Street"),
            ("Chatswood", "2067", -33.797, 151.183, "Victoria Avenue"),
            ("Manly", "2095", -33.797, 151.285, "Sydney Road"),
            ("Marrickville", "2204", -33.911, 151.155, "Illawarra Road"),
            ("North Sydney", "2060", -33.839, 151.207, "Miller Street"),
            ("Cronulla", "2230", -34.056, 151.152, "Cronulla Street"),
        ],
    ),
    "Melbourne": (
        "Australia/Melbourne",
        "VIC",
        [
            ("Fitzroy", "3065", -37.799, 144.978, "Brunswick Street"),
            ("Richmond", "3121", -37.823, 144.998, "Swan Street"),
            ("St Kilda", "3182", -37.864, 144.981, "Acland Street"),
            ("Brunswick", "3056", -37.767, 144.960, "Sydney Road"),
            ("Carlton", "3053", -37.800, 144.967, "Lygon Street"),
            ("South Yarra", "3141", -37.838, 144.993, "Toorak Road"),
            ("Footscray", "3011", -37.800, 144.900, "Barkly Street"),
            ("Box Hill", "3128", -37.819, 145.122, "Whitehorse Road"),
            ("Hawthorn", "3122", -37.822, 145.035, "Glenferrie Road"),
        ],
    ),
    "Brisbane": (
        "Australia/Brisbane",
        "QLD",
        [
            ("Fortitude Valley", "4006", -27.457, 153.035, "Brunswick Street"),
            ("South Brisbane", "4101", -27.480, 153.020, "Grey Street"),
            ("Paddington", "4064", -27.460, 153.000, "Given Terrace"),
            ("New Farm", "4005", -27.467, 153.051, "Merthyr Road"),
            ("West End", "4101", -27.482, 153.008, "Boundary Street"),
            ("Toowong", "4066", -27.485, 152.993, "High Street"),
            ("Chermside", "4032", -27.386, 153.031, "Gympie Road"),
            ("Indooroopilly", "4068", -27.500, 152.973, "Station Road"),
            ("Woolloongabba", "4102", -27.489, 153.036, "Logan Road"),
        ],
    ),
    "Perth": (
        "Australia/Perth",
        "WA",
        [
            ("Subiaco", "6008", -31.949, 115.825, "Rokeby Road"),
            ("Fremantle", "6160", -32.056, 115.745, "South Terrace"),
            ("Leederville", "6007", -31.936, 115.842, "Oxford Street"),
            ("Mount Lawley", "6050", -31.934, 115.871, "Beaufort Street"),
            ("Scarborough", "6019", -31.894, 115.757, "Scarborough Beach Road"),
            ("Joondalup", "6027", -31.745, 115.766, "Lakeside Drive"),
            ("Victoria Park", "6100", -31.976, 115.897, "Albany Highway"),
            ("Cottesloe", "6011", -31.996, 115.758, "Napoleon Street"),
        ],
    ),
    "Adelaide": (
        "Australia/Adelaide",
        "SA",
        [
            ("Norwood", "5067", -34.921, 138.630, "The Parade"),
            ("Glenelg", "5045", -34.980, 138.516, "Jetty Road"),
            ("Unley", "5061", -34.950, 138.606, "Unley Road"),
            ("Prospect", "5082", -34.884, 138.594, "Prospect Road"),
            ("North Adelaide", "5006", -34.907, 138.593, "O'Connell Street"),
            ("Burnside", "5066", -34.940, 138.650, "Greenhill Road"),
            ("Henley Beach", "5022", -34.920, 138.494, "Seaview Road"),
            ("Mawson Lakes", "5095", -34.815, 138.610, "Main Street"),
        ],
    ),
}

# --- professions ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Profession:
    title: str
    weight: int
    body: str
    number_prefix: str  # AHPRA numbers are three letters and ten digits
    ahpra: bool
    clinic_words: tuple[str, ...]
    opener: str
    # (therapy slug, service name, duration, base price in cents); the first is the core one
    services: tuple[tuple[str, str, int, int], ...]


PROFESSIONS = (
    Profession(
        "Myotherapist",
        4,
        "Myotherapy Association Australia",
        "MAA",
        False,
        ("Myotherapy", "Muscle & Movement", "Body Clinic"),
        "I'm a myotherapist with {years} years in clinic, using trigger point therapy, dry "
        "needling and myofascial release to settle stubborn muscle pain.",
        (
            ("myotherapy", "Initial myotherapy consultation", 60, 11000),
            ("myotherapy", "Myotherapy follow-up", 45, 9500),
            ("trigger-point-therapy", "Trigger point therapy", 45, 9000),
            ("dry-needling", "Dry needling with soft tissue work", 30, 7500),
            ("myofascial-release", "Myofascial release", 60, 10500),
            ("cupping", "Cupping and soft tissue release", 30, 7000),
        ),
    ),
    Profession(
        "Remedial massage therapist",
        3,
        "Massage & Myotherapy Australia",
        "MMA",
        False,
        ("Remedial Massage", "Massage Studio", "Body Works"),
        "I'm a remedial massage therapist with {years} years of hands-on experience, and I "
        "tailor every session to what your body needs on the day.",
        (
            ("remedial-massage", "Remedial massage", 60, 10000),
            ("remedial-massage", "Remedial massage (extended)", 90, 14500),
            ("deep-tissue-massage", "Deep tissue massage", 60, 10500),
            ("sports-massage", "Sports massage", 45, 8500),
            ("trigger-point-therapy", "Trigger point release", 30, 7000),
            ("cupping", "Cupping with massage", 45, 8500),
        ),
    ),
    Profession(
        "Physiotherapist",
        2,
        "Physiotherapy Board of Australia (AHPRA)",
        "PHY",
        True,
        ("Physiotherapy", "Sports Physio", "Physio & Pilates"),
        "I'm a physiotherapist with {years} years' experience in musculoskeletal and sports "
        "physio.",
        (
            ("physiotherapy", "Initial physiotherapy assessment", 60, 12500),
            ("physiotherapy", "Physiotherapy follow-up", 30, 9000),
            ("dry-needling", "Dry needling", 30, 8500),
            ("clinical-pilates", "Clinical Pilates (one-on-one)", 45, 9500),
            ("shockwave-therapy", "Shockwave therapy", 30, 8000),
        ),
    ),
    Profession(
        "Osteopath",
        2,
        "Osteopathy Board of Australia (AHPRA)",
        "OST",
        True,
        ("Osteopathy", "Osteo Clinic"),
        "I'm an osteopath with {years} years in practice, looking at how your spine, pelvis "
        "and hips work together.",
        (
            ("osteopathy", "Initial osteopathy consultation", 60, 12500),
            ("osteopathy", "Osteopathy follow-up", 45, 10000),
            ("myofascial-release", "Myofascial release", 45, 9500),
            ("dry-needling", "Dry needling", 30, 8000),
        ),
    ),
    Profession(
        "Chiropractor",
        2,
        "Chiropractic Board of Australia (AHPRA)",
        "CHI",
        True,
        ("Chiropractic", "Spinal Health"),
        "I'm a chiropractor with {years} years in practice, combining gentle adjustments with "
        "soft tissue work.",
        (
            ("chiropractic", "Initial chiropractic consultation", 45, 11000),
            ("chiropractic", "Chiropractic adjustment", 30, 7500),
            ("myofascial-release", "Soft tissue and myofascial release", 30, 7000),
            ("dry-needling", "Dry needling", 30, 7500),
        ),
    ),
    Profession(
        "Acupuncturist",
        1,
        "Chinese Medicine Board of Australia (AHPRA)",
        "CMR",
        True,
        ("Acupuncture", "Acupuncture & Chinese Medicine"),
        "I'm a registered Chinese medicine practitioner and acupuncturist with {years} years "
        "in practice.",
        (
            ("acupuncture", "Initial acupuncture consultation", 90, 13500),
            ("acupuncture", "Acupuncture follow-up", 60, 9500),
            ("cupping", "Cupping therapy", 30, 6500),
            ("acupuncture", "Acupuncture for headaches and neck pain", 45, 9000),
        ),
    ),
    Profession(
        "Exercise physiologist",
        1,
        "Exercise & Sports Science Australia",
        "ESSA",
        False,
        ("Exercise Physiology", "Movement Lab"),
        "I'm an accredited exercise physiologist with {years} years helping people get moving "
        "again after injury.",
        (
            ("exercise-physiology", "Initial exercise physiology assessment", 60, 14000),
            ("exercise-physiology", "Exercise physiology session", 45, 9500),
            ("clinical-pilates", "Clinical Pilates (one-on-one)", 60, 10500),
            ("hydrotherapy", "Hydrotherapy session", 45, 9000),
        ),
    ),
)
TELEHEALTH_FRIENDLY = ("Physiotherapist", "Exercise physiologist")
PROFESSION_BY_TITLE = {profession.title: profession for profession in PROFESSIONS}
MYOTHERAPIST = PROFESSION_BY_TITLE["Myotherapist"]

CONDITION_LINES = (
    "I see a lot of people with a deep ache in the buttock that runs down the back of the leg; "
    "often it's trigger points in the glutes rather than true sciatica.",
    "Most of my clients come in with lower back pain, tight hips, or neck and shoulder tension "
    "from long days at a desk.",
    "I also treat tension headaches, jaw pain and the stiff upper back that comes with hours "
    "on a laptop.",
    "Runners and walkers see me for plantar fasciitis, ITB pain, shin splints and tight calves.",
    "Tradies and gym-goers see me for shoulder pain, tennis elbow and lower back strain.",
    "Piriformis syndrome and that nagging ache when you sit for too long are a big part of my "
    "week.",
    "I enjoy working with chronic pain, including fibromyalgia and long-standing neck pain, at "
    "a pace that suits you.",
)
CLOSING_LINES = (
    "Expect a proper assessment, hands-on treatment and a couple of simple stretches to keep "
    "things moving between visits.",
    "Every session finishes with a short home program so the relief lasts longer than the "
    "drive home.",
    "I'll explain what's going on in plain language and we'll agree on a plan that fits your week.",
    "Health fund rebates can be claimed on the spot with HICAPS.",
)
FOCUSES = (
    "gluteal trigger points and sciatica-like leg pain",
    "lower back and hip pain",
    "neck and shoulder tension and headaches",
    "running injuries and plantar fasciitis",
    "desk workers with stiff necks and backs",
    "sports injuries and getting back to training",
    "persistent pain, treated gently",
)

# --- people --------------------------------------------------------------------------------

# language -> (female first names, male first names, surnames); None is English only
NAMES: dict[str | None, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    None: (
        ("Olivia", "Charlotte", "Emily", "Sarah", "Jessica", "Hannah", "Chloe", "Lucy",
         "Grace", "Rebecca", "Kate", "Megan", "Amelia", "Isla", "Georgia", "Zoe"),
        ("Jack", "Thomas", "James", "Liam", "Noah", "Lachlan", "Ben", "Matt", "Daniel",
         "Josh", "Tom", "Angus", "Harry", "Will", "Ryan", "Nick"),
        ("Smith", "Jones", "Williams", "Brown", "Wilson", "Taylor", "Johnson", "White",
         "Martin", "Anderson", "Thompson", "Walker", "Harris", "Ryan", "Kelly", "O'Brien",
         "Murphy", "Campbell", "Mitchell", "Robertson", "Stewart", "Clarke", "Fraser",
         "McDonald", "Hughes"),
    ),
    "zh": (("Mei", "Ling", "Xin", "Yan"), ("Wei", "Jun", "Hao", "Ming"),
           ("Chen", "Wang", "Li", "Zhang", "Liu", "Huang", "Wong")),
    "vi": (("Linh", "Thao", "Mai", "Huong"), ("Minh", "Duc", "Tuan", "Khoa"),
           ("Nguyen", "Tran", "Le", "Pham", "Vo")),
    "el": (("Eleni", "Sophia", "Katerina", "Despina"), ("Nikos", "Con", "George", "Dimitri"),
           ("Papadopoulos", "Georgiou", "Nikolaidis", "Kostas", "Dimitriou")),
    "it": (("Giulia", "Francesca", "Chiara", "Gina"), ("Marco", "Luca", "Matteo", "Joe"),
           ("Rossi", "Romano", "Bianchi", "Esposito", "Ricci")),
    "ar": (("Layla", "Nour", "Mariam", "Rania"), ("Omar", "Karim", "Ahmed", "Sami"),
           ("Haddad", "Khoury", "Nasser", "Saleh", "Hassan")),
    "hi": (("Priya", "Ananya", "Neha", "Pooja"), ("Arjun", "Rohan", "Vikram", "Rahul"),
           ("Sharma", "Patel", "Singh", "Gupta", "Iyer")),
    "es": (("Sofia", "Lucia", "Camila", "Valentina"), ("Diego", "Carlos", "Javier", "Mateo"),
           ("Garcia", "Fernandez", "Lopez", "Martinez", "Rodriguez")),
}  # fmt: skip
UNISEX_NAMES = ("Alex", "Jordan", "Sam", "Charlie", "Riley", "Jamie", "Casey", "Quinn")
GENDER_WEIGHTS = {
    Gender.FEMALE: 50,
    Gender.MALE: 38,
    Gender.NON_BINARY: 5,
    Gender.UNDISCLOSED: 7,
}
OTHER_LANGUAGE_SHARE = 0.3

# --- hours ---------------------------------------------------------------------------------

# [(weekdays (Mon=0), start, end)]: typical clinic weeks, some with evenings or Saturdays.
WEEKS = (
    [((0, 1, 2, 3, 4), "09:00", "17:00")],
    [((0, 1, 2, 3, 4), "08:00", "12:00"), ((0, 1, 2, 3, 4), "13:00", "18:00")],
    [((0, 2, 4), "08:30", "16:30"), ((1, 3), "12:00", "20:00")],
    [((1, 2, 3, 4), "09:00", "18:00"), ((5,), "08:00", "13:00")],
    [((0, 1, 2, 3), "10:00", "19:30"), ((5,), "09:00", "12:00")],
    [((0, 1, 3), "07:00", "15:00"), ((2,), "12:00", "20:00"), ((5,), "08:00", "12:00")],
)
TIME_OFF_REASONS = ("Annual leave", "Conference", "Professional development course")


def _price(cents: float) -> int:
    """Whole five-dollar amounts between $65 and $195."""
    return min(19500, max(6500, round(cents / 500) * 500))


def _weighted(rng: random.Random, weights: dict):
    return rng.choices(list(weights), weights=list(weights.values()))[0]


@dataclass
class Spec:
    """Everything about one generated listing, drawn from the seeded generator."""

    first: str
    last: str
    display_name: str
    city: str
    profile: dict
    locations: list[dict]
    services: list[dict]
    week: list[tuple[tuple[int, ...], str, str]]


class Generator:
    def __init__(self) -> None:
        self.rng = random.Random(SEED)
        self.used_names: set[str] = set()

    def person(self) -> tuple[str, str, Gender, list[str]]:
        rng = self.rng
        language = None
        if rng.random() < OTHER_LANGUAGE_SHARE:
            language = rng.choice([lang for lang in NAMES if lang])
        gender = _weighted(rng, GENDER_WEIGHTS)
        while True:
            female, male, surnames = NAMES[language]
            if gender is Gender.NON_BINARY:
                first = rng.choice(UNISEX_NAMES)
            elif gender is Gender.FEMALE or (gender is Gender.UNDISCLOSED and rng.random() < 0.5):
                first = rng.choice(female + NAMES[None][0] if language else female)
            else:
                first = rng.choice(male + NAMES[None][1] if language else male)
            last = rng.choice(surnames)
            if f"{first} {last}" not in self.used_names:
                self.used_names.add(f"{first} {last}")
                return first, last, gender, ["en", language] if language else ["en"]

    def location(self, city: str, profession: Profession, surname: str, index: int) -> dict:
        rng = self.rng
        _zone, state, suburbs = CITIES[city]
        suburb, postcode, lat, lng, street = suburbs[index % len(suburbs)]
        unit = rng.choice(["", "", "Suite 2, ", "Level 1, ", f"Shop {rng.randint(1, 12)}, "])
        word = rng.choice(profession.clinic_words)
        return {
            "name": rng.choice([f"{suburb} {word}", f"{surname} {word}"]),
            "address": f"{unit}{rng.randint(2, 380)} {street}",
            "suburb": suburb,
            "state": state,
            "postcode": postcode,
            "country": "AU",
            "latitude": round(lat + rng.uniform(-0.004, 0.004), 6),
            "longitude": round(lng + rng.uniform(-0.004, 0.004), 6),
        }

    def services(self, profession: Profession) -> list[dict]:
        rng = self.rng
        extra = rng.sample(profession.services[1:], rng.randint(1, 3))
        chosen = [profession.services[0], *sorted(extra, key=profession.services.index)]
        return [
            {
                "therapy": therapy,
                "name": name,
                "duration_minutes": minutes,
                "price_cents": _price(base * rng.uniform(0.85, 1.2)),
                "currency": "AUD",
            }
            for therapy, name, minutes, base in chosen
        ]

    def registration(self, profession: Profession) -> str:
        if profession.ahpra:
            return f"{profession.number_prefix}{self.rng.randint(1, 2_999_999):010d}"
        return f"{profession.number_prefix}-{self.rng.randint(10000, 99999)}"

    def spec(self, city: str, index: int, profession: Profession | None = None) -> Spec:
        rng = self.rng
        if profession is None:
            weights = {p.title: p.weight for p in PROFESSIONS}
            profession = PROFESSION_BY_TITLE[_weighted(rng, weights)]
        first, last, gender, languages = self.person()
        title = profession.title
        doctor = title in ("Chiropractor", "Osteopath") and rng.random() < 0.5
        display_name = f"{'Dr ' if doctor else ''}{first} {last}"
        locations = [self.location(city, profession, last, index)]
        if rng.random() < 0.35:
            locations.append(self.location(city, profession, last, index + rng.randint(2, 5)))
        lines = [profession.opener.format(years=rng.randint(3, 22))]
        lines += rng.sample(CONDITION_LINES, rng.randint(1, 2))
        if rng.random() < 0.6:
            lines.append(rng.choice(CLOSING_LINES))
        profile = {
            "display_name": display_name,
            "headline": f"{title} for {rng.choice(FOCUSES)}",
            "bio": " ".join(lines),
            "profession": title,
            "registration_body": profession.body,
            "registration_number": self.registration(profession),
            "gender": gender,
            "languages": languages,
            "telehealth": rng.random() < (0.5 if title in TELEHEALTH_FRIENDLY else 0.15),
            "timezone": CITIES[city][0],
            "slot_interval_minutes": rng.choice([15, 30]),
            "buffer_before_minutes": rng.choice([0, 0, 5]),
            "buffer_after_minutes": rng.choice([0, 5, 10, 15]),
            "min_notice_minutes": rng.choice([60, 120, 180, 240]),
            "horizon_days": 60,
            "free_cancellation_hours": rng.choice([24, 24, 48]),
            "late_cancellation_fee_percent": rng.choice([0, 25, 50, 50]),
        }
        return Spec(
            first=first,
            last=last,
            display_name=display_name,
            city=city,
            profile=profile,
            locations=locations,
            services=self.services(profession),
            week=rng.choice(WEEKS),
        )


# --- building ------------------------------------------------------------------------------


def _hhmm(value: str) -> time:
    return time.fromisoformat(value)


def _weekly_rules(week, locations: list[Location]) -> list[dict]:
    """The week's windows; with two locations, the working days alternate between them."""
    days = sorted({day for weekdays, _start, _end in week for day in weekdays})
    rules = []
    for weekdays, start, end in week:
        for day in weekdays:
            location = locations[days.index(day) % len(locations)]
            rules.append(
                {
                    "weekday": day,
                    "start": _hhmm(start),
                    "end": _hhmm(end),
                    "location_id": location.id,
                }
            )
    return rules


def _email(spec: Spec, number: int) -> str:
    local = f"{spec.first}.{spec.last}".lower().replace("'", "").replace(" ", "")
    return f"{local}.{number:02d}@{DOMAIN}"


def _build_listing(spec: Spec, owner: User) -> tuple[Practitioner, list[Location]]:
    listing = listings.create_listing(owner, spec.display_name)
    listings.update_profile(listing, spec.profile)
    locations = [listings.create_location(listing, data) for data in spec.locations]
    for data in spec.services:
        listings.create_service(listing, data)
    availability.replace_schedule(listing, _weekly_rules(spec.week, locations))
    return listing, locations


def _add_exceptions(gen: Generator, listing, locations, now: datetime) -> None:
    """Some listings get a closed or short day, and some a block of leave."""
    rng = gen.rng
    today = free_time.local_today(listing, now)
    if rng.random() < 0.3:
        day = today + timedelta(days=rng.randint(5, 45))
        windows = []
        if rng.random() < 0.5:
            windows = [{"start": time(9), "end": time(13), "location_id": locations[0].id}]
        availability.set_override(listing, day, windows, now)
    if rng.random() < 0.2:
        zone = ZoneInfo(listing.timezone)
        first = today + timedelta(days=rng.randint(14, 50))
        start = datetime.combine(first, time(0), zone)
        end = datetime.combine(first + timedelta(days=rng.randint(1, 5)), time(0), zone)
        reason = rng.choice(TIME_OFF_REASONS)
        availability.add_time_off(listing, {"start_at": start, "end_at": end, "reason": reason})


def _rate(rng: random.Random, listing: Practitioner) -> None:
    count = 0 if rng.random() < 0.08 else rng.randint(1, 120)
    listing.rating_count = count
    listing.rating_average = round(rng.uniform(3.8, 5.0), 1) if count else None


def _demo_practitioner_spec(spec: Spec) -> Spec:
    """The demo practitioner: a Surry Hills myotherapist treating gluteal trigger points."""
    spec.first, spec.last = "Jess", "Whitfield"
    spec.display_name = "Jess Whitfield"
    spec.profile.update(
        display_name=spec.display_name,
        headline="Myotherapist for buttock pain, sciatica-like leg pain and lower back pain",
        gender=Gender.FEMALE,
        languages=["en"],
        telehealth=True,
    )
    spec.services = [
        {"therapy": therapy, "name": name, "duration_minutes": minutes, "price_cents": price}
        | {"currency": "AUD"}
        for therapy, name, minutes, price in (
            ("myotherapy", "Initial myotherapy consultation", 60, 11500),
            ("trigger-point-therapy", "Trigger point therapy for buttock and hip pain", 45, 9500),
            ("dry-needling", "Dry needling with soft tissue work", 30, 8000),
        )
    ]
    return spec


def _practitioner(email: str, name: str) -> User:
    # Only the demo accounts have known passwords; the others cannot be signed in to.
    return register_user(
        email=email, password=secrets.token_urlsafe(18), name=name, role=Role.PRACTITIONER
    )


def _book(gen: Generator, patient: User, listing: Practitioner, now: datetime, days: int):
    """Hold a free slot a few days ahead, through the same rules the API applies."""
    service = gen.rng.choice(listing.active_services)
    first = free_time.local_today(listing, now) + timedelta(days=days)
    found = []
    while not found and first < free_time.local_today(listing, now) + timedelta(days=56):
        found = free_time.free_slots(
            listing, service.duration_minutes, first, first + timedelta(days=6), now
        )
        first += timedelta(days=7)
    slot = gen.rng.choice(found[: max(1, len(found) // 4)])
    booking, _created = bookings.create_booking(
        patient=patient,
        service_id=service.id,
        start_at=slot.start_at,
        location_id=slot.location_id,
        idempotency_key=f"demo-seed-{listing.slug}-{days}",
        now=now,
        policy=bookings.BookingPolicy.from_config(current_app.config),
        gateway=SimulatedGateway(),
    )
    return booking


def _pay(booking, now: datetime) -> None:
    confirm_payment(booking, f"sim_pi_{booking.id.hex}", now, SimulatedGateway())


def seed_demo(now: datetime) -> DemoResult:
    """Create the demo marketplace once; a second call changes nothing."""
    if get_user_by_email(ADMIN_EMAIL) is not None:
        return DemoResult(created=False)
    passwords = {email: password for _role, email, password in DEMO_CREDENTIALS}
    admin, _ = ensure_admin(ADMIN_EMAIL, passwords[ADMIN_EMAIL], "Demo Admin")
    patient = register_user(
        email=PATIENT_EMAIL,
        password=passwords[PATIENT_EMAIL],
        name="Riley Cooper",
        role=Role.PATIENT,
    )
    demo_owner = register_user(
        email=PRACTITIONER_EMAIL,
        password=passwords[PRACTITIONER_EMAIL],
        name="Jess Whitfield",
        role=Role.PRACTITIONER,
    )

    gen = Generator()
    approved: list[Practitioner] = []
    number = 0
    for index in range(APPROVED_PER_CITY):
        for city in CITIES:
            number += 1
            if not approved:
                spec = _demo_practitioner_spec(gen.spec(city, index, MYOTHERAPIST))
                owner = demo_owner
            else:
                spec = gen.spec(city, index)
                owner = _practitioner(_email(spec, number), f"{spec.first} {spec.last}")
            listing, locations = _build_listing(spec, owner)
            _add_exceptions(gen, listing, locations, now)
            # Rated before approval, which writes the listing's search document.
            _rate(gen.rng, listing)
            listings.submit_listing(listing, owner)
            review_listing(listing, "approve", admin)
            approved.append(listing)

    cities = list(CITIES)
    for index in range(PENDING_COUNT + 2):
        number += 1
        spec = gen.spec(cities[index % len(cities)], APPROVED_PER_CITY + index)
        owner = _practitioner(_email(spec, number), f"{spec.first} {spec.last}")
        if index < PENDING_COUNT:
            listing, _locations = _build_listing(spec, owner)
            listings.submit_listing(listing, owner)
        elif index == PENDING_COUNT:
            # A draft halfway through: a profile and a location, no services or hours yet.
            listing = listings.create_listing(owner, spec.display_name)
            listings.update_profile(listing, spec.profile)
            listings.create_location(listing, spec.locations[0])
        else:
            listings.create_listing(owner, spec.display_name)  # just signed up

    demo_listing, sydney, melbourne = approved[0], approved[5], approved[1]
    for listing, days in ((demo_listing, 2), (demo_listing, 6), (sydney, 3)):
        _pay(_book(gen, patient, listing, now, days), now)
    # Only bookings a patient could have made: a hold without its payment page could never
    # be paid, yet would count toward the unpaid-holds cap.
    _pay(_book(gen, patient, melbourne, now, 4), now)
    db.session.flush()
    return DemoResult(created=True, credentials=list(DEMO_CREDENTIALS))
