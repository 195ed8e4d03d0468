"""Write the held-out data sets for the answer-accuracy harness (issues 16/17).

Run from anywhere: ``python tests/data/answers/heldout/make_heldout.py``. The output is
deterministic (fixed seeds, no clock, no hash ordering), so re-running it rewrites the committed
CSV files byte for byte; the question files (``questions.yaml`` in each set) are written by hand.

Why a separate generator: the held-out sets measure the question parser on export layouts the
developers never saw. Column headers follow the documented public export formats named in each
set's ``source``; every row is synthetic (CC0) and invented here, so nothing identifies a person.

Sets written:
- square_items/items.csv            Square POS "Item Sales" export (one row per line item)
- salesforce_crm/accounts.csv,
  salesforce_crm/opportunities.csv  Salesforce Data Loader export of Account and Opportunity
- eventbrite_attendees/attendees.csv  Eventbrite "Attendee Summary" report (one row per ticket)
- club_members/members.csv          a fitness-club member list with yes/no flags and state codes
"""

from __future__ import annotations

import csv
import datetime as dt
import random
import string
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _write(path: Path, header: list[str], rows: list[list[object]]) -> None:
    """Write one CSV with Unix newlines; every value is written as its str()."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(header)
        for row in rows:
            writer.writerow(["" if v is None else v for v in row])


def _money(x: float) -> str:
    """Square's money text: "$1,234.50", negatives as "-$4.00"."""
    sign = "-" if x < 0 else ""
    return f"{sign}${abs(x):,.2f}"


def _token(rng: random.Random, n: int, alphabet: str = string.ascii_uppercase + string.digits) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def _day(rng: random.Random, start: dt.date, end: dt.date) -> dt.date:
    return start + dt.timedelta(days=rng.randrange((end - start).days + 1))


# --------------------------------------------------------------------------- Square item sales

SQUARE_HEADER = [
    "Date", "Time", "Time Zone", "Category", "Item", "Qty", "Price Point Name", "SKU",
    "Modifiers Applied", "Gross Sales", "Discounts", "Net Sales", "Tax", "Transaction ID",
    "Payment ID", "Device Name", "Notes", "Event Type", "Location", "Customer ID",
    "Customer Name", "Customer Reference ID", "Unit", "Count", "Itemization Type", "Channel",
]

# category -> [(item, [(price point, price)], sku prefix, itemization type)]
SQUARE_CATALOG: dict[str, list[tuple[str, list[tuple[str, float]], str, str]]] = {
    "Houseplants": [
        ("Monstera Deliciosa", [("6 in", 32.0), ("10 in", 58.0)], "HP-MON", "Physical Item"),
        ("Snake Plant", [("4 in", 18.0), ("8 in", 36.0)], "HP-SNK", "Physical Item"),
        ("Pothos Golden", [("4 in", 14.0), ("Hanging", 28.0)], "HP-POT", "Physical Item"),
        ("Fiddle Leaf Fig", [("10 in", 64.0)], "HP-FLF", "Physical Item"),
        ("ZZ Plant", [("6 in", 26.0)], "HP-ZZP", "Physical Item"),
    ],
    "Pots & Planters": [
        ("Terracotta Pot", [("4 in", 6.0), ("8 in", 14.0)], "PP-TER", "Physical Item"),
        ("Glazed Ceramic Planter", [("Small", 22.0), ("Large", 45.0)], "PP-GLZ", "Physical Item"),
        ("Macrame Hanger", [("Regular", 19.0)], "PP-MAC", "Physical Item"),
    ],
    "Soil & Care": [
        ("Aroid Potting Mix", [("4 qt", 12.0), ("8 qt", 20.0)], "SC-ARO", "Physical Item"),
        ("Liquid Plant Food", [("8 oz", 11.0)], "SC-FOO", "Physical Item"),
        ("Neem Oil Spray", [("Regular", 13.0)], "SC-NEE", "Physical Item"),
    ],
    "Gifts": [
        ("Gift Card", [("$25", 25.0), ("$50", 50.0)], "GF-GCD", "Gift Card"),
        ("Botanical Candle", [("Regular", 24.0)], "GF-CAN", "Physical Item"),
    ],
    "Workshops": [
        ("Repotting Workshop", [("Seat", 35.0)], "WS-REP", "Service"),
        ("Terrarium Workshop", [("Seat", 55.0)], "WS-TER", "Service"),
    ],
}
SQUARE_CATEGORY_WEIGHTS = {"Houseplants": 5, "Pots & Planters": 3, "Soil & Care": 3, "Gifts": 1, "Workshops": 1}
SQUARE_FIRST = ["Maya", "Jonah", "Priya", "Luis", "Hana", "Omar", "Greta", "Theo", "Ines", "Caleb",
                "Zoe", "Ravi", "Nora", "Felix", "Ada", "Marco", "Lena", "Sam", "Tess", "Diego"]
SQUARE_LAST = ["Okafor", "Lindqvist", "Tanaka", "Reyes", "Novak", "Haddad", "Brennan", "Costa",
               "Walsh", "Iyer", "Moreau", "Kim", "Schultz", "Adeyemi", "Park"]


def make_square(out: Path) -> int:
    rng = random.Random(4101)
    customers: list[tuple[str, str, str]] = []
    names: set[str] = set()
    while len(customers) < 40:
        name = f"{rng.choice(SQUARE_FIRST)} {rng.choice(SQUARE_LAST)}"
        if name in names:  # one name per customer, so "top customer" names one person
            continue
        names.add(name)
        i = len(customers)
        customers.append((_token(rng, 26), name, f"LOYAL-{1000 + i}" if rng.random() < 0.5 else ""))
    start, end = dt.date(2025, 4, 1), dt.date(2025, 10, 19)
    categories = list(SQUARE_CATEGORY_WEIGHTS)
    weights = [SQUARE_CATEGORY_WEIGHTS[c] for c in categories]
    rows: list[list[object]] = []
    for _ in range(105):
        day = _day(rng, start, end)
        time = f"{rng.randrange(9, 19):02d}:{rng.randrange(60):02d}:{rng.randrange(60):02d}"
        txn, pay = _token(rng, 22, string.ascii_letters + string.digits), _token(rng, 22, string.ascii_letters + string.digits)
        location = "Riverside" if rng.random() < 0.4 else "Downtown"
        online = rng.random() < 0.2
        channel = "Square Online" if online else "Square Point of Sale"
        device = "" if online else f"{location} Counter {rng.randrange(1, 3)}"
        cust = rng.choice(customers) if (online or rng.random() < 0.55) else ("", "", "")
        member_discount = rng.random() < 0.2
        for _ in range(rng.choice([1, 1, 2, 2, 3])):
            cat = rng.choices(categories, weights)[0]
            item, points, sku, itype = rng.choice(SQUARE_CATALOG[cat])
            point, price = rng.choice(points)
            qty = 1 if cat in ("Workshops", "Gifts") or rng.random() < 0.7 else rng.randrange(2, 4)
            modifiers = "Gift Wrap" if cat != "Workshops" and rng.random() < 0.08 else ""
            gross = price * qty + (4.0 if modifiers else 0.0)
            discount = -round(gross * 0.1, 2) if member_discount and itype != "Gift Card" else 0.0
            net = round(gross + discount, 2)
            tax = 0.0 if itype == "Gift Card" else round(net * 0.0875, 2)
            event = "Payment"
            sign = 1
            if rng.random() < 0.04:
                event, sign = "Refund", -1
            rows.append([
                day.isoformat(), time, "Pacific Time (US & Canada)", cat, item, sign * qty, point,
                f"{sku}-{point.replace(' ', '').replace('$', '')}".upper(), modifiers,
                _money(sign * gross), _money(sign * discount), _money(sign * net), _money(sign * tax),
                txn, pay, device, "", event, location, cust[0], cust[1], cust[2], "ea",
                sign * qty, itype, channel,
            ])
    rows.sort(key=lambda r: (str(r[0]), str(r[1])), reverse=True)
    _write(out / "square_items" / "items.csv", SQUARE_HEADER, rows)
    return len(rows)


# --------------------------------------------------------------------------- Salesforce

ACCOUNT_HEADER = [
    "Id", "Name", "Type", "Industry", "BillingCity", "BillingState", "BillingCountry",
    "AnnualRevenue", "NumberOfEmployees", "Rating", "AccountSource", "CreatedDate",
]
OPPORTUNITY_HEADER = [
    "Id", "AccountId", "Name", "StageName", "Amount", "Probability", "CloseDate", "Type",
    "LeadSource", "IsClosed", "IsWon", "ForecastCategoryName", "CreatedDate",
]
SF_CITIES = [
    ("Indianapolis", "IN"), ("Fort Wayne", "IN"), ("Portland", "OR"), ("Eugene", "OR"),
    ("Portland", "ME"), ("Bangor", "ME"), ("Austin", "TX"), ("Dallas", "TX"), ("Chicago", "IL"),
    ("Boston", "MA"), ("Denver", "CO"), ("Tulsa", "OK"), ("Seattle", "WA"), ("San Jose", "CA"),
    ("Atlanta", "GA"), ("New York", "NY"),
]
SF_INDUSTRIES = ["Technology", "Healthcare", "Retail", "Manufacturing", "Education",
                 "Financial Services", "Media"]
SF_NAME_A = ["Blue", "North", "Summit", "Clear", "Iron", "Cedar", "Bright", "Harbor", "Pioneer",
             "Silver", "Granite", "Maple", "Lumen", "Vertex", "Prairie", "Coastal"]
SF_NAME_B = ["Analytics", "Health", "Outfitters", "Works", "Learning", "Capital", "Media",
             "Logistics", "Foods", "Systems", "Clinics", "Studios"]
SF_PRODUCTS = ["Platform License", "Onboarding Package", "Analytics Add-on", "Support Renewal",
               "Seat Expansion", "Pilot"]
SF_STAGES_OPEN = [("Prospecting", 10, "Pipeline"), ("Qualification", 20, "Pipeline"),
                  ("Needs Analysis", 40, "Pipeline"), ("Proposal/Price Quote", 60, "Best Case"),
                  ("Negotiation/Review", 80, "Commit")]
SF_OPP_TYPES = ["New Customer", "Existing Customer - Upgrade", "Existing Customer - Replacement",
                "Existing Customer - Downgrade"]
SF_LEAD_SOURCES = ["Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other"]


def _sfid(rng: random.Random, prefix: str) -> str:
    return prefix + _token(rng, 15, string.ascii_letters + string.digits)


def _sf_ts(rng: random.Random, day: dt.date) -> str:
    return f"{day.isoformat()}T{rng.randrange(24):02d}:{rng.randrange(60):02d}:{rng.randrange(60):02d}.000Z"


def make_salesforce(out: Path) -> tuple[int, int]:
    rng = random.Random(4202)
    accounts: list[list[object]] = []
    used: set[str] = set()
    while len(accounts) < 72:
        name = f"{rng.choice(SF_NAME_A)} {rng.choice(SF_NAME_B)}"
        if name in used:
            continue
        used.add(name)
        city, state = rng.choice(SF_CITIES)
        employees = rng.choice([12, 25, 40, 80, 150, 320, 600, 1200, 4500])
        revenue = employees * rng.randrange(90, 260) * 1000
        acc_type = rng.choices(["Customer - Direct", "Customer - Channel", "Prospect", "Partner"],
                               [5, 2, 4, 1])[0]
        created = _day(rng, dt.date(2022, 1, 10), dt.date(2025, 6, 30))
        accounts.append([
            _sfid(rng, "001"), name, acc_type, rng.choice(SF_INDUSTRIES), city, state,
            "United States", revenue, employees, rng.choice(["Hot", "Warm", "Warm", "Cold"]),
            rng.choice(["Web", "Partner Referral", "Trade Show", "Phone Inquiry"]),
            _sf_ts(rng, created),
        ])
    opps: list[list[object]] = []
    today = dt.date(2025, 12, 5)
    for _ in range(240):
        acc = rng.choice(accounts)
        created = _day(rng, dt.date(2024, 6, 1), dt.date(2025, 11, 30))
        close = created + dt.timedelta(days=rng.randrange(20, 160))
        amount = float(rng.choice([4800, 7500, 9600, 12000, 18000, 24000, 36000, 52000, 75000]))
        amount += rng.randrange(0, 40) * 50
        if close < today - dt.timedelta(days=10) or rng.random() < 0.15:
            if close >= today:
                close = today - dt.timedelta(days=rng.randrange(1, 60))
            won = rng.random() < 0.42
            stage, prob, forecast = ("Closed Won", 100, "Closed") if won else ("Closed Lost", 0, "Omitted")
            closed = True
        else:
            if close < today:
                close = today + dt.timedelta(days=rng.randrange(5, 120))
            stage, prob, forecast = rng.choice(SF_STAGES_OPEN)
            won, closed = False, False
        acc_is_customer = str(acc[2]).startswith("Customer")
        opp_type = rng.choice(SF_OPP_TYPES[1:]) if acc_is_customer and rng.random() < 0.6 else "New Customer"
        opps.append([
            _sfid(rng, "006"), acc[0], f"{acc[1]} - {rng.choice(SF_PRODUCTS)}", stage, f"{amount:.2f}",
            prob, close.isoformat(), opp_type, rng.choice(SF_LEAD_SOURCES),
            "true" if closed else "false", "true" if won else "false", forecast, _sf_ts(rng, created),
        ])
    opps.sort(key=lambda r: str(r[12]))
    _write(out / "salesforce_crm" / "accounts.csv", ACCOUNT_HEADER, accounts)
    _write(out / "salesforce_crm" / "opportunities.csv", OPPORTUNITY_HEADER, opps)
    return len(accounts), len(opps)


# --------------------------------------------------------------------------- Eventbrite

EVENTBRITE_HEADER = [
    "Order #", "Order Date", "First Name", "Last Name", "Email", "Quantity", "Ticket Type",
    "Attendee #", "Order Type", "Currency", "Total Paid", "Fees Paid", "Eventbrite Fees",
    "Eventbrite Payment Processing", "Attendee Status", "Event Name", "Event ID", "Home City",
    "Home State", "Home Country", "How did you hear about this event?",
]
# event name, event id, sales window start, sales window end, {ticket type: price}
EB_EVENTS = [
    ("Knife Skills 101", "812345670011", dt.date(2025, 2, 20), dt.date(2025, 4, 12),
     {"General Admission": 65.0, "Early Bird": 49.0}),
    ("Sourdough Saturday", "812345670022", dt.date(2025, 4, 1), dt.date(2025, 5, 24),
     {"General Admission": 75.0, "Early Bird": 59.0, "Couples (2 seats)": 130.0}),
    ("Taco Night Workshop", "812345670033", dt.date(2025, 5, 15), dt.date(2025, 7, 18),
     {"General Admission": 70.0, "VIP Chef's Table": 120.0}),
    ("Summer Supper Club", "812345670044", dt.date(2025, 6, 20), dt.date(2025, 8, 23),
     {"General Admission": 95.0, "VIP Chef's Table": 150.0, "Early Bird": 80.0}),
    ("Wine & Cheese Pairing", "812345670055", dt.date(2025, 8, 10), dt.date(2025, 9, 29),
     {"General Admission": 85.0, "Early Bird": 69.0}),
    ("Open Kitchen Night", "812345670066", dt.date(2025, 8, 25), dt.date(2025, 9, 29),
     {"Free RSVP": 0.0}),
]
EB_PLACES = [("Chicago", "IL")] * 6 + [("Evanston", "IL"), ("Oak Park", "IL"), ("Gary", "IN"),
             ("Hammond", "IN"), ("Milwaukee", "WI"), ("Kenosha", "WI"), ("Grand Rapids", "MI"),
             ("Portland", "OR")]
EB_HEARD = ["Instagram", "Instagram", "Friend or family", "Newsletter", "Newsletter", "Eventbrite",
            "Google", "Other", ""]
EB_FIRST = ["Avery", "Bianca", "Cole", "Dana", "Eli", "Farah", "Gus", "Holly", "Ivan", "Jade",
            "Kofi", "Lucia", "Milo", "Nadia", "Owen", "Pia", "Quinn", "Rosa", "Sven", "Talia"]
EB_LAST = ["Abbott", "Baptiste", "Chen", "Duarte", "Ekwueme", "Fischer", "Gallo", "Hughes",
           "Ishikawa", "Jensen", "Kowalski", "Lopez", "Mensah", "Nguyen", "Olsen"]


def make_eventbrite(out: Path) -> int:
    rng = random.Random(4303)
    buyers = []
    for i in range(95):
        first, last = rng.choice(EB_FIRST), rng.choice(EB_LAST)
        email = f"{first.lower()}.{last.lower()}{i}@example.com"
        buyers.append((first, last, email, rng.choice(EB_PLACES), rng.choice(EB_HEARD)))
    loyal = buyers[:25]  # a core of regulars who come back
    rows: list[list[object]] = []
    order_no = 11_204_300_000
    attendee_no = 14_552_000_000
    for name, event_id, start, end, tiers in EB_EVENTS:
        n_orders = 20 if tiers == {"Free RSVP": 0.0} else 27
        for _ in range(n_orders):
            order_no += rng.randrange(3, 90)
            buyer = rng.choice(loyal) if rng.random() < 0.45 else rng.choice(buyers)
            first, last, email, (city, state), heard = buyer
            day = _day(rng, start, end)
            stamp = f"{day.isoformat()} {rng.randrange(7, 23):02d}:{rng.randrange(60):02d}:{rng.randrange(60):02d}"
            names = list(tiers)
            ticket = names[0] if len(names) == 1 else rng.choices(names, [5] + [2] * (len(names) - 1))[0]
            if ticket == "Early Bird" and day > start + dt.timedelta(days=18):
                ticket = "General Admission"
            seats = 1 if ticket.startswith("Couples") else rng.choice([1, 1, 1, 2, 2, 3])
            price = tiers[ticket]
            order_type = "Free Order" if price == 0 else ("Manual" if rng.random() < 0.05 else "Eventbrite Completed")
            paid = 0.0 if order_type == "Manual" else price
            fee = round(paid * 0.037 + 1.79, 2) if paid else 0.0
            processing = round((paid + fee) * 0.029, 2) if paid else 0.0
            refunded = rng.random() < 0.06
            for _seat in range(seats):
                attendee_no += rng.randrange(1, 9)
                if refunded:
                    status = "Not Attending"
                elif end < dt.date(2025, 9, 29):
                    status = "Checked In" if rng.random() < 0.82 else "Attending"
                else:
                    status = "Attending"
                rows.append([
                    order_no, stamp, first, last, email, 1, ticket, attendee_no, order_type, "USD",
                    f"{paid:.2f}", f"{fee:.2f}", f"{fee:.2f}", f"{processing:.2f}", status, name,
                    event_id, city, state, "US", heard,
                ])
    rows.sort(key=lambda r: (str(r[1]), int(r[7])))  # type: ignore[call-overload]
    _write(out / "eventbrite_attendees" / "attendees.csv", EVENTBRITE_HEADER, rows)
    return len(rows)


# --------------------------------------------------------------------------- fitness club

CLUB_HEADER = [
    "member_id", "first_name", "last_name", "email", "home_club", "state", "membership_type",
    "monthly_dues", "join_date", "status", "cancel_date", "autopay", "personal_training",
    "class_pass", "kids_club", "referred_by_member", "age", "visits_last_30_days",
]
# club, state of the club, weight
CLUBS = [("Indianapolis Northside", "IN", 4), ("Carmel", "IN", 2), ("Portland Pearl", "OR", 3),
         ("Bangor", "ME", 2), ("Tulsa Midtown", "OK", 2), ("Columbus Short North", "OH", 3)]
NEIGHBOUR = {"IN": "OH", "OH": "IN", "OR": "WA", "ME": "NH", "OK": "KS"}
MEMBERSHIPS = [("Basic", 29.99, 5), ("Plus", 49.99, 4), ("Premium", 79.99, 2), ("Student", 19.99, 2)]


def make_club(out: Path) -> int:
    rng = random.Random(4404)
    rows: list[list[object]] = []
    for i in range(260):
        first, last = rng.choice(EB_FIRST + SQUARE_FIRST), rng.choice(EB_LAST + SQUARE_LAST)
        club, club_state, _w = rng.choices(CLUBS, [c[2] for c in CLUBS])[0]
        state = NEIGHBOUR[club_state] if rng.random() < 0.08 else club_state
        mtype, dues, _mw = rng.choices(MEMBERSHIPS, [m[2] for m in MEMBERSHIPS])[0]
        joined = _day(rng, dt.date(2021, 1, 4), dt.date(2025, 11, 14))
        age = rng.randrange(18, 25) if mtype == "Student" else rng.randrange(21, 71)
        r = rng.random()
        if r < 0.22 and joined < dt.date(2025, 10, 1):
            status = "Cancelled"
            cancel = _day(rng, joined + dt.timedelta(days=30), dt.date(2025, 11, 14))
        elif r < 0.30:
            status, cancel = "Frozen", None
        else:
            status, cancel = "Active", None
        pt = mtype == "Premium" and rng.random() < 0.6 or rng.random() < 0.12
        visits = 0 if status != "Active" else rng.randrange(0, 22)
        rows.append([
            f"M{10400 + i}", first, last, f"{first.lower()}.{last.lower()}.{i}@example.net", club,
            state, mtype, f"{dues:.2f}", joined.strftime("%m/%d/%Y"), status,
            cancel.strftime("%m/%d/%Y") if cancel else "",
            "Y" if rng.random() < 0.7 else "N",
            "Yes" if pt else "No",
            "TRUE" if rng.random() < (0.6 if mtype in ("Plus", "Premium") else 0.25) else "FALSE",
            1 if 30 <= age <= 50 and rng.random() < 0.3 else 0,
            "yes" if rng.random() < 0.18 else "no",
            age, visits,
        ])
    _write(out / "club_members" / "members.csv", CLUB_HEADER, rows)
    return len(rows)


def generate(out: Path = HERE) -> dict[str, object]:
    """Write every set's CSV files under ``out``; returns the row counts per set."""
    return {
        "square_items": make_square(out),
        "salesforce_crm": make_salesforce(out),
        "eventbrite_attendees": make_eventbrite(out),
        "club_members": make_club(out),
    }


def main() -> None:
    for name, n in generate().items():
        print(f"{name}: {n} rows")


if __name__ == "__main__":
    main()
