"""Round-3 development layouts (issue 16): hotel bookings, B2B invoices, a subscription-box log.

Written to exercise the failure classes of the adversarial round: superlatives and aggregates over a
measure ("most expensive", "cheapest", "biggest", "average X per Y", "share over 5000"), two values
of one column compared ("ME vs OR"), ordinary status words (paid, unpaid, booked, outstanding),
bare months and quarters when the data ends well before "today", and follow-ups.
Imported by make_sets.py (its GENERATORS), so `python tests/data/answers/make_sets.py` rewrites
these CSVs byte for byte too. All rows are invented here (CC0).
"""

from __future__ import annotations

import datetime as dt
import random

Row = list[object]


def _pick(rng: random.Random, weighted: dict[str, float]) -> str:
    return rng.choices(list(weighted), weights=list(weighted.values()))[0]


def _dates(rng: random.Random, n: int, start: dt.date, end: dt.date) -> list[dt.date]:
    span = (end - start).days
    return sorted(start + dt.timedelta(days=int(span * rng.random())) for _ in range(n))


_FIRST = ["olivia", "liam", "emma", "noah", "ava", "mia", "lucas", "zoe", "kai", "priya", "arjun", "yuki", "lena",
          "jonas", "camille", "hugo", "sofia", "diego", "fatima", "omar", "grace", "owen", "ruby", "felix"]
_LAST = ["smith", "garcia", "nguyen", "patel", "kim", "muller", "rossi", "martin", "dubois", "wilson", "lee", "young",
         "lopez", "murphy", "novak", "jansen", "silva", "ito"]


def _emails(rng: random.Random, n: int) -> list[str]:
    out: list[str] = []
    while len(out) < n:
        email = f"{rng.choice(_FIRST)}.{rng.choice(_LAST)}{rng.randint(1, 99)}@example.com"
        if email not in out:
            out.append(email)
    return out


HOTEL_HEADER = ["Booking ID", "Guest Email", "Booked On", "Check-in", "Nights", "Room Type", "Room Rate", "Total Price",
                "Status", "Channel", "Guest Country", "Breakfast Included"]


def make_hotel(rng: random.Random) -> dict[str, tuple[list[str], list[Row]]]:
    """~260 bookings of a small hotel, Jan 2024 – Sep 2025 (the set's "today" is months later)."""
    rooms = {"Standard": (45, 89.0, 129.0), "Deluxe": (28, 139.0, 189.0), "Family": (15, 169.0, 229.0),
             "Suite": (12, 289.0, 420.0)}
    guests = _emails(rng, 150)
    rows: list[Row] = []
    for n, booked in enumerate(_dates(rng, 260, dt.date(2024, 1, 1), dt.date(2025, 9, 30))):
        room = _pick(rng, {k: v[0] for k, v in rooms.items()})
        _, lo, hi = rooms[room]
        rate = round(rng.uniform(lo, hi) / 5) * 5 - 1.0
        nights = rng.choices([1, 2, 3, 4, 5, 7], weights=[18, 30, 22, 14, 9, 7])[0]
        status = _pick(rng, {"Checked Out": 62, "Confirmed": 18, "Cancelled": 14, "No-Show": 6})
        rows.append([
            f"BK-{10_001 + n}", rng.choice(guests), booked.isoformat(),
            (booked + dt.timedelta(days=rng.randint(3, 90))).isoformat(), nights, room, f"{rate:.2f}",
            f"{rate * nights:.2f}", status, _pick(rng, {"Direct": 34, "Booking.com": 30, "Expedia": 22, "Airbnb": 14}),
            _pick(rng, {"US": 30, "GB": 20, "DE": 18, "FR": 14, "ES": 10, "NL": 8}),
            "Yes" if rng.random() < 0.45 else "No",
        ])
    return {"bookings.csv": (HOTEL_HEADER, rows)}


B2B_HEADER = ["Invoice Number", "Client", "Industry", "Region", "Sales Rep", "Issue Date", "Due Date", "Paid Date",
              "Amount", "Paid", "Terms"]


def make_b2b(rng: random.Random) -> dict[str, tuple[list[str], list[Row]]]:
    """~220 invoices of a B2B services firm, US state codes as regions (ME, OR, IN among them)."""
    a = ["Apex", "Cedar", "Granite", "Harbor", "Juniper", "Keystone", "Liberty", "Summit", "Pioneer", "River"]
    b = ["Foods", "Logistics", "Clinics", "Robotics", "Outfitters", "Labs", "Builders", "Media"]
    industries = {"Foods": "Retail", "Outfitters": "Retail", "Logistics": "Manufacturing", "Builders": "Manufacturing",
                  "Robotics": "Software", "Labs": "Software", "Media": "Software", "Clinics": "Healthcare"}
    clients = []
    for _ in range(34):
        name = f"{rng.choice(a)} {rng.choice(b)}"
        if name not in [c[0] for c in clients]:
            clients.append((name, industries[name.split()[1]],
                            _pick(rng, {"TX": 14, "CA": 12, "NY": 10, "ME": 6, "OR": 8, "IN": 7, "WA": 6})))
    reps = ["Dana Reyes", "Sam Okafor", "Lee Park", "Mia Jensen"]
    rows: list[Row] = []
    for n, issued in enumerate(_dates(rng, 220, dt.date(2024, 7, 1), dt.date(2025, 10, 31))):
        client, industry, region = rng.choice(clients)
        terms = _pick(rng, {"Net 30": 65, "Net 60": 35})
        due = issued + dt.timedelta(days=30 if terms == "Net 30" else 60)
        amount = round(rng.lognormvariate(8.2, 0.7) / 10) * 10 + rng.choice([0, 0.5])
        paid = rng.random() < (0.9 if issued < dt.date(2025, 7, 1) else 0.55)
        paid_on = (issued + dt.timedelta(days=rng.randint(5, 75))) if paid else None
        if paid_on is not None and paid_on > dt.date(2025, 11, 10):
            paid_on = dt.date(2025, 11, 10)
        rows.append([f"INV-{2_001 + n}", client, industry, region, rng.choice(reps), issued.isoformat(), due.isoformat(),
                     paid_on.isoformat() if paid_on else "", f"{amount:.2f}", "TRUE" if paid else "FALSE", terms])
    return {"invoices.csv": (B2B_HEADER, rows)}


BOX_HEADER = ["subscriber_id", "email", "box_plan", "monthly_price", "boxes_shipped", "start_date", "cancel_date",
              "active", "gift", "state", "acquisition_channel", "lifetime_billed"]


def make_boxes(rng: random.Random) -> dict[str, tuple[list[str], list[Row]]]:
    """~200 subscribers of a meal-kit box, Sep 2023 – Aug 2025, 1/0 and true/false flags."""
    plans = {"Classic": (40, 39.0), "Vegan": (20, 44.0), "Family": (25, 69.0), "Premium": (15, 89.0)}
    emails = _emails(rng, 200)
    rows: list[Row] = []
    end = dt.date(2025, 8, 31)
    for n, start in enumerate(_dates(rng, 200, dt.date(2023, 9, 1), end)):
        plan = _pick(rng, {k: v[0] for k, v in plans.items()})
        price = plans[plan][1] - rng.choice([0, 0, 5])
        cancelled = rng.random() < 0.35 and (end - start).days > 40
        stop = start + dt.timedelta(days=rng.randint(30, max(31, (end - start).days))) if cancelled else end
        stop = min(stop, end)
        boxes = max(1, (stop - start).days // 30)
        rows.append([
            f"S{5_000 + n}", emails[n], plan, f"{price:.2f}", boxes, start.isoformat(),
            stop.isoformat() if cancelled else "", 0 if cancelled else 1, "true" if rng.random() < 0.2 else "false",
            _pick(rng, {"CA": 20, "NY": 16, "TX": 14, "ME": 6, "OR": 9, "WA": 8, "IL": 9}),
            _pick(rng, {"Instagram": 30, "Google": 25, "Referral": 20, "Podcast": 15, "TikTok": 10}),
            f"{price * boxes:.2f}",
        ])
    return {"subscribers.csv": (BOX_HEADER, rows)}
