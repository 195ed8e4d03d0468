"""Round-4 development layouts (issue 16): five export shapes nobody designed the parser for.

Written blind (by someone who has not read the planner or the loader) so the parser can be measured
on layouts it was not shaped by:

- paypal_activity: PayPal "Activity download" — US dates, Gross/Fee/Net as text with thousands
  commas, refunds and bank withdrawals as negative rows, a Type column whose values decide what is a sale.
- etsy_sold_orders: Etsy "Sold Orders" + "Sold Order Items" CSVs — two tables joined by Order ID,
  two-digit-year dates, several money columns (Order Value, Order Total, Order Net), coupon codes.
- zendesk_tickets: Zendesk ticket export — support channel ("Via"), status words, satisfaction
  ratings as text (Good/Bad/Offered/Unoffered), minutes columns, space-separated tags.
- google_ads_campaigns: Google Ads campaign report by week — two title lines above the header,
  "Impr." and "Cost / conv." headers, counts with thousands commas, CTR as "4.12%" text, "--" for none.
- charity_donors: a UK charity CRM export — supporters + gifts joined by Supporter ID, DD/MM/YYYY
  dates, amounts as "£1,250.00", Y/N and TRUE/FALSE flags, a Status whose Refunded gifts are not income.

Imported by make_sets.py (its GENERATORS), so `python tests/data/answers/make_sets.py` rewrites
these CSVs byte for byte too. All rows are invented here (CC0).
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Mapping

Row = list[object]

_FIRST = ["Olivia", "Liam", "Emma", "Noah", "Ava", "Mia", "Lucas", "Zoe", "Kai", "Priya", "Arjun", "Yuki", "Lena",
          "Jonas", "Camille", "Hugo", "Sofia", "Diego", "Fatima", "Omar", "Grace", "Owen", "Ruby", "Felix", "Isla",
          "Theo", "Maya", "Sam", "Nora", "Ezra", "Hana", "Leo", "Aria", "Ethan", "Chloe", "Jack", "Amara", "Tom"]
_LAST = ["Smith", "Garcia", "Nguyen", "Patel", "Kim", "Muller", "Rossi", "Martin", "Dubois", "Wilson", "Lee",
         "Young", "Lopez", "Murphy", "Novak", "Jansen", "Silva", "Ito", "Hughes", "Walker", "Okafor", "Brennan",
         "Clarke", "Evans", "Shah", "Reid", "Price", "Ward", "Cole", "Baker"]


def _pick(rng: random.Random, weighted: Mapping[str, float]) -> str:
    return rng.choices(list(weighted), weights=list(weighted.values()))[0]


def _dates(rng: random.Random, n: int, start: dt.date, end: dt.date, growth: float = 1.0) -> list[dt.date]:
    span = (end - start).days
    return sorted(start + dt.timedelta(days=int(span * rng.random() ** (1.0 / growth))) for _ in range(n))


def _people(rng: random.Random, n: int, domain: str | None = None) -> list[tuple[str, str, str]]:
    """n distinct (first, last, email); the full names are distinct too."""
    out: list[tuple[str, str, str]] = []
    names: set[str] = set()
    while len(out) < n:
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        if f"{first} {last}" in names:
            continue
        names.add(f"{first} {last}")
        mail = domain or rng.choice(["gmail.com", "outlook.com", "yahoo.com", "icloud.com", "hotmail.com"])
        out.append((first, last, f"{first}.{last}{rng.randint(1, 99)}@{mail}".lower()))
    return out


def _money(value: float, symbol: str = "") -> str:
    """1234.5 -> '1,234.50' (with a leading symbol, after the sign: '-£12.00')."""
    sign = "-" if value < 0 else ""
    return f"{sign}{symbol}{abs(value):,.2f}"


# --------------------------------------------------------------------------------------------
# PayPal activity download
# --------------------------------------------------------------------------------------------

PAYPAL_HEADER = ["Date", "Time", "TimeZone", "Name", "Type", "Status", "Currency", "Gross", "Fee", "Net",
                 "From Email Address", "To Email Address", "Transaction ID", "Item Title", "Quantity",
                 "Reference Txn ID", "Balance", "Balance Impact"]

_PAYPAL_ITEMS = {"Speckled Mug": (32.0, 22), "Stoneware Bowl Set": (58.0, 14), "Bud Vase": (24.0, 16),
                 "Serving Platter": (86.0, 8), "Matcha Bowl": (45.0, 12), "Planter Large": (64.0, 9),
                 "Gift Voucher": (50.0, 6)}
_SHOP_MAIL = "hello@kilnandcoast.com"


def _us_pacific(day: dt.date) -> str:
    march = dt.date(day.year, 3, 8)
    start = march + dt.timedelta(days=(6 - march.weekday()) % 7)
    nov = dt.date(day.year, 11, 1)
    end = nov + dt.timedelta(days=(6 - nov.weekday()) % 7)
    return "PDT" if start <= day < end else "PST"


def make_paypal(rng: random.Random) -> dict[str, tuple[list[str], list[Row]]]:
    """~300 rows of a small ceramics studio's PayPal account, Jan 2024 – Nov 2025."""
    buyers = _people(rng, 120)
    txn = iter(rng.sample(range(10**15, 10**16), 600))
    rows: list[Row] = []
    balance = 0.0
    pending_refunds: list[tuple[dt.date, Row]] = []
    days = _dates(rng, 270, dt.date(2024, 1, 2), dt.date(2025, 11, 28), growth=1.3)
    last_withdrawal = days[0]

    def add(day: dt.date, name: str, kind: str, status: str, gross: float, fee: float, frm: str, to: str,
            item: str, qty: object, ref: str) -> Row:
        nonlocal balance
        net = round(gross + fee, 2)
        if status == "Completed":
            balance = round(balance + net, 2)
        row: Row = [f"{day.month:02d}/{day.day:02d}/{day.year}",
                    f"{rng.randint(7, 22):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}",
                    _us_pacific(day), name, kind, status, "USD", _money(gross), _money(fee), _money(net), frm, to,
                    f"{next(txn):X}"[:17], item, qty, ref, _money(balance), "Credit" if gross >= 0 else "Debit"]
        rows.append(row)
        return row

    for day in days:
        while pending_refunds and pending_refunds[0][0] <= day:
            rday, orig = pending_refunds.pop(0)
            gross = -float(str(orig[7]).replace(",", ""))
            add(rday, str(orig[3]), "Payment Refund", "Completed", gross, 0.0, _SHOP_MAIL, str(orig[10]),
                str(orig[13]), orig[14], str(orig[12]))
        if (day - last_withdrawal).days > 40 and balance > 300:
            amount = round(balance * 0.8 / 50) * 50
            add(day, "Bank Account", "General Withdrawal", "Completed", -amount, 0.0, _SHOP_MAIL, "", "", "", "")
            last_withdrawal = day
        first, last, email = rng.choice(buyers[:60]) if rng.random() < 0.45 else rng.choice(buyers)
        kind = _pick(rng, {"Express Checkout Payment": 58, "Website Payment": 27, "Subscription Payment": 15})
        if kind == "Subscription Payment":
            item, qty = "Clay Club Monthly", 1
            gross = 29.0
        else:
            item = _pick(rng, {k: v[1] for k, v in _PAYPAL_ITEMS.items()})
            qty = rng.choices([1, 1, 1, 2, 2, 3, 4], k=1)[0]
            gross = _PAYPAL_ITEMS[item][0] * qty + (0 if item == "Gift Voucher" else rng.choice([0.0, 8.5, 12.0]))
            if rng.random() < 0.04:  # a wholesale order
                qty, gross = 24, _PAYPAL_ITEMS[item][0] * 24 * 0.6
        status = _pick(rng, {"Completed": 92, "Pending": 5, "Denied": 3})
        fee = -round(gross * 0.0349 + 0.49, 2) if status == "Completed" else 0.0
        row = add(day, f"{first} {last}", kind, status, round(gross, 2), fee, email, _SHOP_MAIL, item, qty, "")
        if status == "Completed" and kind != "Subscription Payment" and rng.random() < 0.09:
            refund_day = day + dt.timedelta(days=rng.randint(2, 20))
            if refund_day <= dt.date(2025, 11, 28):
                pending_refunds.append((refund_day, row))
                pending_refunds.sort(key=lambda p: p[0])
    return {"Download.csv": (PAYPAL_HEADER, rows)}


# --------------------------------------------------------------------------------------------
# Etsy sold orders + sold order items
# --------------------------------------------------------------------------------------------

ETSY_ORDERS_HEADER = ["Sale Date", "Order ID", "Buyer User ID", "Full Name", "First Name", "Last Name",
                      "Number of Items", "Payment Method", "Date Shipped", "Ship City", "Ship State", "Ship Zipcode",
                      "Ship Country", "Currency", "Order Value", "Coupon Code", "Coupon Details", "Discount Amount",
                      "Shipping Discount", "Shipping", "Sales Tax", "Order Total", "Status", "Card Processing Fees",
                      "Order Net", "Adjusted Order Total", "Adjusted Card Processing Fees",
                      "Adjusted Net Order Amount", "Buyer", "Order Type", "Payment Type", "InPerson Discount",
                      "InPerson Location", "SKU"]
ETSY_ITEMS_HEADER = ["Sale Date", "Item Name", "Buyer", "Quantity", "Price", "Coupon Code", "Discount Amount",
                     "Order Shipping", "Order Sales Tax", "Item Total", "Currency", "Transaction ID", "Listing ID",
                     "Date Paid", "Date Shipped", "Ship Name", "Ship Country", "Order ID", "Variations", "SKU"]

# item name -> (price, popularity (not used: an order's items are drawn uniformly), listing id, sku, variations)
_ETSY_ITEMS: dict[str, tuple[float, int, int, str, list[str]]] = {
    "Sterling Silver Moon Necklace": (38.0, 22, 1184220931, "NK-MOON", ["Length:16 inch", "Length:18 inch"]),
    "Tiny Star Stud Earrings": (22.0, 20, 1190387712, "EA-STAR", ["Finish:Silver", "Finish:Gold"]),
    "Personalised Initial Bracelet": (29.0, 16, 1201554409, "BR-INIT", ["Letter:A", "Letter:M", "Letter:S"]),
    "Birthstone Stacking Ring": (34.0, 12, 1176630285, "RG-BIRTH", ["Size:6", "Size:7", "Size:8"]),
    "Gold Filled Paperclip Chain": (46.0, 9, 1213399850, "NK-CLIP", ["Length:18 inch"]),
    "Pressed Flower Locket": (54.0, 7, 1222017463, "NK-LOCK", [""]),
    "Jewelry Gift Box": (6.0, 14, 1168825910, "GIFT-BOX", [""]),
}
_US_STATES = {"CA": ("Los Angeles", "90012"), "NY": ("Brooklyn", "11201"), "TX": ("Austin", "78701"),
              "WA": ("Seattle", "98101"), "IL": ("Chicago", "60601"), "FL": ("Miami", "33101"),
              "OR": ("Portland", "97205"), "MA": ("Boston", "02108")}
_ETSY_ABROAD = {"Canada": [("Toronto", "ON", "M5V 2T6")], "United Kingdom": [("London", "", "E1 6AN")],
                "Germany": [("Berlin", "", "10115")], "Australia": [("Melbourne", "VIC", "3000")]}


def _etsy_date(day: dt.date) -> str:
    return f"{day.month:02d}/{day.day:02d}/{day.year % 100:02d}"


def make_etsy(rng: random.Random) -> dict[str, tuple[list[str], list[Row]]]:
    """~190 orders of a small jewellery shop on Etsy, Jan 2024 – Oct 2025, and their item rows."""
    people = _people(rng, 160)
    handles = [f"{first.lower()}{last[:3].lower()}{rng.randint(10, 99)}" for first, last, _ in people]
    ids = rng.sample(range(40_000_000, 99_999_999), len(people))
    coupons = {"WELCOME10": 0.10, "HOLIDAY20": 0.20, "SPRING15": 0.15}
    orders: list[Row] = []
    items: list[Row] = []
    oid = 3_120_004_417
    for day in _dates(rng, 190, dt.date(2024, 1, 3), dt.date(2025, 10, 30), growth=1.4):
        oid += rng.randint(3_000, 90_000)
        who = rng.randrange(60) if rng.random() < 0.4 else rng.randrange(len(people))
        first, last, _ = people[who]
        country = _pick(rng, {"United States": 70, "Canada": 9, "United Kingdom": 9, "Germany": 6, "Australia": 6})
        if country == "United States":
            state = _pick(rng, {"CA": 22, "NY": 17, "TX": 13, "WA": 9, "IL": 9, "FL": 10, "OR": 8, "MA": 7})
            city, zipcode = _US_STATES[state]
        else:
            city, state, zipcode = rng.choice(_ETSY_ABROAD[country])
        n_lines = rng.choices([1, 1, 1, 2, 2, 3], k=1)[0]
        names = rng.sample(list(_ETSY_ITEMS), n_lines)
        lines = [(name, rng.choices([1, 1, 1, 2, 3], k=1)[0]) for name in names]
        value = sum(_ETSY_ITEMS[n][0] * q for n, q in lines)
        coupon = ""
        if rng.random() < 0.22:
            coupon = "HOLIDAY20" if day.month in (11, 12) else rng.choice(["WELCOME10", "WELCOME10", "SPRING15"])
        discount = round(value * coupons[coupon], 2) if coupon else 0.0
        shipping = 0.0 if value >= 35 and country == "United States" else (4.5 if country == "United States" else 12.0)
        tax = round((value - discount) * 0.08, 2) if country == "United States" else 0.0
        total = round(value - discount + shipping + tax, 2)
        fees = round(total * 0.03 + 0.25, 2)
        net = round(total - fees - value * 0.065, 2)
        status = _pick(rng, {"Completed": 90, "Partially Refunded": 4, "Fully Refunded": 6})
        adj_total = adj_fees = adj_net = ""
        if status == "Fully Refunded":
            adj_total, adj_fees, adj_net = "0.00", "0.00", "0.00"
        elif status == "Partially Refunded":
            kept = round(total * 0.5, 2)
            adj_total, adj_fees, adj_net = f"{kept:.2f}", f"{kept * 0.03 + 0.25:.2f}", f"{kept * 0.9:.2f}"
        shipped = day + dt.timedelta(days=rng.randint(1, 6))
        shipped_text = "" if status == "Fully Refunded" or shipped > dt.date(2025, 10, 31) else _etsy_date(shipped)
        pay = _pick(rng, {"Visa": 40, "Mastercard": 18, "PayPal": 20, "Apple Pay": 15, "Etsy Gift Card": 7})
        coupon_details = f"{coupon} - {int(coupons[coupon] * 100)}% off" if coupon else ""
        orders.append([
            _etsy_date(day), oid, ids[who], f"{first} {last}", first, last, sum(q for _, q in lines), pay,
            shipped_text, city, state, zipcode, country, "USD", f"{value:.2f}", coupon, coupon_details,
            f"{discount:.2f}", "0.00", f"{shipping:.2f}", f"{tax:.2f}", f"{total:.2f}", status, f"{fees:.2f}",
            f"{net:.2f}", adj_total, adj_fees, adj_net, handles[who], "online",
            "paypal" if pay == "PayPal" else "online_cc", "", "", ",".join(_ETSY_ITEMS[n][3] for n, _ in lines),
        ])
        for name, qty in lines:
            price, _, listing, sku, variations = _ETSY_ITEMS[name]
            line_disc = round(price * qty * coupons[coupon], 2) if coupon else 0.0
            items.append([
                _etsy_date(day), name, handles[who], qty, f"{price:.2f}", coupon, f"{line_disc:.2f}",
                f"{shipping:.2f}", f"{tax:.2f}", f"{price * qty:.2f}", "USD", rng.randint(3_000_000_000, 3_999_999_999),
                listing, _etsy_date(day), shipped_text, f"{first} {last}", country, oid, rng.choice(variations), sku,
            ])
    return {"EtsySoldOrders.csv": (ETSY_ORDERS_HEADER, orders), "EtsySoldOrderItems.csv": (ETSY_ITEMS_HEADER, items)}


# --------------------------------------------------------------------------------------------
# Zendesk tickets export
# --------------------------------------------------------------------------------------------

ZENDESK_HEADER = ["Id", "Requester", "Requester email", "Assignee", "Group", "Subject", "Tags", "Status", "Priority",
                  "Via", "Ticket type", "Created at", "Updated at", "Solved at", "Satisfaction Score", "Organization",
                  "Reopens", "Replies", "First reply time in minutes", "Full resolution time in minutes"]

_ZD_TOPICS = [  # subject, tags, group, ticket type
    ("Where is my order?", "shipping_delay wismo", "Support", "Question"),
    ("Wrong size delivered", "exchange sizing", "Returns", "Incident"),
    ("Request a refund", "refund", "Billing", "Task"),
    ("Charged twice", "billing double_charge refund", "Billing", "Incident"),
    ("Discount code not working", "promo discount", "Support", "Problem"),
    ("How do I return an item?", "returns", "Returns", "Question"),
    ("Change delivery address", "address shipping", "Support", "Task"),
    ("Item arrived damaged", "damaged refund", "Returns", "Incident"),
    ("Question about sizing", "sizing presale", "Support", "Question"),
]


def make_zendesk(rng: random.Random) -> dict[str, tuple[list[str], list[Row]]]:
    """~265 tickets of an apparel shop's help desk, Jun – Nov 2025 (the set's "today" is 1 Dec 2025)."""
    people = _people(rng, 210)
    agents = {"Support": ["Nadia Flores", "Ben Carter"], "Billing": ["Tariq Aziz"], "Returns": ["Lucy Hart", "Ben Carter"]}
    orgs = {"": 80, "Northwind Uniforms": 6, "Bright Schools": 5, "Harbour Hotels": 4, "Peak Gyms": 5}
    rows: list[Row] = []
    end = dt.datetime(2025, 11, 30, 23, 0)
    for n, day in enumerate(_dates(rng, 265, dt.date(2025, 6, 1), dt.date(2025, 11, 30), growth=1.2)):
        created = dt.datetime.combine(day, dt.time(rng.randint(6, 22), rng.randint(0, 59), rng.randint(0, 59)))
        first, last, email = rng.choice(people[:50]) if rng.random() < 0.35 else rng.choice(people)
        subject, tags, group, ttype = rng.choice(_ZD_TOPICS)
        via = _pick(rng, {"Email": 38, "Web form": 24, "Chat": 22, "Phone call (inbound)": 10, "Instagram DM": 6})
        if via == "Chat":
            tags += " chat"
        priority = _pick(rng, {"Low": 18, "Normal": 55, "High": 20, "Urgent": 7})
        age_days = (end - created).days
        status = _pick(rng, {"Closed": 55, "Solved": 30, "Pending": 6, "Open": 5, "On-hold": 2, "New": 2})
        if age_days > 10 and status in ("Open", "New", "On-hold") and rng.random() < 0.7:
            status = "Closed"
        if age_days < 4 and status == "Closed":
            status = "Solved"
        speed = {"Chat": 0.15, "Phone call (inbound)": 0.1}.get(via, 1.0) * {"Urgent": 0.4, "High": 0.7}.get(priority, 1.0)
        first_reply = max(1, int(rng.expovariate(1 / (240 * speed)))) if status != "New" else None
        solved = status in ("Solved", "Closed")
        resolution = int((first_reply or 0) + rng.expovariate(1 / (1_800 * speed))) if solved else None
        solved_at = created + dt.timedelta(minutes=resolution) if resolution is not None else None
        if solved_at is not None and solved_at > end:
            solved_at, resolution = end, int((end - created).total_seconds() // 60)
        updated = (solved_at or created) + dt.timedelta(hours=rng.randint(0, 30))
        sat = ""
        if solved:
            sat = _pick(rng, {"Good": 48, "Bad": 10, "Offered": 30, "Unoffered": 12})
        else:
            sat = "Unoffered"
        reopens = rng.choices([0, 0, 0, 0, 0, 1, 1, 2], k=1)[0] if solved else 0
        stamp = "%Y-%m-%d %H:%M:%S"
        rows.append([
            48_210 + n, f"{first} {last}", email, rng.choice(agents[group]) if status != "New" else "", group, subject,
            tags, status, priority, via, ttype, created.strftime(stamp), min(updated, end).strftime(stamp),
            solved_at.strftime(stamp) if solved_at else "", sat, _pick(rng, orgs), reopens,
            rng.randint(1, 3) + reopens * 2 if status != "New" else 0,
            first_reply if first_reply is not None else "", resolution if resolution is not None else "",
        ])
    return {"tickets.csv": (ZENDESK_HEADER, rows)}


# --------------------------------------------------------------------------------------------
# Google Ads campaign report, segmented by week
# --------------------------------------------------------------------------------------------

GOOGLE_ADS_HEADER = ["Week", "Campaign", "Campaign status", "Campaign type", "Currency code", "Budget", "Impr.",
                     "Clicks", "CTR", "Avg. CPC", "Cost", "Conversions", "Cost / conv.", "Conv. rate", "Conv. value"]
GOOGLE_ADS_PREAMBLE = ["Campaign report", "June 2, 2025 - November 30, 2025"]

# campaign -> (type, daily budget, weekly impressions, ctr, cpc, conv rate, avg conv value, first week, last week)
_CAMPAIGNS: dict[str, tuple[str, float, int, float, float, float, float, int, int]] = {
    "Brand - Search": ("Search", 40.0, 6_500, 0.11, 0.45, 0.09, 72.0, 0, 25),
    "Generic - Running Shoes": ("Search", 120.0, 21_000, 0.045, 1.35, 0.028, 95.0, 0, 25),
    "PMax - All Products": ("Performance Max", 150.0, 64_000, 0.012, 0.78, 0.031, 88.0, 0, 25),
    "Shopping - Trail": ("Shopping", 60.0, 18_000, 0.016, 0.62, 0.022, 104.0, 4, 25),
    "Remarketing - Display": ("Display", 25.0, 90_000, 0.0035, 0.41, 0.012, 66.0, 0, 25),
    "YouTube - Summer Launch": ("Video", 80.0, 110_000, 0.0021, 0.95, 0.004, 80.0, 2, 12),
}


def _count(n: int) -> str:
    return f"{n:,}"


def make_google_ads(rng: random.Random) -> dict[str, tuple[list[str], list[Row]]]:
    """26 weeks (2 Jun – 30 Nov 2025) x 6 campaigns of a running-shoe shop; two title lines above the header."""
    rows: list[Row] = []
    monday = dt.date(2025, 6, 2)
    for week in range(26):
        day = monday + dt.timedelta(weeks=week)
        season = 1.0 + (0.5 if day.month == 11 else 0.0) + 0.15 * rng.random()
        for name, (ctype, budget, impr, ctr, cpc, cvr, value, first, last) in _CAMPAIGNS.items():
            if not first <= week <= last:
                continue
            status = "Paused" if name == "YouTube - Summer Launch" else "Enabled"
            shown = int(impr * season * rng.uniform(0.7, 1.3))
            clicks = max(0, int(shown * ctr * rng.uniform(0.75, 1.25)))
            cost = round(clicks * cpc * rng.uniform(0.85, 1.15), 2)
            conv = round(clicks * cvr * rng.uniform(0.4, 1.6) + (0.5 if rng.random() < 0.3 else 0.0), 0)
            if ctype == "Performance Max":
                conv += round(rng.random(), 2)  # data-driven attribution gives fractions
            conv_value = round(conv * value * rng.uniform(0.8, 1.2), 2)
            rows.append([
                day.isoformat(), name, status, ctype, "USD", f"{budget:.2f}", _count(shown), _count(clicks),
                f"{100 * clicks / shown:.2f}%" if shown else "--", f"{cost / clicks:.2f}" if clicks else "--",
                f"{cost:,.2f}", f"{conv:.2f}", f"{cost / conv:,.2f}" if conv else "--",
                f"{100 * conv / clicks:.2f}%" if clicks else "--", f"{conv_value:,.2f}",
            ])
    return {"campaign_report.csv": (GOOGLE_ADS_HEADER, rows)}


# --------------------------------------------------------------------------------------------
# UK charity CRM: supporters + gifts
# --------------------------------------------------------------------------------------------

CHARITY_SUPPORTERS_HEADER = ["Supporter ID", "Title", "First Name", "Last Name", "Email", "Postcode", "Region",
                             "Supporter Type", "Date Added", "Gift Aid Declaration", "Email Opt-in", "Source"]
CHARITY_GIFTS_HEADER = ["Gift ID", "Supporter ID", "Gift Date", "Amount", "Campaign", "Fund", "Payment Method",
                        "Recurring", "Gift Aid Claimed", "Status"]

_REGIONS = {"London": ("SE1", 24), "South West": ("BS1", 14), "North West": ("M1", 15), "Scotland": ("EH1", 12),
            "Yorkshire": ("LS1", 11), "Wales": ("CF10", 9), "East Anglia": ("NR1", 8), "Midlands": ("B1", 7)}
_CAMPAIGN_MONTHS = {"Spring Appeal": (3, 4), "Summer Fete": (7, 7), "Coastal Clean-up": (9, 9),
                    "Christmas Appeal": (11, 12)}


def _uk_date(day: dt.date) -> str:
    return f"{day.day:02d}/{day.month:02d}/{day.year}"


def make_charity(rng: random.Random) -> dict[str, tuple[list[str], list[Row]]]:
    """~190 supporters (added Jun 2022 – Dec 2025) and ~450 gifts of a UK marine-conservation charity."""
    people = _people(rng, 190)
    supporters: list[Row] = []
    kinds: list[str] = []
    added_on: list[dt.date] = []
    for n, (day, (first, last, email)) in enumerate(zip(_dates(rng, 190, dt.date(2022, 6, 1), dt.date(2025, 12, 15)),
                                                        people, strict=True)):
        region = _pick(rng, {k: v[1] for k, v in _REGIONS.items()})
        kind = _pick(rng, {"Individual": 86, "Company": 8, "Trust": 6})
        kinds.append(kind)
        added_on.append(day)
        title = rng.choice(["Mr", "Mrs", "Ms", "Dr", "Mx", ""]) if kind == "Individual" else ""
        name_first, name_last = (first, last) if kind == "Individual" else ("", f"{last} {rng.choice(['Ltd', 'Trust', 'Foundation'])}")
        supporters.append([
            f"SUP{10_400 + n}", title, name_first, name_last, email,
            f"{_REGIONS[region][0]} {rng.randint(1, 9)}{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}",
            region, kind, _uk_date(day), "Y" if kind == "Individual" and rng.random() < 0.62 else "N",
            "Yes" if rng.random() < 0.55 else "No",
            _pick(rng, {"Website": 35, "Event": 20, "JustGiving": 18, "Street fundraising": 12, "Referral": 15}),
        ])
    gifts: list[Row] = []
    gid = 70_001
    end = dt.date(2025, 12, 31)
    for n, row in enumerate(supporters):
        if rng.random() < 0.12:  # signed up, never gave
            continue
        start = added_on[n]
        recurring = kinds[n] == "Individual" and rng.random() < 0.22
        dates: list[dt.date] = []
        if recurring:
            d = start + dt.timedelta(days=rng.randint(0, 20))
            stop = min(end, d + dt.timedelta(days=rng.randint(60, 900)))
            while d <= stop and len(dates) < 9:
                dates.append(d)
                d += dt.timedelta(days=91)  # quarterly direct debit
        else:
            count = rng.choices([1, 1, 1, 2, 2, 3, 4], k=1)[0]
            dates = _dates(rng, count, start, end) if (end - start).days > 10 else [start]
        for d in dates:
            campaign = next((c for c, (a, b) in _CAMPAIGN_MONTHS.items() if a <= d.month <= b), "General")
            if recurring:
                amount, method, campaign = float(rng.choice([5, 10, 10, 15, 20])) * 3, "Direct Debit", "Regular Giving"
            elif kinds[n] == "Individual":
                amount = float(rng.choice([10, 20, 25, 25, 30, 50, 50, 75, 100, 150, 250]))
                method = _pick(rng, {"Card": 45, "JustGiving": 25, "Cheque": 12, "Cash": 8, "Bank Transfer": 10})
            else:
                amount = float(rng.choice([500, 750, 1000, 1500, 2500, 5000]))
                method = "Bank Transfer"
            status = _pick(rng, {"Received": 95, "Refunded": 3, "Pending": 2}) if d < dt.date(2025, 12, 1) else \
                _pick(rng, {"Received": 80, "Pending": 20})
            aid = amount * 0.25 if row[9] == "Y" and method != "JustGiving" and status == "Received" else 0.0
            fund = "Unrestricted" if campaign in ("General", "Regular Giving", "Summer Fete") else \
                ("Seagrass Restoration" if campaign == "Coastal Clean-up" else rng.choice(["Unrestricted", "Beach Schools"]))
            gifts.append([f"G{gid}", row[0], _uk_date(d), _money(amount, "£"), campaign, fund, method,
                          "TRUE" if recurring else "FALSE", _money(aid, "£"), status])
            gid += 1
    gifts.sort(key=lambda g: dt.datetime.strptime(str(g[2]), "%d/%m/%Y").date())
    return {"supporters.csv": (CHARITY_SUPPORTERS_HEADER, supporters), "gifts.csv": (CHARITY_GIFTS_HEADER, gifts)}


PREAMBLES: dict[str, list[str]] = {"campaign_report.csv": GOOGLE_ADS_PREAMBLE}
