"""Round-5 development layouts (issue 16, "answers you can trust on any data"): six more export shapes.

Written blind: the author read the question-set format, the scorer and earlier generators (for the
file format only), never the planner, the loader or the semantic model. Each layout imitates a
public export format, named in its questions.yaml `source`:

- toast_item_sales: Toast "ItemSelectionDetails" export (one row per menu item sold) — US two-digit-year
  dates with AM/PM, Gross Price / Discount (positive) / Net Price / Tax, a `Void?` true/false column whose
  voided lines still carry their prices, two locations, servers, dining options.
- sumup_transactions: SumUp per-payment transactions export of a Berlin café — DD.MM.YYYY HH:MM dates,
  money with a decimal comma ("12,50"), Total Amount including the tip, Fee, Payout, and a Status whose
  Refunded / Failed / Cancelled rows are not takings.
- chargebee_subscriptions: Chargebee subscriptions export — dotted headers (`subscriptions.mrr`,
  `customers.billing_address.country`), statuses active / non_renewing / in_trial / cancelled / paused,
  three currencies, MRR 0 for subscriptions that do not bill.
- amazon_all_orders: Amazon Seller Central "All Orders Report" flat file (tab separated) — hyphenated
  headers, item-price as the line total, negative promotion discounts, AFN/MFN fulfilment, no buyer column.
- klaviyo_campaigns: Klaviyo campaign performance export — email and SMS campaigns, counts plus rate
  columns as "23.45%" text, revenue attributed, comma-separated tags.
- loyalty_members: a loyalty-app member table (no transactions) — tiers, points, Yes/No, TRUE/FALSE and
  1/0 flags, and one opt-in column merged from two systems that mixes all of them.

Imported by make_sets.py (its GENERATORS), so `python tests/data/answers/make_sets.py` rewrites these
files byte for byte. All rows are invented here (CC0).
"""

from __future__ import annotations

import datetime as dt
import random

Row = list[object]
Files = dict[str, tuple[list[str], list[Row]]]

_FIRST = ["Olivia", "Liam", "Emma", "Noah", "Ava", "Mia", "Lucas", "Zoe", "Kai", "Priya", "Arjun", "Yuki", "Lena",
          "Jonas", "Camille", "Hugo", "Sofia", "Diego", "Fatima", "Omar", "Grace", "Owen", "Ruby", "Felix", "Isla",
          "Theo", "Maya", "Sam", "Nora", "Ezra", "Hana", "Leo", "Aria", "Ethan", "Chloe", "Jack", "Amara", "Tom"]
_LAST = ["Smith", "Garcia", "Nguyen", "Patel", "Kim", "Muller", "Rossi", "Martin", "Dubois", "Wilson", "Lee",
         "Young", "Lopez", "Murphy", "Novak", "Jansen", "Silva", "Ito", "Hughes", "Walker", "Okafor", "Brennan",
         "Clarke", "Evans", "Shah", "Reid", "Price", "Ward", "Cole", "Baker"]


def _pick(rng: random.Random, weighted: dict[str, float]) -> str:
    return rng.choices(list(weighted), weights=list(weighted.values()))[0]


def _moments(rng: random.Random, n: int, start: dt.date, end: dt.date, hours: tuple[int, int]) -> list[dt.datetime]:
    """n sorted moments between start and end (inclusive), at minutes within the given opening hours."""
    span = (end - start).days
    out = []
    for _ in range(n):
        day = start + dt.timedelta(days=rng.randint(0, span))
        out.append(dt.datetime.combine(day, dt.time(rng.randint(hours[0], hours[1] - 1), rng.randint(0, 59))))
    return sorted(out)


def _comma(value: float) -> str:
    """12.5 -> '12,50' (German decimal comma, no thousands separator, as SumUp's German export writes it)."""
    return f"{value:.2f}".replace(".", ",")


# --------------------------------------------------------------------------------------------
# 1. Toast ItemSelectionDetails (restaurant POS, one row per item)
# --------------------------------------------------------------------------------------------

TOAST_HEADER = ["Location", "Order Id", "Order #", "Order Date", "Server", "Table", "Dining Area", "Service",
                "Dining Option", "Item Selection Id", "Menu Item", "Menu Group", "Sales Category", "Gross Price",
                "Discount", "Net Price", "Qty", "Tax", "Void?"]

_TOAST_MENU = [  # menu item, menu group, sales category, price
    ("Truffle Fries", "Starters", "Food", 9.0), ("Burrata", "Starters", "Food", 14.0),
    ("Crispy Calamari", "Starters", "Food", 13.0), ("Smash Burger", "Mains", "Food", 18.0),
    ("Seared Salmon", "Mains", "Food", 27.0), ("Mushroom Risotto", "Mains", "Food", 22.0),
    ("Steak Frites", "Mains", "Food", 34.0), ("Avocado Toast", "Brunch", "Food", 13.0),
    ("Eggs Benedict", "Brunch", "Food", 16.0), ("Chocolate Torte", "Desserts", "Food", 10.0),
    ("Espresso Martini", "Cocktails", "Liquor", 15.0), ("Negroni", "Cocktails", "Liquor", 14.0),
    ("Spicy Margarita", "Cocktails", "Liquor", 14.0), ("House IPA", "Draft Beer", "Beer", 8.0),
    ("Pilsner", "Draft Beer", "Beer", 7.0), ("Pinot Noir Glass", "Wine by the Glass", "Wine", 13.0),
    ("Sauvignon Blanc Glass", "Wine by the Glass", "Wine", 12.0), ("Cold Brew", "Coffee & Soft Drinks", "NA Beverage", 5.0),
    ("Sparkling Water", "Coffee & Soft Drinks", "NA Beverage", 4.0),
]
_TOAST_SERVERS = {"Marisol Vega": 5, "Dev Patel": 4, "Kenji Mori": 4, "Ashley Brooks": 3, "Tom Okafor": 3, "Rosa Lind": 2}


def _toast_stamp(moment: dt.datetime) -> str:
    hour = moment.hour % 12 or 12
    return f"{moment.month}/{moment.day}/{moment.year % 100:02d} {hour}:{moment.minute:02d} {'AM' if moment.hour < 12 else 'PM'}"


def make_toast(rng: random.Random) -> Files:
    """~310 item rows of a two-location restaurant, four weeks (3 – 30 Nov 2025)."""
    rows: list[Row] = []
    order_id, selection_id = 418_200_000, 900_100_000
    order_numbers: dict[tuple[str, dt.date], int] = {}
    for moment in _moments(rng, 118, dt.date(2025, 11, 3), dt.date(2025, 11, 30), (10, 22)):
        location = _pick(rng, {"Harbor & Vine - Downtown": 6, "Harbor & Vine - Eastside": 4})
        weekend = moment.weekday() >= 5
        service = "Brunch" if weekend and moment.hour < 14 else "Lunch" if moment.hour < 16 else "Dinner"
        option = _pick(rng, {"Dine In": 7, "Take Out": 2, "Delivery - DoorDash": 1})
        area = _pick(rng, {"Main Dining": 5, "Bar": 3, "Patio": 2}) if option == "Dine In" else ""
        table = str(rng.randint(1, 24)) if option == "Dine In" and area != "Bar" else ""
        server = _pick(rng, _TOAST_SERVERS) if option == "Dine In" else "Online Ordering"
        order_id += rng.randint(3, 60)
        key = (location, moment.date())
        order_numbers[key] = order_numbers.get(key, 0) + rng.randint(1, 9)
        menu = [m for m in _TOAST_MENU if (m[1] == "Brunch") == (service == "Brunch") or m[2] != "Food"]
        if option != "Dine In":
            menu = [m for m in menu if m[2] in ("Food", "NA Beverage")]
        size = min(len(menu), rng.choices([1, 2, 3, 4, 5], weights=[3, 5, 5, 3, 2])[0])
        for item, group, category, price in rng.sample(menu, k=size):
            qty = rng.choices([1, 2, 3], weights=[8, 3, 1])[0] if category != "Food" else rng.choices([1, 2], weights=[9, 2])[0]
            gross = price * qty
            discount = 0.0
            roll = rng.random()
            if category in ("Liquor", "Beer", "Wine") and service != "Dinner" and roll < 0.5:
                discount = 3.0 * qty  # happy hour
            elif roll < 0.06:
                discount = gross  # comp
            elif roll < 0.12:
                discount = round(gross * 0.2, 2)  # loyalty / staff 20%
            net = round(gross - discount, 2)
            void = rng.random() < 0.05
            selection_id += rng.randint(1, 30)
            rows.append([location, order_id, order_numbers[key], _toast_stamp(moment), server, table, area, service, option,
                         selection_id, item, group, category, f"{gross:.2f}", f"{discount:.2f}", f"{net:.2f}", qty,
                         f"{round(net * 0.08875, 2):.2f}", "true" if void else "false"])
    return {"ItemSelectionDetails.csv": (TOAST_HEADER, rows)}


# --------------------------------------------------------------------------------------------
# 2. SumUp transactions export (café card terminal + cash, one row per payment)
# --------------------------------------------------------------------------------------------

SUMUP_HEADER = ["Transaction ID", "Date", "Employee", "Payment Method", "Card Type", "Entry Mode", "Status",
                "Description", "Currency", "Total Amount", "Tip Amount", "Fee", "Payout", "Payout Date"]

_SUMUP_ITEMS = [("Cappuccino", 3.9), ("Flat White", 4.2), ("Filterkaffee", 2.8), ("Chai Latte", 4.5),
                ("Croissant", 2.6), ("Zimtschnecke", 3.4), ("Käsekuchen", 4.8), ("Avocado Brot", 8.9),
                ("Bohnen 250g", 12.5), ("Geschenkgutschein", 25.0)]
_SUMUP_STAFF = {"lena@kaffeehaus-lindner.de": 5, "jonas@kaffeehaus-lindner.de": 4, "aylin@kaffeehaus-lindner.de": 3,
                "owner@kaffeehaus-lindner.de": 1}


def make_sumup(rng: random.Random) -> Files:
    """~370 payments of a Berlin café, Aug – Nov 2025."""
    rows: list[Row] = []
    letters = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    for moment in _moments(rng, 370, dt.date(2025, 8, 1), dt.date(2025, 11, 30), (7, 19)):
        method = _pick(rng, {"Card": 7, "Cash": 3, "Payment Link": 0.4})
        status = _pick(rng, {"Successful": 90, "Refunded": 3, "Failed": 5, "Cancelled": 2}) if method != "Cash" else \
            _pick(rng, {"Successful": 98, "Refunded": 2})
        picked = rng.sample(_SUMUP_ITEMS[:8], k=rng.choices([1, 2, 3, 4], weights=[4, 5, 3, 1])[0])
        if method == "Payment Link" or rng.random() < 0.04:
            picked = [_SUMUP_ITEMS[rng.choice([8, 9])]]
        counts = [rng.choices([1, 2], weights=[5, 1])[0] for _ in picked]
        amount = round(sum(p * c for (_, p), c in zip(picked, counts, strict=True)), 2)
        description = ", ".join(f"{c}x {name}" for (name, _), c in zip(picked, counts, strict=True))
        tip = 0.0
        if method == "Card" and rng.random() < 0.35:
            tip = round(rng.choice([0.5, 1.0, 1.0, 2.0, 0.3, 0.6]), 2)
        total = round(amount + tip, 2)
        card, entry = "", ""
        if method == "Card":
            card = _pick(rng, {"GIROCARD": 5, "VISA": 3, "MASTERCARD": 3, "MAESTRO": 1, "AMEX": 0.5})
            entry = _pick(rng, {"contactless": 8, "chip": 2})
        elif method == "Payment Link":
            card, entry = _pick(rng, {"VISA": 1, "MASTERCARD": 1}), "ecom"
        rate = {"Card": 0.0139, "Cash": 0.0, "Payment Link": 0.025}[method]
        fee = round(total * rate, 2) if status in ("Successful", "Refunded") else 0.0
        payout = round(total - fee, 2) if status == "Successful" and method != "Cash" else 0.0
        payout_day = moment.date() + dt.timedelta(days=2 if moment.weekday() < 3 else 4)
        payout_date = payout_day.strftime("%d.%m.%Y") if payout else ""
        txn = "T" + "".join(rng.choice(letters) for _ in range(9))
        rows.append([txn, moment.strftime("%d.%m.%Y %H:%M"), _pick(rng, _SUMUP_STAFF), method, card, entry, status,
                     description, "EUR", _comma(total), _comma(tip), _comma(fee), _comma(payout), payout_date])
    return {"Transactions.csv": (SUMUP_HEADER, rows)}


# --------------------------------------------------------------------------------------------
# 3. Chargebee subscriptions export (SaaS billing)
# --------------------------------------------------------------------------------------------

CHARGEBEE_HEADER = ["subscriptions.id", "subscriptions.customer_id", "customers.email", "customers.company",
                    "customers.billing_address.country", "subscriptions.plan_id", "subscriptions.plan_quantity",
                    "subscriptions.status", "subscriptions.currency_code", "subscriptions.mrr",
                    "subscriptions.created_at", "subscriptions.trial_end", "subscriptions.activated_at",
                    "subscriptions.cancelled_at", "subscriptions.cancel_reason"]

_CB_PLANS = {  # plan family -> monthly price per seat in USD
    "starter": 19.0, "growth": 49.0, "scale": 129.0,
}
_CB_COMPANY_A = ["Blue", "North", "Bright", "Lumen", "Cedar", "Atlas", "Nimbus", "Ember", "Pixel", "Harbor", "Quarry",
                 "Kite", "Orbit", "Sable", "Tidal", "Velvet", "Willow", "Zephyr", "Copper", "Fern"]
_CB_COMPANY_B = ["Labs", "Studio", "Analytics", "Media", "Works", "Digital", "Health", "Logistics", "Foods", "Legal",
                 "Retail", "Systems", "Ventures", "Agency", "Partners"]


def _cb_stamp(moment: dt.datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S") if moment else ""


def make_chargebee(rng: random.Random) -> Files:
    """~300 subscriptions of a B2B SaaS (scheduling software), created Jan 2023 – Nov 2025; today is 1 Dec 2025."""
    rows: list[Row] = []
    today = dt.datetime(2025, 12, 1)
    companies: set[str] = set()
    for n, created in enumerate(_moments(rng, 300, dt.date(2023, 1, 3), dt.date(2025, 11, 29), (0, 24))):
        while True:
            company = f"{rng.choice(_CB_COMPANY_A)} {rng.choice(_CB_COMPANY_B)}"
            if company not in companies:
                companies.add(company)
                break
        domain = company.lower().replace(" ", "") + rng.choice([".com", ".io", ".co"])
        country = _pick(rng, {"US": 40, "GB": 14, "DE": 12, "FR": 7, "NL": 6, "CA": 8, "AU": 6, "ES": 3, "IE": 4})
        currency = "EUR" if country in ("DE", "FR", "NL", "ES", "IE") else "GBP" if country == "GB" else "USD"
        family = _pick(rng, {"starter": 5, "growth": 4, "scale": 1.5})
        annual = rng.random() < 0.3
        plan_id = f"{family}-{'annual' if annual else 'monthly'}-{currency.lower()}"
        seats = 1 if family == "starter" and rng.random() < 0.6 else rng.choice([2, 3, 3, 5, 5, 8, 10, 12, 15, 25])
        per_seat = _CB_PLANS[family] * {"USD": 1.0, "EUR": 0.95, "GBP": 0.8}[currency] * (0.85 if annual else 1.0)
        trial = rng.random() < 0.7
        trial_end = created + dt.timedelta(days=14) if trial else None
        converts = not trial or rng.random() < 0.62
        activated = (trial_end if trial_end else created) if converts else None
        status = "active"
        cancelled: dt.datetime | None = None
        reason = ""
        if trial_end and trial_end > today:
            status, activated, converts = "in_trial", None, True
        elif not converts:
            status, cancelled, reason = "cancelled", trial_end, "Not Paid"
        else:
            assert activated is not None
            months_alive = (today - activated).days / 30.4
            hazard = 0.035 if family != "scale" else 0.015
            if rng.random() < 1 - (1 - hazard) ** months_alive:
                cancelled = activated + dt.timedelta(days=rng.randint(20, max(21, int(months_alive * 30.4) - 1)))
                cancelled = cancelled.replace(hour=rng.randint(0, 23), minute=rng.randint(0, 59))
                status = "cancelled"
                reason = _pick(rng, {"Too expensive": 4, "Switched to competitor": 3, "Missing features": 2,
                                     "No longer needed": 3, "Not Paid": 1})
            elif rng.random() < 0.05:
                status = "non_renewing"
            elif rng.random() < 0.03:
                status = "paused"
        mrr = round(per_seat * seats, 2) if status in ("active", "non_renewing") else 0.0
        sub_id = f"AzZ{rng.randint(10**9, 10**10 - 1):X}{n + 1:03d}"
        rows.append([sub_id, f"cus_{n + 1:05d}", f"{rng.choice(['billing', 'ops', 'admin', 'finance'])}@{domain}", company,
                     country, plan_id, seats, status, currency, f"{mrr:.2f}", _cb_stamp(created), _cb_stamp(trial_end),
                     _cb_stamp(activated), _cb_stamp(cancelled), reason])
    return {"Subscriptions.csv": (CHARGEBEE_HEADER, rows)}
