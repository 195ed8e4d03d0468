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

# the same invented names and weighted pick as round 4
from make_round4 import _FIRST, _LAST, _pick  # noqa: E402


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


# --------------------------------------------------------------------------------------------
# 4. Amazon Seller Central "All Orders Report" (tab separated, one row per order item)
# --------------------------------------------------------------------------------------------

AMAZON_HEADER = ["amazon-order-id", "merchant-order-id", "purchase-date", "last-updated-date", "order-status",
                 "fulfillment-channel", "sales-channel", "ship-service-level", "product-name", "sku", "asin",
                 "item-status", "quantity", "currency", "item-price", "item-tax", "shipping-price", "shipping-tax",
                 "item-promotion-discount", "ship-promotion-discount", "ship-city", "ship-state", "ship-postal-code",
                 "ship-country", "promotion-ids", "is-business-order"]

_AMAZON_PRODUCTS = [  # sku, asin, product name, unit price, weight
    ("KK-BOARD-L", "B0C7K2LQ1M", "Kestrel Kitchen Bamboo Cutting Board, Large", 24.99, 6),
    ("KK-KNIFE-8", "B0C7K4T9ZP", "Kestrel Kitchen 8 inch Chef Knife", 39.99, 4),
    ("KK-SPAT-4", "B0C7K1XW3R", "Kestrel Kitchen Silicone Spatula Set of 4", 14.99, 7),
    ("KK-BOWL-3", "B0C7K8MN2D", "Kestrel Kitchen Stainless Mixing Bowls, 3 Pack", 29.99, 4),
    ("KK-PEEL-2", "B0C7K3HD7Q", "Kestrel Kitchen Y Peeler, 2 Pack", 9.99, 5),
    ("KK-SCALE", "B0C7K9RR4V", "Kestrel Kitchen Digital Scale", 19.99, 3),
]
_AMAZON_STATES = [  # code, name, city, zip prefix, weight
    ("CA", "California", "Los Angeles", "900", 9), ("TX", "Texas", "Austin", "787", 6), ("NY", "New York", "Brooklyn", "112", 6),
    ("FL", "Florida", "Orlando", "328", 5), ("WA", "Washington", "Seattle", "981", 3), ("IL", "Illinois", "Chicago", "606", 3),
    ("CO", "Colorado", "Denver", "802", 2), ("GA", "Georgia", "Atlanta", "303", 2), ("OH", "Ohio", "Columbus", "432", 2),
]


def _amz_stamp(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S+00:00")


def make_amazon(rng: random.Random) -> Files:
    """~200 order items of a kitchenware brand on Amazon.com, Sep – Nov 2025 (purchase times 14:00–23:59 UTC,
    so the UTC date is also the US date)."""
    rows: list[Row] = []
    weights = [p[4] for p in _AMAZON_PRODUCTS]
    for moment in _moments(rng, 165, dt.date(2025, 9, 1), dt.date(2025, 11, 30), (14, 24)):
        moment = moment.replace(second=rng.randint(0, 59))
        order_id = f"11{rng.randint(1, 4)}-{rng.randint(10**6, 10**7 - 1)}-{rng.randint(10**6, 10**7 - 1)}"
        pending = moment.date() >= dt.date(2025, 11, 28) and rng.random() < 0.5
        status = "Pending" if pending else _pick(rng, {"Shipped": 93, "Cancelled": 7})
        fba = rng.random() < 0.65
        level = "Expedited" if fba and rng.random() < 0.3 else "Standard"
        code, name, city, zip3, _ = rng.choices(_AMAZON_STATES, weights=[s[4] for s in _AMAZON_STATES])[0]
        state = _pick(rng, {code: 80, name: 14, code.lower(): 6})
        business = rng.random() < 0.08
        black_friday = dt.date(2025, 11, 24) <= moment.date() <= dt.date(2025, 12, 1)
        updated = moment + dt.timedelta(days=rng.randint(0, 3), hours=rng.randint(1, 20))
        picked = rng.sample(range(len(_AMAZON_PRODUCTS)), k=rng.choices([1, 2, 3], weights=[8, 2, 0.5])[0])
        for n, index in enumerate(sorted(picked, key=lambda i: -weights[i] + rng.random() * 3)):
            sku, asin, product, price, _ = _AMAZON_PRODUCTS[index]
            qty = rng.choices([1, 2, 3], weights=[10, 2, 0.5])[0]
            promo_ids, item_promo, ship_promo = [], 0.0, 0.0
            shipping = 0.0
            if n == 0 and not fba:
                shipping = 5.99
            elif n == 0 and fba:
                shipping = 4.99
                ship_promo = -4.99
                promo_ids.append("US Core Free Shipping Promotion 18634192")
            if black_friday and rng.random() < 0.6:
                item_promo = -round(price * qty * 0.2, 2)
                promo_ids.append("BF-KESTREL-20")
            elif rng.random() < 0.08:
                item_promo = -round(price * qty * 0.1, 2)
                promo_ids.append("Coupon 10% KK-Q4")
            if status == "Cancelled":
                qty_out, money = 0, ["", "", "", "", "", ""]
                item_status = "Cancelled"
                promo_ids = []
            elif status == "Pending":
                qty_out, money = qty, ["", "", "", "", "", ""]
                item_status = "Unshipped"
            else:
                qty_out = qty
                line = round(price * qty, 2)
                tax = round((line + item_promo) * 0.0725, 2)
                money = [f"{line:.2f}", f"{tax:.2f}", f"{shipping:.2f}", f"{round((shipping + ship_promo) * 0.0725, 2):.2f}",
                         f"{item_promo:.2f}", f"{ship_promo:.2f}"]
                item_status = "Shipped"
            rows.append([order_id, "", _amz_stamp(moment), _amz_stamp(updated), status,
                         "Amazon" if fba else "Merchant", "Amazon.com", level, product, sku, asin, item_status, qty_out,
                         "USD", *money, city, state, f"{zip3}{rng.randint(10, 99)}", "US", ",".join(promo_ids),
                         "true" if business else "false"])
    return {"All_Orders_Report.tsv": (AMAZON_HEADER, rows)}


# --------------------------------------------------------------------------------------------
# 5. Klaviyo campaign performance export (email + SMS)
# --------------------------------------------------------------------------------------------

KLAVIYO_HEADER = ["Campaign Name", "Tags", "Subject", "List", "Send Time", "Send Weekday", "Total Recipients",
                  "Unique Placed Order", "Placed Order Rate", "Revenue", "Unique Opens", "Open Rate", "Total Opens",
                  "Unique Clicks", "Click Rate", "Total Clicks", "Unsubscribes", "Spam Complaints",
                  "Spam Complaints Rate", "Successful Deliveries", "Bounces", "Bounce Rate", "Campaign ID",
                  "Campaign Channel"]

_KLAVIYO_THEMES = [  # name stem, tags, subject
    ("Weekly Newsletter", "Newsletter", "This week at Fernbrook: {x}"),
    ("New Arrivals", "Product Launch", "Just landed: {x}"),
    ("Flash Sale", "Promo, Sale", "24 hours only: {x}"),
    ("Restock Alert", "Product Launch, Restock", "It's back: {x}"),
    ("Customer Stories", "Newsletter, Brand", "How Maya styles {x}"),
]
_KLAVIYO_X = ["linen shirts", "the Harbor tote", "wool socks", "rain jackets", "the Fern dress", "chore coats",
              "canvas sneakers", "merino layers"]


def _pct(num: float, den: float) -> str:
    return f"{100 * num / den:.2f}%" if den else ""


def make_klaviyo(rng: random.Random) -> Files:
    """~110 campaigns of an apparel brand (Fernbrook), Jan – Nov 2025, email and SMS."""
    rows: list[Row] = []
    start = dt.date(2025, 1, 6)
    day = start
    n = 0
    while day <= dt.date(2025, 11, 26):  # sends land up to three days later, before "today" (1 Dec)
        for channel in ("Email", "SMS"):
            if channel == "SMS" and rng.random() > 0.35:
                continue
            n += 1
            black_friday = dt.date(2025, 11, 21) <= day <= dt.date(2025, 11, 30)
            stem, tags, subject = rng.choice(_KLAVIYO_THEMES)
            if black_friday:
                stem, tags, subject = "Black Friday Early Access", "Promo, Black Friday", "Early access: {x} 30% off"
            x = rng.choice(_KLAVIYO_X)
            send = dt.datetime.combine(day + dt.timedelta(days=rng.choice([0, 1, 2, 3])),
                                       dt.time(rng.choice([9, 10, 11, 14, 18]), rng.choice([0, 0, 30])))
            name = f"{stem} - {send.strftime('%b %d')}" + (" (SMS)" if channel == "SMS" else "")
            lst = _pick(rng, {"Newsletter": 6, "VIP Customers": 2, "Engaged 90 Days": 3}) if channel == "Email" else "SMS Subscribers"
            recipients = rng.randint(9000, 24000) if lst != "VIP Customers" else rng.randint(1500, 3000)
            if channel == "SMS":
                recipients = rng.randint(2500, 5200)
            recipients += int(recipients * (day - start).days / 900)
            bounces = int(recipients * rng.uniform(0.002, 0.012)) if channel == "Email" else int(recipients * rng.uniform(0.01, 0.03))
            delivered = recipients - bounces
            if channel == "Email":
                open_rate = rng.uniform(0.28, 0.52) + (0.08 if lst == "VIP Customers" else 0)
                opens = int(delivered * open_rate)
                total_opens = int(opens * rng.uniform(1.3, 1.9))
                clicks = int(delivered * rng.uniform(0.008, 0.035) * (1.6 if black_friday else 1))
            else:
                opens, total_opens = 0, 0
                clicks = int(delivered * rng.uniform(0.04, 0.11) * (1.4 if black_friday else 1))
            total_clicks = int(clicks * rng.uniform(1.1, 1.5))
            orders = int(clicks * rng.uniform(0.04, 0.12) * (1.8 if black_friday else 1))
            revenue = round(sum(rng.uniform(45, 160) for _ in range(orders)), 2)
            unsubs = int(delivered * rng.uniform(0.001, 0.004)) if channel == "Email" else int(delivered * rng.uniform(0.004, 0.012))
            spam = int(delivered * rng.uniform(0, 0.0004))
            email = channel == "Email"
            rows.append([name, tags, subject.format(x=x) if email else "", lst, send.strftime("%Y-%m-%d %H:%M:%S"),
                         send.strftime("%A"), recipients, orders, _pct(orders, delivered), f"{revenue:.2f}",
                         opens if email else "", _pct(opens, delivered) if email else "", total_opens if email else "",
                         clicks, _pct(clicks, delivered), total_clicks, unsubs, spam, _pct(spam, delivered), delivered,
                         bounces, _pct(bounces, recipients), f"01J{rng.randint(10**9, 10**10 - 1):X}{n:03d}", channel])
        day += dt.timedelta(days=rng.choice([3, 4, 4, 5, 7]))
    return {"campaigns.csv": (KLAVIYO_HEADER, rows)}


# --------------------------------------------------------------------------------------------
# 6. Loyalty member table (no transactions)
# --------------------------------------------------------------------------------------------

LOYALTY_HEADER = ["Member ID", "First Name", "Last Name", "Email", "Tier", "Points Balance", "Lifetime Points",
                  "Points Redeemed", "Join Date", "Last Visit", "Birthday", "Home Store", "Email Opt-In",
                  "SMS Opt-In", "App User", "Birthday Club"]


def make_loyalty(rng: random.Random) -> Files:
    """~400 members of a Seattle coffee chain's loyalty programme (Bramble Coffee), joined 2021 – Nov 2025."""
    rows: list[Row] = []
    today = dt.date(2025, 12, 1)
    seen: set[str] = set()
    for n in range(400):
        while True:
            first, last = rng.choice(_FIRST), rng.choice(_LAST)
            mail = f"{first}.{last}{rng.randint(1, 99)}@{rng.choice(['gmail.com', 'outlook.com', 'yahoo.com', 'icloud.com'])}".lower()
            if mail not in seen:
                seen.add(mail)
                break
        joined = dt.date(2021, 3, 1) + dt.timedelta(days=int(((today - dt.date(2021, 3, 1)).days - 1) * rng.random() ** 0.8))
        engaged = rng.random()
        gap = int(rng.expovariate(1 / (12 if engaged > 0.5 else 120)))
        last_visit = max(joined, today - dt.timedelta(days=1 + gap))
        tenure = (last_visit - joined).days + 1
        lifetime = int(tenure * rng.uniform(0.5, 6) * (1.5 if engaged > 0.7 else 1))
        tier = "Gold" if lifetime >= 6000 else "Silver" if lifetime >= 1500 else "Bronze"
        redeemed = int(lifetime * rng.uniform(0.2, 0.8) / 100) * 100 if rng.random() < 0.7 else 0
        app = rng.random() < (0.65 if engaged > 0.5 else 0.3)
        club = rng.random() < 0.45
        if n % 2 == 0:  # merged from the old POS, which wrote flags its own way
            club_text = rng.choice(["true", "TRUE"]) if club else rng.choice(["false", "FALSE"])
        else:
            club_text = rng.choice(["Yes", "yes", "Y", "1"]) if club else rng.choice(["No", "no", "N", "0"])
        if rng.random() < 0.04:
            club_text = ""
            club = False
        birthday = dt.date(2000, 1, 1) + dt.timedelta(days=rng.randint(0, 365))
        rows.append([f"BRM-{100_000 + n * 7 + rng.randint(0, 6)}", first, last, mail, tier, lifetime - redeemed, lifetime,
                     redeemed, joined.strftime("%m/%d/%Y"), last_visit.strftime("%m/%d/%Y"), birthday.strftime("%m/%d"),
                     _pick(rng, {"Capitol Hill": 5, "Ballard": 4, "Fremont": 3, "Downtown": 2}),
                     "Yes" if rng.random() < 0.58 else "No", "TRUE" if rng.random() < 0.31 else "FALSE", 1 if app else 0,
                     club_text])
    return {"members.csv": (LOYALTY_HEADER, rows)}
