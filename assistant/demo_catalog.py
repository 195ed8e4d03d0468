"""Static reference data for the "Alder & Peak" demo retailer.

Everything here is fixed and small: countries (with cities, postal and phone formats, names,
streets and e-mail domains) and the helpers that format them, the seasonal calendar, the
product catalog and the marketing-campaign calendar. :mod:`assistant.demo_data` simulates
customers on top of these. Nothing in this module
depends on the random seed, so product names and campaign names are stable across builds and
can be referred to from the brand knowledge base.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

import numpy as np

BRAND = "Alder & Peak"

# -- people and places ---------------------------------------------------------------------

FIRST_NAMES: dict[str, tuple[list[str], list[str]]] = {  # language -> (female, male)
    "en": (
        ["Emma", "Olivia", "Sophia", "Ava", "Isabella", "Mia", "Charlotte", "Amelia", "Harper",
         "Emily", "Grace", "Chloe", "Hannah", "Lily", "Sarah", "Jessica", "Megan", "Rachel"],
        ["Liam", "Noah", "Oliver", "James", "William", "Benjamin", "Lucas", "Henry", "Jack",
         "Daniel", "Matthew", "Samuel", "Ethan", "Ryan", "Thomas", "Michael", "David", "Owen"],
    ),
    "de": (
        ["Anna", "Lena", "Leonie", "Marie", "Sophie", "Laura", "Julia", "Katharina", "Lea",
         "Johanna", "Clara", "Hanna", "Sabine", "Jana"],
        ["Lukas", "Leon", "Jonas", "Felix", "Maximilian", "Paul", "Tobias", "Jan", "Niklas",
         "Florian", "Stefan", "Moritz", "Jürgen", "Matthias"],
    ),
    "fr": (
        ["Camille", "Léa", "Manon", "Chloé", "Inès", "Jade", "Louise", "Emma", "Sarah",
         "Juliette", "Clémence", "Margaux", "Élodie", "Pauline"],
        ["Lucas", "Hugo", "Louis", "Gabriel", "Arthur", "Jules", "Théo", "Antoine", "Nicolas",
         "Maxime", "Julien", "Mathieu", "Thomas", "Baptiste"],
    ),
    "nl": (
        ["Sanne", "Lotte", "Emma", "Julia", "Anouk", "Fleur", "Eva", "Lisa", "Sophie", "Iris",
         "Femke", "Noor"],
        ["Daan", "Sem", "Lucas", "Bram", "Thijs", "Ruben", "Jesse", "Lars", "Milan", "Tim",
         "Joost", "Pieter"],
    ),
    "sv": (
        ["Alice", "Maja", "Elsa", "Astrid", "Wilma", "Ebba", "Saga", "Linnea", "Ida", "Klara",
         "Frida", "Ingrid"],
        ["Erik", "Lars", "Oskar", "Axel", "Elias", "Hugo", "Filip", "Viktor", "Anders", "Björn",
         "Johan", "Gustav"],
    ),
    "es": (
        ["Lucía", "María", "Paula", "Laura", "Carmen", "Sofía", "Elena", "Marta", "Alba",
         "Claudia", "Irene", "Ana"],
        ["Hugo", "Pablo", "Alejandro", "Daniel", "Javier", "Carlos", "David", "Sergio", "Álvaro",
         "Diego", "Manuel", "José"],
    ),
    "it": (
        ["Giulia", "Sofia", "Aurora", "Alice", "Martina", "Chiara", "Francesca", "Sara",
         "Elena", "Valentina", "Federica", "Giorgia"],
        ["Leonardo", "Francesco", "Alessandro", "Lorenzo", "Matteo", "Andrea", "Marco",
         "Luca", "Giuseppe", "Davide", "Riccardo", "Simone"],
    ),
}

LAST_NAMES: dict[str, list[str]] = {
    "en": ["Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson",
           "Taylor", "Anderson", "Thomas", "Moore", "Martin", "Clark", "Walker", "Hall", "Young",
           "King", "Wright", "Scott", "Green", "Baker", "Campbell", "Evans", "Murphy", "Cooper"],
    "de": ["Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker",
           "Schulz", "Hoffmann", "Koch", "Richter", "Klein", "Wolf", "Schröder", "Neumann",
           "Braun", "Zimmermann"],
    "fr": ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand",
           "Leroy", "Moreau", "Simon", "Laurent", "Lefèvre", "Michel", "Garcia", "Fontaine",
           "Rousseau", "Girard"],
    "nl": ["de Jong", "Jansen", "de Vries", "van den Berg", "van Dijk", "Bakker", "Janssen",
           "Visser", "Smit", "Meijer", "de Boer", "Mulder", "de Groot", "Bos", "Vos", "Peters"],
    "sv": ["Andersson", "Johansson", "Karlsson", "Nilsson", "Eriksson", "Larsson", "Olsson",
           "Persson", "Svensson", "Gustafsson", "Pettersson", "Jonsson", "Lindberg", "Lindqvist",
           "Berg", "Holm"],
    "es": ["García", "Rodríguez", "González", "Fernández", "López", "Martínez", "Sánchez",
           "Pérez", "Gómez", "Martín", "Jiménez", "Ruiz", "Hernández", "Díaz", "Moreno",
           "Álvarez"],
    "it": ["Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo", "Ricci",
           "Marino", "Greco", "Bruno", "Gallo", "Conti", "De Luca", "Costa", "Giordano"],
}

STREETS: dict[str, list[str]] = {
    "en": ["Maple Street", "Oak Avenue", "Pine Road", "Cedar Lane", "Elm Street", "Hillside Drive",
           "Lake View Road", "River Road", "Park Avenue", "Church Lane", "Mill Road",
           "Highland Avenue", "Station Road", "Forest Drive"],
    "de": ["Hauptstraße", "Bahnhofstraße", "Gartenstraße", "Schillerstraße", "Lindenweg",
           "Bergstraße", "Waldstraße", "Goethestraße", "Kirchweg", "Am Markt"],
    "fr": ["rue de la Paix", "rue Victor Hugo", "avenue Jean Jaurès", "rue des Lilas",
           "boulevard Pasteur", "rue du Moulin", "place de la Mairie", "rue de la Gare"],
    "nl": ["Kerkstraat", "Dorpsstraat", "Molenweg", "Stationsweg", "Schoolstraat", "Lindenlaan",
           "Beukenlaan", "Parallelweg"],
    "sv": ["Storgatan", "Kungsgatan", "Drottninggatan", "Skolgatan", "Kyrkogatan", "Björkvägen",
           "Sjövägen", "Parkvägen"],
    "es": ["Calle Mayor", "Calle Real", "Avenida de la Constitución", "Calle del Sol",
           "Paseo de la Estación", "Calle de la Iglesia", "Calle Nueva", "Plaza España"],
    "it": ["Via Roma", "Via Garibaldi", "Via Mazzini", "Corso Italia", "Via Dante",
           "Via Cavour", "Via Verdi", "Piazza della Repubblica"],
}


@dataclass(frozen=True)
class Country:
    """One market: language for names, currency, phone and postal formats, cities."""

    name: str
    weight: float
    lang: str
    currency: str
    dial_code: str
    mobile_prefixes: tuple[str, ...]  # first digits of a mobile number (empty: use area code)
    subscriber_digits: int
    postal_style: str  # digits5 | digits4 | uk | ca | nl | se
    address_style: str  # number_first | number_last | comma_number
    email_domains: tuple[str, ...]
    cities: tuple[tuple[str, float, str, str], ...]  # (city, weight, postal prefix, area code)


COUNTRIES: tuple[Country, ...] = (
    Country("United States", 0.34, "en", "USD", "+1", (), 7, "digits5", "number_first",
            ("gmail.com", "yahoo.com", "outlook.com", "icloud.com", "hotmail.com"),
            (("New York", 8.3, "100", "212"), ("Los Angeles", 3.9, "900", "213"),
             ("Chicago", 2.7, "606", "312"), ("Houston", 2.3, "770", "713"),
             ("Phoenix", 1.6, "850", "602"), ("Seattle", 1.4, "981", "206"),
             ("Denver", 1.4, "802", "303"), ("Portland", 1.2, "972", "503"),
             ("San Francisco", 1.2, "941", "415"), ("Boston", 1.1, "021", "617"),
             ("Austin", 1.0, "787", "512"), ("Salt Lake City", 0.8, "841", "801"),
             ("Minneapolis", 0.8, "554", "612"), ("Atlanta", 0.9, "303", "404"),
             ("Boulder", 0.4, "803", "720"))),
    Country("United Kingdom", 0.14, "en", "GBP", "+44", ("7",), 9, "uk", "number_first",
            ("gmail.com", "hotmail.co.uk", "outlook.com", "yahoo.co.uk", "btinternet.com"),
            (("London", 8.8, "SW", ""), ("Manchester", 2.7, "M", ""), ("Birmingham", 2.6, "B", ""),
             ("Leeds", 1.8, "LS", ""), ("Glasgow", 1.6, "G", ""), ("Edinburgh", 1.3, "EH", ""),
             ("Bristol", 1.0, "BS", ""), ("Sheffield", 0.9, "S", ""), ("Cardiff", 0.7, "CF", ""),
             ("Kendal", 0.3, "LA", ""), ("Inverness", 0.3, "IV", ""))),
    Country("Germany", 0.12, "de", "EUR", "+49", ("151", "160", "170", "176"), 8, "digits5",
            "number_last", ("gmail.com", "web.de", "gmx.de", "t-online.de", "outlook.de"),
            (("Berlin", 3.7, "10", ""), ("Hamburg", 1.9, "20", ""), ("München", 1.5, "80", ""),
             ("Köln", 1.1, "50", ""), ("Frankfurt am Main", 0.8, "60", ""),
             ("Stuttgart", 0.6, "70", ""), ("Düsseldorf", 0.6, "40", ""),
             ("Leipzig", 0.6, "04", ""), ("Dresden", 0.55, "01", ""),
             ("Freiburg im Breisgau", 0.25, "79", ""), ("Garmisch-Partenkirchen", 0.1, "82", ""))),
    Country("France", 0.08, "fr", "EUR", "+33", ("6", "7"), 8, "digits5", "number_first",
            ("gmail.com", "orange.fr", "free.fr", "laposte.net", "hotmail.fr"),
            (("Paris", 2.1, "750", ""), ("Marseille", 0.87, "130", ""), ("Lyon", 0.52, "690", ""),
             ("Toulouse", 0.49, "310", ""), ("Nice", 0.34, "060", ""), ("Nantes", 0.32, "440", ""),
             ("Bordeaux", 0.26, "330", ""), ("Lille", 0.23, "590", ""),
             ("Grenoble", 0.16, "380", ""), ("Annecy", 0.13, "740", ""),
             ("Chamonix-Mont-Blanc", 0.05, "744", ""))),
    Country("Canada", 0.08, "en", "CAD", "+1", (), 7, "ca", "number_first",
            ("gmail.com", "hotmail.com", "yahoo.ca", "outlook.com", "icloud.com"),
            (("Toronto", 2.8, "M", "416"), ("Montreal", 1.8, "H", "514"),
             ("Vancouver", 2.6, "V", "604"), ("Calgary", 1.3, "T", "403"),
             ("Ottawa", 1.0, "K", "613"), ("Edmonton", 1.0, "T", "780"),
             ("Quebec City", 0.55, "G", "418"), ("Winnipeg", 0.75, "R", "204"),
             ("Halifax", 0.44, "B", "902"), ("Whistler", 0.05, "V", "604"))),
    Country("Netherlands", 0.05, "nl", "EUR", "+31", ("6",), 8, "nl", "number_last",
            ("gmail.com", "ziggo.nl", "kpnmail.nl", "hotmail.nl", "outlook.com"),
            (("Amsterdam", 0.92, "10", ""), ("Rotterdam", 0.65, "30", ""),
             ("Den Haag", 0.55, "25", ""), ("Utrecht", 0.36, "35", ""),
             ("Eindhoven", 0.24, "56", ""), ("Groningen", 0.24, "97", ""),
             ("Nijmegen", 0.18, "65", ""), ("Arnhem", 0.16, "68", ""))),
    Country("Sweden", 0.04, "sv", "SEK", "+46", ("70", "72", "73", "76"), 7, "se",
            "number_last", ("gmail.com", "hotmail.se", "telia.com", "outlook.com", "icloud.com"),
            (("Stockholm", 0.98, "11", ""), ("Göteborg", 0.59, "41", ""),
             ("Malmö", 0.35, "21", ""), ("Uppsala", 0.24, "75", ""),
             ("Västerås", 0.13, "72", ""), ("Örebro", 0.13, "70", ""),
             ("Umeå", 0.13, "90", ""), ("Östersund", 0.06, "83", ""),
             ("Kiruna", 0.02, "98", ""))),
    Country("Australia", 0.06, "en", "AUD", "+61", ("4",), 8, "digits4", "number_first",
            ("gmail.com", "bigpond.com", "outlook.com", "icloud.com", "yahoo.com.au"),
            (("Sydney", 5.3, "20", ""), ("Melbourne", 5.1, "30", ""), ("Brisbane", 2.6, "40", ""),
             ("Perth", 2.1, "60", ""), ("Adelaide", 1.4, "50", ""), ("Canberra", 0.46, "26", ""),
             ("Hobart", 0.25, "70", ""), ("Gold Coast", 0.7, "42", ""))),
    Country("Spain", 0.05, "es", "EUR", "+34", ("6",), 8, "digits5", "comma_number",
            ("gmail.com", "hotmail.es", "yahoo.es", "outlook.es", "telefonica.net"),
            (("Madrid", 3.3, "28", ""), ("Barcelona", 1.6, "08", ""), ("Valencia", 0.8, "46", ""),
             ("Sevilla", 0.7, "41", ""), ("Zaragoza", 0.67, "50", ""), ("Málaga", 0.58, "29", ""),
             ("Bilbao", 0.35, "48", ""), ("Granada", 0.23, "18", ""))),
    Country("Italy", 0.04, "it", "EUR", "+39", ("32", "33", "34", "38"), 8, "digits5",
            "comma_number", ("gmail.com", "libero.it", "hotmail.it", "virgilio.it", "tiscali.it"),
            (("Roma", 2.8, "00", ""), ("Milano", 1.4, "20", ""), ("Napoli", 0.92, "80", ""),
             ("Torino", 0.85, "10", ""), ("Bologna", 0.39, "40", ""), ("Firenze", 0.37, "50", ""),
             ("Genova", 0.56, "16", ""), ("Verona", 0.26, "37", ""), ("Trento", 0.12, "38", ""),
             ("Bolzano", 0.11, "39", ""))),
)

# USD value of one unit of each currency (fixed demo rates).
FX_TO_USD: dict[str, float] = {
    "USD": 1.0, "GBP": 1.27, "EUR": 1.08, "CAD": 0.73, "SEK": 0.095, "AUD": 0.66,
}

ACQUISITION_CHANNELS = (
    "organic_search", "paid_search", "social", "email", "referral", "affiliate", "marketplace",
)
ACQUISITION_WEIGHTS = (0.30, 0.20, 0.17, 0.10, 0.10, 0.06, 0.07)
ORDER_CHANNELS = ("web", "app", "store", "marketplace")
GENDERS = ("female", "male", "unspecified")
GENDER_WEIGHTS = (0.47, 0.49, 0.04)


@lru_cache(maxsize=4096)
def ascii_slug(text: str) -> str:
    """Lower-case ASCII form of a name for e-mail addresses ("Björn Müller" -> "bjornmuller")."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return "".join(ch for ch in folded.lower() if ch.isalnum())


_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"


def postal_codes(country: Country, city_idx: np.ndarray, rng: np.random.Generator) -> list[str]:
    """Postal codes in the country's format, starting with the city's real prefix."""
    n = len(city_idx)
    prefixes = [country.cities[i][2] for i in city_idx.tolist()]
    digits = rng.integers(0, 1_000_000, n).tolist()
    letters = rng.integers(0, len(_LETTERS), (n, 2)).tolist()
    style = country.postal_style
    out: list[str] = []
    for p, x, (a, b) in zip(prefixes, digits, letters, strict=True):
        la, lb = _LETTERS[a], _LETTERS[b]
        if style == "uk":
            out.append(f"{p}{1 + x % 20} {x // 20 % 10}{la}{lb}")
        elif style == "ca":
            out.append(f"{p}{x % 10}{la} {x // 10 % 10}{lb}{x // 100 % 10}")
        elif style == "nl":
            out.append(f"{p}{x % 100:02d} {la}{lb}")
        else:
            width = 4 if style == "digits4" else 5
            fill = width - len(p)
            code = p + str(x % 10**fill).zfill(fill)
            out.append(f"{code[:3]} {code[3:]}" if style == "se" else code)
    return out


def phone_numbers(country: Country, city_idx: np.ndarray, rng: np.random.Generator) -> list[str]:
    """E.164 numbers: the city's area code in North America, a mobile number elsewhere."""
    n = len(city_idx)
    if not country.mobile_prefixes:
        subscriber = rng.integers(2_000_000, 10_000_000, n).tolist()
        areas = [country.cities[i][3] for i in city_idx.tolist()]
        return [f"{country.dial_code}{a}{s}" for a, s in zip(areas, subscriber, strict=True)]
    width = country.subscriber_digits
    pre = rng.integers(0, len(country.mobile_prefixes), n).tolist()
    subscriber = rng.integers(0, 10**width, n).tolist()
    return [
        f"{country.dial_code}{country.mobile_prefixes[p]}{s:0{width}d}"
        for p, s in zip(pre, subscriber, strict=True)
    ]


def street_addresses(country: Country, n: int, rng: np.random.Generator) -> list[str]:
    """House number and street, ordered the way the country writes them."""
    streets = STREETS[country.lang]
    names = [streets[i] for i in rng.integers(0, len(streets), n).tolist()]
    numbers = (1 + rng.geometric(0.015, n)).clip(1, 999).tolist()
    if country.address_style == "number_last":
        return [f"{s} {x}" for s, x in zip(names, numbers, strict=True)]
    if country.address_style == "comma_number":
        return [f"{s}, {x}" for s, x in zip(names, numbers, strict=True)]
    return [f"{x} {s}" for s, x in zip(names, numbers, strict=True)]


def contact_details(rng: np.random.Generator, ids: np.ndarray, country: np.ndarray,
                    gender: np.ndarray) -> dict[str, np.ndarray]:
    """Names, city, address, phone and a unique e-mail for customers `ids` (one per row of
    `country`/`gender`, indices into COUNTRIES/GENDERS), drawn country by country."""
    n = len(ids)
    out = {k: np.empty(n, object) for k in ("first_name", "last_name", "email", "phone",
                                             "city", "street_address", "postal_code")}
    for ci, ctry in enumerate(COUNTRIES):
        idx = np.flatnonzero(country == ci)
        k = len(idx)
        weights = np.array([c[1] for c in ctry.cities])
        city_idx = rng.choice(len(ctry.cities), k, p=weights / weights.sum())
        female, male = FIRST_NAMES[ctry.lang]
        is_female = (gender[idx] == 0) | ((gender[idx] == 2) & (rng.random(k) < 0.5))
        first = [female[int(u * len(female))] if f else male[int(u * len(male))]
                 for f, u in zip(is_female.tolist(), rng.random(k).tolist(), strict=True)]
        surnames = LAST_NAMES[ctry.lang]
        last = [surnames[i] for i in rng.integers(0, len(surnames), k).tolist()]
        domains = rng.choice(ctry.email_domains, k, p=[0.45, 0.2, 0.15, 0.1, 0.1]).tolist()
        short = (rng.random(k) < 0.3).tolist()
        out["first_name"][idx], out["last_name"][idx] = first, last
        out["email"][idx] = [  # "emma.smith123@..." or "esmith123@...": unique through the id
            f"{ascii_slug(f)[0] if s else ascii_slug(f) + '.'}{ascii_slug(la)}{i}@{d}"
            for f, la, i, d, s in zip(first, last, ids[idx].tolist(), domains, short,
                                      strict=True)
        ]
        out["city"][idx] = [ctry.cities[i][0] for i in city_idx.tolist()]
        out["phone"][idx] = phone_numbers(ctry, city_idx, rng)
        out["street_address"][idx] = street_addresses(ctry, k, rng)
        out["postal_code"][idx] = postal_codes(ctry, city_idx, rng)
    return out


# -- calendar -------------------------------------------------------------------------------

HISTORY_DAYS = 4 * 365  # signups and orders span this many days up to and including as_of
# Order intensity by month (Jan..Dec) and weekday (Mon..Sun); Black Friday week is boosted.
MONTH_INTENSITY = np.array([0.72, 0.68, 0.88, 1.08, 1.15, 1.12, 1.02, 0.95, 0.88, 0.95, 1.35, 1.6])
WEEKDAY_INTENSITY = np.array([0.96, 0.93, 0.95, 0.97, 1.02, 1.07, 1.10])
ONLINE_HOURS = np.array([1.0, 0.6, 0.4, 0.3, 0.3, 0.5, 1.2, 2.2, 3.0, 3.5, 3.8, 4.0, 4.4, 4.2,
                         4.0, 4.0, 4.2, 4.6, 5.2, 6.0, 6.4, 5.8, 4.2, 2.2])
STORE_HOURS = np.zeros(24)
STORE_HOURS[9:21] = [2.0, 3.5, 4.5, 5.0, 5.0, 5.2, 5.5, 5.5, 5.0, 4.2, 3.0, 1.5]


class Timeline:
    """Days 0..days-1 counted from `first_day`, with a seasonal purchase clock.

    `cum` is the cumulative order intensity at day boundaries: a customer with a constant
    purchase rate on the clock buys more in busy seasons once mapped back to calendar time.
    """

    def __init__(self, as_of: date) -> None:
        self.first_day = as_of - timedelta(days=HISTORY_DAYS - 1)
        self.days = HISTORY_DAYS
        dates = np.arange(np.datetime64(self.first_day), np.datetime64(as_of) + 1)
        self.month = dates.astype("datetime64[M]").astype(np.int64) % 12
        day_of_month = (dates - dates.astype("datetime64[M]")).astype(np.int64) + 1
        weekday = (dates.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday
        intensity = MONTH_INTENSITY[self.month] * WEEKDAY_INTENSITY[weekday]
        black_friday = (self.month == 10) & (day_of_month >= 24) & (day_of_month <= 30)
        intensity[black_friday] *= 1.8
        self.intensity = intensity / intensity.mean()
        summer_sale = ((self.month == 6) & (day_of_month >= 10)) | (
            (self.month == 7) & (day_of_month <= 10))
        self.sale = ((self.month == 0) & (day_of_month >= 2)) | black_friday | summer_sale
        self.grid = np.arange(self.days + 1, dtype=np.float64)
        self.cum = np.concatenate([[0.0], np.cumsum(self.intensity)])

    def to_clock(self, t: np.ndarray) -> np.ndarray:
        """Calendar time (days since first_day) -> purchase-clock time."""
        return np.interp(t, self.grid, self.cum)

    def from_clock(self, x: np.ndarray) -> np.ndarray:
        """Purchase-clock time -> calendar time (days since first_day)."""
        return np.interp(x, self.cum, self.grid)

    def signup_times(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """`n` sorted signup times (days): growing ~3x over the window, mildly seasonal."""
        weight = self.intensity**0.6 * np.exp(1.1 * np.arange(self.days) / self.days)
        cdf = np.cumsum(weight) / weight.sum()
        day = np.minimum(np.searchsorted(cdf, rng.random(n), side="right"), self.days - 1)
        return np.sort(day + rng.random(n))


def time_of_day(frac: np.ndarray, store: np.ndarray) -> np.ndarray:
    """Map a uniform fraction of a day onto the store or online hour profile (monotone)."""
    out = np.empty_like(frac)
    for mask, weights in ((store, STORE_HOURS), (~store, ONLINE_HOURS)):
        cdf = np.concatenate([[0.0], np.cumsum(weights) / weights.sum()])
        out[mask] = np.interp(frac[mask], cdf, np.arange(25.0)) / 24.0
    return np.minimum(out, 86_399 / 86_400)


# -- products -------------------------------------------------------------------------------

CATEGORIES = (
    "Tents", "Sleeping Bags", "Backpacks", "Footwear", "Jackets", "Apparel", "Climbing",
    "Camp Kitchen", "Accessories",
)
# Share of items per category in an average month.
CATEGORY_WEIGHTS = np.array([0.09, 0.07, 0.11, 0.15, 0.14, 0.20, 0.07, 0.07, 0.10])
# Month (1..12) multipliers per category: camping gear in spring/summer, jackets in winter.
_SEASON = {
    "Tents": (0.5, 0.6, 0.9, 1.5, 1.7, 1.6, 1.4, 1.1, 0.8, 0.6, 0.6, 0.7),
    "Sleeping Bags": (0.6, 0.6, 0.9, 1.4, 1.5, 1.4, 1.3, 1.1, 0.9, 0.8, 0.8, 0.9),
    "Camp Kitchen": (0.6, 0.6, 0.9, 1.3, 1.5, 1.5, 1.4, 1.1, 0.8, 0.7, 0.8, 1.0),
    "Jackets": (1.3, 1.1, 0.9, 0.7, 0.5, 0.4, 0.4, 0.6, 1.0, 1.5, 1.7, 1.6),
    "Footwear": (0.8, 0.8, 1.2, 1.3, 1.2, 1.0, 0.9, 1.0, 1.2, 1.0, 0.9, 0.9),
    "Accessories": (0.8, 0.8, 0.9, 1.0, 1.0, 1.0, 1.0, 0.9, 0.9, 1.0, 1.2, 1.6),
}
CATEGORY_MONTH_WEIGHTS = np.array(
    [[CATEGORY_WEIGHTS[c] * _SEASON.get(name, (1.0,) * 12)[m] for c, name in enumerate(CATEGORIES)]
     for m in range(12)]
)
CATEGORY_MONTH_WEIGHTS /= CATEGORY_MONTH_WEIGHTS.sum(axis=1, keepdims=True)

# category -> [(subcategory, model names, (min price, max price) in USD)]
_CATALOG: dict[str, list[tuple[str, tuple[str, ...], tuple[int, int]]]] = {
    "Tents": [
        ("Backpacking Tents", ("1P Tent", "2P Tent", "UL 2P Tent", "3P Tent"), (179, 649)),
        ("Family Tents", ("4P Tent", "6P Cabin Tent"), (279, 799)),
        ("Shelters", ("Tarp", "Bivy"), (59, 249)),
    ],
    "Sleeping Bags": [
        ("Down Sleeping Bags", ("20 Down Bag", "0 Down Bag", "Down Quilt"), (199, 499)),
        ("Synthetic Sleeping Bags", ("35 Synthetic Bag", "Kids Sleeping Bag"), (69, 179)),
        ("Sleeping Pads", ("Air Pad", "Self-Inflating Mat", "Foam Pad"), (29, 189)),
    ],
    "Backpacks": [
        ("Hiking Daypacks", ("22 Daypack", "28 Daypack", "Hydration Pack"), (59, 159)),
        ("Backpacking Packs", ("55 Pack", "65 Pack", "Ultralight 45 Pack"), (189, 349)),
        ("Travel & Duffels", ("40L Duffel", "Travel Pack"), (79, 199)),
    ],
    "Footwear": [
        ("Hiking Boots", ("Mid GTX Boot", "Leather Hiking Boot"), (159, 279)),
        ("Trail Runners", ("Trail Runner", "Trail Runner GTX"), (119, 179)),
        ("Approach Shoes", ("Approach Shoe",), (129, 189)),
        ("Camp Shoes & Sandals", ("Camp Sandal", "Recovery Slide"), (39, 99)),
    ],
    "Jackets": [
        ("Rain Jackets", ("Rain Shell", "3L Storm Jacket"), (129, 399)),
        ("Insulated Jackets", ("Down Jacket", "Synthetic Hoody", "Down Parka"), (169, 449)),
        ("Softshells & Fleece", ("Softshell Jacket", "Fleece Jacket"), (89, 199)),
    ],
    "Apparel": [
        ("Base Layers", ("Merino Crew", "Merino Bottoms"), (59, 109)),
        ("Hiking Pants & Shorts", ("Hiking Pant", "Convertible Pant", "Trail Short"), (49, 119)),
        ("Shirts & Tees", ("Sun Hoody", "Logo Tee", "Flannel Shirt"), (25, 79)),
        ("Socks, Hats & Gloves", ("Hiking Socks", "Beanie", "Liner Gloves"), (15, 45)),
    ],
    "Climbing": [
        ("Harnesses & Helmets", ("Harness", "Climbing Helmet"), (59, 129)),
        ("Ropes & Protection", ("9.5 Rope", "Locking Carabiner", "Quickdraw Set"), (14, 249)),
        ("Climbing Shoes & Chalk", ("Climbing Shoe", "Chalk Bag"), (19, 169)),
    ],
    "Camp Kitchen": [
        ("Stoves & Fuel", ("Canister Stove", "Stove System", "Fuel Canister"), (7, 159)),
        ("Cookware", ("Titanium Pot", "Cook Set", "Spork"), (9, 99)),
        ("Hydration & Coolers", ("Insulated Bottle", "Water Filter", "Soft Cooler"), (25, 179)),
    ],
    "Accessories": [
        ("Headlamps & Lighting", ("Headlamp", "Camp Lantern"), (25, 69)),
        ("Trekking Poles", ("Carbon Trekking Poles", "Aluminium Trekking Poles"), (69, 169)),
        ("Navigation & Safety", ("First Aid Kit", "Emergency Bivvy", "Compass"), (15, 59)),
        ("Care & Repair", ("Gear Wash", "Repair Kit", "Dry Bag"), (9, 39)),
    ],
}
SERIES = (
    "Ridgeline", "Summit", "Cascade", "Timberline", "Basecamp", "Switchback", "Talus", "Cirrus",
    "Sierra", "Glacier", "Alpenglow", "Trailhead", "Kestrel", "Granite", "Tamarack", "Cairn",
    "Halcyon", "Aspen", "Meridian", "Fjord",
)
_COST_RATE = {"Apparel": (0.32, 0.45), "Accessories": (0.35, 0.50), "Footwear": (0.45, 0.58)}


@dataclass(frozen=True)
class Catalog:
    """The product catalog as column arrays (index i is product_id i + 1)."""

    names: list[str]
    categories: np.ndarray  # int index into CATEGORIES
    subcategories: list[str]
    price_cents: np.ndarray  # USD list price
    cost_cents: np.ndarray
    launch_offset_days: np.ndarray  # launched this many days before as_of
    popularity: np.ndarray  # relative sales weight within the category

    def __len__(self) -> int:
        return len(self.names)


def build_catalog() -> Catalog:
    """Return the fixed ~250-product catalog (same for every seed)."""
    rng = np.random.default_rng(20_240_501)
    names: list[str] = []
    cats: list[int] = []
    subs: list[str] = []
    prices: list[int] = []
    costs: list[int] = []
    for c, category in enumerate(CATEGORIES):
        for sub, models, (lo, hi) in _CATALOG[category]:
            for model in models:
                n_series = 3 if hi >= 100 else 2
                for series in rng.choice(SERIES, size=n_series, replace=False):
                    price = float(rng.uniform(lo, hi))
                    price_cents = max(int(round(price / 5.0)) * 500 - 5, 495)  # e.g. 199.95
                    c_lo, c_hi = _COST_RATE.get(category, (0.40, 0.55))
                    names.append(f"{series} {model}")
                    cats.append(c)
                    subs.append(sub)
                    prices.append(price_cents)
                    costs.append(int(round(price_cents * rng.uniform(c_lo, c_hi))))
    n = len(names)
    launched_recently = rng.random(n) < 0.25
    offset = np.where(
        launched_recently, rng.integers(30, 4 * 365, n), rng.integers(4 * 365 + 30, 10 * 365, n)
    )
    return Catalog(
        names=names,
        categories=np.array(cats, dtype=np.int64),
        subcategories=subs,
        price_cents=np.array(prices, dtype=np.int64),
        cost_cents=np.array(costs, dtype=np.int64),
        launch_offset_days=offset.astype(np.int64),
        popularity=rng.lognormal(0.0, 0.8, n),
    )


def local_price_cents(usd_cents: np.ndarray, currency: str) -> np.ndarray:
    """Localised shelf prices: converted and rounded to a price point (x.95, or x9 kr in SEK)."""
    local = usd_cents / 100.0 / FX_TO_USD[currency]
    if currency == "SEK":
        return (np.round(local / 10.0) * 10 - 1).clip(9).astype(np.int64) * 100
    return (np.round(local) * 100 - 5).clip(95).astype(np.int64)


# -- campaigns ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Campaign:
    """One marketing campaign; `pct_off`/`free_shipping`/`category` are its offer's effect."""

    name: str
    channel: str
    start: date
    end: date
    offer: str
    target_segment: str
    pct_off: int = 0
    category: str | None = None
    free_shipping: bool = False


# (month, day, days, name, offer, pct_off, category, free_shipping, target, channels)
_SEASONAL: tuple[tuple[int, int, int, str, str, int, str | None, bool, str, str], ...] = (
    (1, 6, 10, "New Year Trail Reset", "10% off sitewide", 10, None, False, "active", "email"),
    (2, 10, 14, "Winter Clearance", "25% off Jackets", 25, "Jackets", False, "all", "email,push"),
    (3, 18, 14, "New Season Arrivals", "No offer", 0, None, False, "active", "email,social"),
    (4, 12, 21, "Spring Camping Kickoff", "15% off Tents", 15, "Tents", False, "all",
     "email,sms,social,paid_search"),
    (5, 20, 10, "Memorial Weekend Sale", "20% off Sleeping Bags", 20, "Sleeping Bags", False,
     "all", "email,sms"),
    (6, 15, 14, "Summer Trail Sale", "20% off Footwear", 20, "Footwear", False, "all",
     "email,sms,push,paid_search"),
    (7, 10, 7, "Midsummer Flash Sale", "15% off sitewide", 15, None, False, "active",
     "email,push"),
    (8, 20, 14, "Back to the Trail", "Free shipping", 0, None, True, "lapsed", "email"),
    (9, 15, 14, "Autumn Layers", "15% off Jackets", 15, "Jackets", False, "all",
     "email,social,paid_search"),
    (10, 14, 10, "Win-Back Offer", "20% off sitewide", 20, None, False, "lapsed", "email,sms"),
    (11, 20, 3, "VIP Early Access", "25% off sitewide", 25, None, False, "vip", "email,sms"),
    (11, 24, 8, "Black Friday", "25% off sitewide", 25, None, False, "all",
     "email,sms,push,social,paid_search"),
    (12, 5, 14, "Holiday Gift Guide", "Free shipping", 0, None, True, "all",
     "email,social,paid_search"),
)


def build_campaigns(first_day: date, as_of: date) -> list[Campaign]:
    """Campaign calendar from `first_day` to `as_of`: a monthly e-mail newsletter, seasonal
    promotions across channels, and a welcome series. SMS and push start in the second year."""
    out: list[Campaign] = []
    sms_launch = first_day + timedelta(days=365)
    for year in range(first_day.year, as_of.year + 1):
        for month in range(1, 13):
            start = date(year, month, 1) + timedelta(days=(1 - date(year, month, 1).weekday()) % 7)
            out.append(Campaign(f"{start:%B %Y} Newsletter", "email", start,
                                start + timedelta(days=6), "No offer", "all"))
        for month, day, days, name, offer, pct, cat, ship, target, channels in _SEASONAL:
            start = date(year, month, day)
            for channel in channels.split(","):
                if channel in ("sms", "push") and start < sms_launch:
                    continue
                label = f"{name} {year}" + ("" if channel == "email" else f" ({channel})")
                out.append(Campaign(label, channel, start, start + timedelta(days=days - 1),
                                    offer, target if channel in ("email", "sms") else "all",
                                    pct, cat, ship))
    out = [c for c in out if first_day <= c.start <= as_of]
    out.sort(key=lambda c: (c.start, c.channel, c.name))
    return out
