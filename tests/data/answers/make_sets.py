"""Write the synthetic CSV files of the development question sets (tests/data/answers/<set>/).

Every file has exactly the column headers of a documented public export format (named in the
set's questions.yaml `source`) and values shaped like real exports: money as text where the
format writes it so, blanks, continuation rows, codes next to names. All rows are invented here.

Deterministic: each set draws from its own seeded random.Random, so
`python tests/data/answers/make_sets.py` rewrites every CSV byte for byte. Changing a generator
changes the truths of its questions: re-run tests/test_answer_corpus.py and re-read the questions.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import random
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_round3 import make_b2b, make_boxes, make_hotel  # noqa: E402
from make_round4 import (  # noqa: E402
    PREAMBLES,
    make_charity,
    make_etsy,
    make_google_ads,
    make_paypal,
    make_zendesk,
)
from make_round5 import (  # noqa: E402
    make_amazon,
    make_chargebee,
    make_klaviyo,
    make_loyalty,
    make_sumup,
    make_toast,
)

HERE = Path(__file__).resolve().parent
MAX_FILE_BYTES = 60_000

Row = list[object]

FIRST = [
    "Olivia", "Liam", "Emma", "Noah", "Ava", "Elijah", "Sophia", "Lucas", "Mia", "Mateo", "Amelia",
    "Ethan", "Harper", "Levi", "Evelyn", "Asher", "Aria", "Leo", "Chloe", "Ezra", "Nora", "Hudson",
    "Zoe", "Kai", "Priya", "Arjun", "Yuki", "Hana", "Lena", "Jonas", "Camille", "Hugo", "Sofia",
    "Diego", "Fatima", "Omar", "Grace", "Owen", "Ruby", "Felix", "Isla", "Theo", "Maya", "Sam",
]
LAST = [
    "Smith", "Johnson", "Garcia", "Brown", "Nguyen", "Patel", "Kim", "Müller", "Schneider", "Rossi",
    "Martin", "Dubois", "Wilson", "Taylor", "Anderson", "Thomas", "Lee", "Walker", "Young", "Lopez",
    "Hughes", "Murphy", "O'Brien", "Kowalski", "Novak", "Jansen", "de Vries", "Silva", "Costa", "Ito",
]
MAIL_DOMAINS = ["gmail.com", "outlook.com", "yahoo.com", "icloud.com", "hotmail.com", "proton.me"]


def write_csv(path: Path, header: Sequence[str], rows: Sequence[Row], preamble: Sequence[str] = ()) -> None:
    """Write one export file: UTF-8, comma separated, minimal quoting, '\\n' line ends.

    `preamble` lines (a report's title and date range, as Google Ads writes them) go above the header.
    """
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n", delimiter="\t" if path.suffix == ".tsv" else ",")
        for line in preamble:
            writer.writerow([line])
        writer.writerow(header)
        for row in rows:
            if len(row) != len(header):
                raise ValueError(f"{path.name}: row has {len(row)} fields, header {len(header)}")
            writer.writerow(["" if v is None else v for v in row])
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise ValueError(f"{path.name} is {size} bytes; keep each file under {MAX_FILE_BYTES}")


def pick(rng: random.Random, weighted: Mapping[str, float]) -> str:
    """One key of `weighted`, drawn with the given weights."""
    return rng.choices(list(weighted), weights=list(weighted.values()))[0]


def person(rng: random.Random, used: set[str]) -> tuple[str, str, str]:
    """A first name, last name and an email address not handed out before."""
    while True:
        first, last = rng.choice(FIRST), rng.choice(LAST)
        local = f"{first}.{last}".lower().replace("'", "").replace(" ", "").replace("ü", "u")
        if rng.random() < 0.3:
            local += str(rng.randint(1, 99))
        email = f"{local}@{rng.choice(MAIL_DOMAINS)}"
        if email not in used:
            used.add(email)
            return first, last, email


def spread_dates(rng: random.Random, n: int, start: dt.date, end: dt.date, growth: float = 1.0) -> list[dt.date]:
    """n sorted dates in [start, end]; growth > 1 puts more of them near the end (a growing shop)."""
    span = (end - start).days
    days = sorted(int(span * (rng.random() ** (1.0 / growth))) for _ in range(n))
    return [start + dt.timedelta(days=d) for d in days]


def first_row_only(is_first: bool, value: object) -> object:
    """Shopify writes order-level fields on an order's first line-item row and leaves them blank after."""
    return value if is_first else ""


def us_offset(day: dt.date) -> str:
    """UTC offset of US Eastern time on `day` (daylight time from 2nd Sunday of March to 1st of November)."""
    march = dt.date(day.year, 3, 8)
    dst_start = march + dt.timedelta(days=(6 - march.weekday()) % 7)
    nov = dt.date(day.year, 11, 1)
    dst_end = nov + dt.timedelta(days=(6 - nov.weekday()) % 7)
    return "-0400" if dst_start <= day < dst_end else "-0500"


# --------------------------------------------------------------------------------------------
# 1. Shopify orders_export.csv (one row per line item)
# --------------------------------------------------------------------------------------------

SHOPIFY_HEADER = [
    "Name", "Email", "Financial Status", "Paid at", "Fulfillment Status", "Fulfilled at",
    "Accepts Marketing", "Currency", "Subtotal", "Shipping", "Taxes", "Total", "Discount Code",
    "Discount Amount", "Shipping Method", "Created at", "Lineitem quantity", "Lineitem name",
    "Lineitem price", "Lineitem compare at price", "Lineitem sku", "Lineitem requires shipping",
    "Lineitem taxable", "Lineitem fulfillment status", "Billing Name", "Billing Street",
    "Billing Address1", "Billing Address2", "Billing Company", "Billing City", "Billing Zip",
    "Billing Province", "Billing Country", "Billing Phone", "Shipping Name", "Shipping Street",
    "Shipping Address1", "Shipping Address2", "Shipping Company", "Shipping City", "Shipping Zip",
    "Shipping Province", "Shipping Country", "Shipping Phone", "Notes", "Note Attributes",
    "Cancelled at", "Payment Method", "Payment Reference", "Refunded Amount", "Vendor",
    "Outstanding Balance", "Employee", "Location", "Device ID", "Id", "Tags", "Risk Level", "Source",
    "Lineitem discount", "Tax 1 Name", "Tax 1 Value", "Tax 2 Name", "Tax 2 Value", "Tax 3 Name",
    "Tax 3 Value", "Tax 4 Name", "Tax 4 Value", "Tax 5 Name", "Tax 5 Value", "Phone",
    "Receipt Number", "Duties", "Billing Province Name", "Shipping Province Name", "Payment ID",
    "Payment Terms Name", "Next Payment Due At", "Payment References",
]

# name, sku, price, compare-at price, vendor, requires shipping
SHOPIFY_PRODUCTS = [
    ("Sencha Loose Leaf 100g", "TEA-SEN-100", 14.0, None, "Kumo Tea", True),
    ("Earl Grey Cream 100g", "TEA-EGC-100", 12.5, None, "Kumo Tea", True),
    ("Ceremonial Matcha 30g", "TEA-MAT-030", 32.0, 38.0, "Kumo Tea", True),
    ("Hojicha Roast 80g", "TEA-HOJ-080", 13.0, None, "Kumo Tea", True),
    ("Cast Iron Teapot", "WARE-POT-CI", 68.0, None, "Tetsu Works", True),
    ("Glass Kettle 1L", "WARE-KET-GL", 45.0, 52.0, "Tetsu Works", True),
    ("Bamboo Whisk", "WARE-WHISK", 18.0, None, "Tetsu Works", True),
    ("Stoneware Cup Set", "WARE-CUP-4", 36.0, None, "Hollow Clay", True),
    ("Tea Tin Duo", "WARE-TIN-2", 16.0, None, "Hollow Clay", True),
    ("Monthly Tea Box", "SUB-BOX-1M", 29.0, None, "Kumo Tea", True),
    ("Gift Card", "GIFT-50", 50.0, None, "Kumo Tea", False),
]
SHOPIFY_PRODUCT_WEIGHTS = [16, 14, 10, 9, 4, 5, 8, 6, 9, 8, 3]

# country code -> (weight, tax rate, tax name, cities with province code, province name, zip)
SHOPIFY_COUNTRIES: dict[str, tuple[float, float, str, list[tuple[str, str, str, str]]]] = {
    "US": (44, 0.0725, "State Tax", [
        ("Portland", "OR", "Oregon", "97205"), ("Austin", "TX", "Texas", "78701"),
        ("Brooklyn", "NY", "New York", "11201"), ("Seattle", "WA", "Washington", "98101"),
        ("Denver", "CO", "Colorado", "80202"), ("San Jose", "CA", "California", "95112"),
    ]),
    "CA": (18, 0.13, "HST", [
        ("Toronto", "ON", "Ontario", "M5V 2T6"), ("Vancouver", "BC", "British Columbia", "V6B 1A1"),
        ("Montréal", "QC", "Quebec", "H2X 1Y4"),
    ]),
    "GB": (13, 0.20, "VAT", [("London", "", "", "E1 6AN"), ("Manchester", "", "", "M1 1AE")]),
    "AU": (9, 0.10, "GST", [("Sydney", "NSW", "New South Wales", "2000"), ("Melbourne", "VIC", "Victoria", "3000")]),
    "DE": (8, 0.19, "MwSt", [("Berlin", "", "", "10115"), ("Hamburg", "", "", "20095")]),
    "NL": (4, 0.21, "BTW", [("Amsterdam", "", "", "1012 AB")]),
    "JP": (4, 0.10, "Consumption Tax", [("Tokyo", "", "", "150-0001")]),
}


def make_shopify(rng: random.Random) -> dict[str, tuple[list[str], list[Row]]]:
    """~130 orders of a tea shop; order fields only on an order's first line-item row, as Shopify writes them."""
    used: set[str] = set()
    customers = []
    for _ in range(56):
        first, last, email = person(rng, used)
        code = pick(rng, {c: v[0] for c, v in SHOPIFY_COUNTRIES.items()})
        city = rng.choice(SHOPIFY_COUNTRIES[code][3])
        customers.append((first, last, email, code, city, "yes" if rng.random() < 0.58 else "no"))
    cust_weights = [rng.paretovariate(1.6) for _ in customers]
    dates = spread_dates(rng, 84, dt.date(2024, 10, 1), dt.date(2025, 11, 14), growth=1.5)
    rows: list[Row] = []
    for n, day in enumerate(dates):
        name = f"#{1001 + n}"
        first, last, email, code, city, accepts = rng.choices(customers, weights=cust_weights)[0]
        ship_code, ship_city = code, city
        if rng.random() < 0.06:  # a gift shipped elsewhere
            ship_code = rng.choice([c for c in SHOPIFY_COUNTRIES if c != code])
            ship_city = rng.choice(SHOPIFY_COUNTRIES[ship_code][3])
        n_items = rng.choices([1, 2, 3, 4], weights=[52, 30, 13, 5])[0]
        products: list[tuple[str, str, float, float | None, str, bool]] = []
        while len(products) < n_items:
            p = rng.choices(SHOPIFY_PRODUCTS, weights=SHOPIFY_PRODUCT_WEIGHTS)[0]
            if p not in products:
                products.append(p)
        qtys = [rng.choices([1, 2, 3, 6], weights=[70, 20, 7, 3])[0] for _ in products]
        gross = sum(p[2] * q for p, q in zip(products, qtys, strict=True))
        code_used = ""
        if rng.random() < 0.24:
            code_used = rng.choice(["WELCOME10", "WELCOME10", "STEEP15", "FREESHIP"])
            if code_used == "STEEP15" and not (6 <= day.month <= 8):
                code_used = "WELCOME10"
        discount = {"WELCOME10": 0.10, "STEEP15": 0.15}.get(code_used, 0.0) * gross
        discount = round(discount, 2)
        subtotal = round(gross - discount, 2)
        domestic = ship_code == "US"
        shipping = 0.0 if (code_used == "FREESHIP" or subtotal >= 75) else (6.95 if domestic else 14.0)
        if all(not p[5] for p in products):
            shipping = 0.0
        rate = SHOPIFY_COUNTRIES[ship_code][1]
        taxes = round(subtotal * rate, 2)
        total = round(subtotal + shipping + taxes, 2)
        status = pick(rng, {"paid": 80, "refunded": 5, "partially_refunded": 4, "pending": 6, "voided": 5})
        offset = us_offset(day)
        moment = dt.datetime.combine(day, dt.time(rng.randint(9, 19), rng.randint(0, 59), rng.randint(0, 59)))
        created = f"{moment:%Y-%m-%d %H:%M:%S} {offset}"
        paid_moment = moment + dt.timedelta(seconds=rng.randint(1, 40))
        paid_at = "" if status in ("pending", "voided") else f"{paid_moment:%Y-%m-%d %H:%M:%S} {offset}"
        recent = (dt.date(2025, 11, 14) - day).days < 3
        if status in ("pending", "voided") or recent:
            fulfillment = "unfulfilled"
        elif n_items > 1 and rng.random() < 0.08:
            fulfillment = "partial"
        else:
            fulfillment = "fulfilled"
        fulfilled_at = ""
        if fulfillment == "fulfilled":
            fday = day + dt.timedelta(days=rng.randint(1, 3))
            fulfilled_at = f"{fday.isoformat()} {rng.randint(10, 17):02d}:{rng.randint(0, 59):02d}:00 {us_offset(fday)}"
        refunded = {"refunded": total, "partially_refunded": round(total * rng.choice([0.2, 0.3, 0.5]), 2)}.get(status, 0.0)
        source = pick(rng, {"web": 68, "pos": 11, "shopify_draft_order": 5, "580111": 11, "iphone": 5})
        payment = "manual" if source == "shopify_draft_order" else pick(
            rng, {"Shopify Payments": 75, "PayPal Express Checkout": 18, "Shop Pay Installments": 7}
        )
        if source == "pos":
            ship_method, location, employee = "", "Portland Flagship", rng.choice(["Mina Ito", "Carl Reyes"])
        else:
            ship_method = "Free Shipping" if shipping == 0 else ("Standard" if domestic else "International")
            location, employee = "", ""
        cancelled_at = ""
        if status == "voided":
            cday = day + dt.timedelta(days=1)
            cancelled_at = f"{cday.isoformat()} 09:{rng.randint(10, 59):02d}:00 {us_offset(cday)}"
        ship_country = SHOPIFY_COUNTRIES[ship_code]
        street = f"{rng.randint(1, 999)} {rng.choice(['Maple', 'Oak', 'Harbour', 'Station', 'Mill', 'Cedar'])} {rng.choice(['St', 'Ave', 'Rd', 'Lane'])}"
        ship_name = f"{first} {last}" if ship_code == code else f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        ship_street = street if ship_code == code else f"{rng.randint(1, 99)} Market St"
        order_id = 5_600_000_000_000 + n * 7919
        for i, (prod, qty) in enumerate(zip(products, qtys, strict=True)):
            pname, sku, price, compare_at, vendor, needs_ship = prod
            line_discount = round(price * qty * ({"WELCOME10": 0.10, "STEEP15": 0.15}.get(code_used, 0.0)), 2)
            item_status = "fulfilled" if fulfillment == "fulfilled" or (fulfillment == "partial" and i == 0) else "pending"
            o = functools.partial(first_row_only, i == 0)
            row: Row = [
                name, email, status, paid_at, fulfillment, fulfilled_at, accepts, "USD",
                o(f"{subtotal:.2f}"), o(f"{shipping:.2f}"), o(f"{taxes:.2f}"), o(f"{total:.2f}"),
                o(code_used), o(f"{discount:.2f}"), o(ship_method), created,
                qty, pname, f"{price:.2f}", "" if compare_at is None else f"{compare_at:.2f}", sku,
                "true" if needs_ship else "false", "true", item_status,
                o(f"{first} {last}"), o(street), o(street), "", "", o(city[0]), o(city[3]), o(city[1]),
                o(code), "",
                o(ship_name), o(ship_street), o(ship_street), "", "", o(ship_city[0]), o(ship_city[3]),
                o(ship_city[1]), o(ship_code), "",
                o("Gift - please no invoice" if (ship_code != code and rng.random() < 0.5) else ""), "",
                o(cancelled_at),
                o(payment), "", o(f"{refunded:.2f}"), vendor,
                o("0.00" if status != "pending" else f"{total:.2f}"), o(employee), o(location), "",
                o(order_id), o(rng.choice(["", "", "", "wholesale", "VIP", "subscription"])),
                o(pick(rng, {"Low": 92, "Medium": 6, "High": 2})), o(source),
                f"{line_discount:.2f}",
                o(f"{ship_country[2]} {rate * 100:g}%"),
                o(f"{taxes:.2f}"), "", "", "", "", "", "", "", "",
                "", "", "", o(city[2]), o(ship_city[2]),
                o(f"pay_{order_id % 10**9}" if status not in ("pending", "voided") else ""), "", "",
                "",
            ]
            rows.append(row)
    return {"orders_export.csv": (SHOPIFY_HEADER, rows)}


# --------------------------------------------------------------------------------------------
# 2. WooCommerce order export (Import Export Suite for WooCommerce, one row per order)
# --------------------------------------------------------------------------------------------

WOO_HEADER = [
    "order_id", "order_number", "order_date", "paid_date", "status", "shipping_total",
    "shipping_tax_total", "fee_total", "fee_tax_total", "tax_total", "cart_discount",
    "order_discount", "discount_total", "order_total", "order_subtotal", "order_currency",
    "payment_method", "payment_method_title", "transaction_id", "customer_ip_address",
    "customer_user_agent", "shipping_method", "customer_id", "customer_user", "customer_email",
    "billing_first_name", "billing_last_name", "billing_company", "billing_email", "billing_phone",
    "billing_address_1", "billing_address_2", "billing_postcode", "billing_city", "billing_state",
    "billing_country", "shipping_first_name", "shipping_last_name", "shipping_company",
    "shipping_phone", "shipping_address_1", "shipping_address_2", "shipping_postcode",
    "shipping_city", "shipping_state", "shipping_country", "customer_note", "coupon_items",
    "line_item_1", "line_item_2",
]

# name, product id, sku, price
WOO_PRODUCTS = [
    ("Grain-Free Salmon Kibble 5kg", 311, "DOG-KIB-5", 54.99),
    ("Chicken Jerky Treats", 318, "DOG-TRT-CJ", 9.49),
    ("Orthopedic Dog Bed L", 322, "DOG-BED-L", 89.0),
    ("Reflective Leash", 327, "DOG-LSH-R", 19.95),
    ("Cat Scratching Post", 341, "CAT-SCR-1", 39.5),
    ("Clumping Cat Litter 10L", 345, "CAT-LIT-10", 15.99),
    ("Feather Wand Toy", 349, "CAT-TOY-FW", 7.99),
    ("Catnip Mice 3-pack", 352, "CAT-TOY-NM", 6.5),
    ("Aquarium Starter Kit", 367, "FSH-KIT-40", 129.0),
    ("Flea & Tick Collar", 371, "DOG-FLC-1", 29.99),
]
WOO_WEIGHTS = [14, 18, 4, 9, 5, 14, 10, 10, 2, 8]

# country -> weight, states (code, city, postcode)
WOO_COUNTRIES: dict[str, tuple[float, list[tuple[str, str, str]]]] = {
    "US": (50, [("CA", "Sacramento", "95814"), ("TX", "Dallas", "75201"), ("FL", "Tampa", "33602"),
                ("IL", "Chicago", "60601"), ("ME", "Portland", "04101"), ("IN", "Indianapolis", "46204")]),
    "CA": (14, [("ON", "Ottawa", "K1P 5G4"), ("AB", "Calgary", "T2P 1J9")]),
    "GB": (14, [("", "Bristol", "BS1 4DJ"), ("", "Leeds", "LS1 4AP")]),
    "IE": (8, [("D", "Dublin", "D02 X285")]),
    "AU": (8, [("QLD", "Brisbane", "4000"), ("WA", "Perth", "6000")]),
    "NZ": (6, [("AUK", "Auckland", "1010")]),
}


def make_woocommerce(rng: random.Random) -> dict[str, tuple[list[str], list[Row]]]:
    """~110 orders of a pet-supplies store, one row per order, line items as WooCommerce's key:value text."""
    used: set[str] = set()
    customers = []
    for k in range(70):
        first, last, email = person(rng, used)
        country = pick(rng, {c: v[0] for c, v in WOO_COUNTRIES.items()})
        state, city, postcode = rng.choice(WOO_COUNTRIES[country][1])
        registered = rng.random() < 0.6
        customers.append((first, last, email, country, state, city, postcode, 40 + k * 3 if registered else 0))
    weights = [rng.paretovariate(1.4) for _ in customers]
    dates = spread_dates(rng, 112, dt.date(2024, 11, 1), dt.date(2025, 11, 13), growth=1.3)
    rows: list[Row] = []
    for n, day in enumerate(dates):
        first, last, email, country, state, city, postcode, user_id = rng.choices(customers, weights=weights)[0]
        order_id = 2100 + n * 3 + rng.randint(0, 2)  # ids skip drafts and refunds
        items = rng.sample(range(len(WOO_PRODUCTS)), k=rng.choices([1, 2], weights=[62, 38])[0])
        items.sort(key=lambda i: -WOO_WEIGHTS[i])
        lines = []
        subtotal = 0.0
        for i in items:
            pname, pid, sku, price = WOO_PRODUCTS[i]
            qty = rng.choices([1, 2, 3, 4], weights=[64, 24, 8, 4])[0]
            total = round(price * qty, 2)
            subtotal += total
            lines.append(f"name:{pname}|product_id:{pid}|sku:{sku}|quantity:{qty}|total:{total:.2f}")
        subtotal = round(subtotal, 2)
        coupon = ""
        discount = 0.0
        if rng.random() < 0.2:
            coupon = rng.choice(["newpup10", "newpup10", "blackfriday20", "loyal5"])
            if coupon == "blackfriday20" and day.month != 11:
                coupon = "newpup10"
            pct = {"newpup10": 0.10, "blackfriday20": 0.20, "loyal5": 0.05}[coupon]
            discount = round(subtotal * pct, 2)
        shipping = 0.0 if subtotal - discount >= 60 else (5.99 if country == "US" else 12.5)
        method = "Free shipping" if shipping == 0 else "Flat rate"
        if rng.random() < 0.07:
            shipping, method = 0.0, "Local pickup"
        tax_rate = {"US": 0.06, "CA": 0.05, "GB": 0.20, "IE": 0.23, "AU": 0.10, "NZ": 0.15}[country]
        tax = round((subtotal - discount) * tax_rate, 2)
        ship_tax = round(shipping * tax_rate, 2)
        total = round(subtotal - discount + shipping + tax + ship_tax, 2)
        status = pick(rng, {"completed": 72, "processing": 9, "on-hold": 4, "cancelled": 6, "refunded": 5,
                            "failed": 3, "pending": 1})
        if (dt.date(2025, 11, 13) - day).days < 4 and status == "completed":
            status = "processing"
        gateway = pick(rng, {"stripe": 55, "ppcp-gateway": 30, "cod": 6, "bacs": 9})
        title = {"stripe": "Credit Card (Stripe)", "ppcp-gateway": "PayPal", "cod": "Cash on delivery",
                 "bacs": "Direct bank transfer"}[gateway]
        hh, mm, ss = rng.randint(7, 22), rng.randint(0, 59), rng.randint(0, 59)
        created = f"{day.isoformat()} {hh:02d}:{mm:02d}:{ss:02d}"
        paid = "" if status in ("failed", "pending", "on-hold", "cancelled") else created
        txn = f"pi_3P{rng.getrandbits(40):010x}" if gateway == "stripe" and paid else (
            f"{rng.getrandbits(32):08X}" if gateway == "ppcp-gateway" and paid else "")
        coupon_text = f"code:{coupon}|amount:{discount:.2f}" if coupon else ""
        company = "Happy Tails Rescue" if rng.random() < 0.03 else ""
        phone = f"+1 555 {rng.randint(100, 999)} {rng.randint(1000, 9999)}" if rng.random() < 0.6 else ""
        addr = f"{rng.randint(1, 450)} {rng.choice(['Elm', 'Birch', 'King', 'Queen', 'Park', 'River'])} {rng.choice(['St', 'Rd', 'Ave'])}"
        row: Row = [
            order_id, order_id, created, paid, status, f"{shipping:.2f}", f"{ship_tax:.2f}", "0.00",
            "0.00", f"{tax:.2f}", f"{discount:.2f}", "0.00", f"{discount:.2f}", f"{total:.2f}",
            f"{subtotal:.2f}", "USD", gateway, title, txn,
            f"{rng.randint(23, 223)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
            rng.choice(["Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X)",
                        "Mozilla/5.0 (Windows NT 10.0; Win64; x64)", "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4)",
                        "Mozilla/5.0 (Linux; Android 14)"]),
            method, user_id, email if user_id else "", email,
            first, last, company, email, phone, addr, "", postcode, city, state, country,
            first, last, company, "", addr, "", postcode, city, state, country,
            rng.choice(["", "", "", "", "", "Please leave at the back door", "Gift - no receipt"]), coupon_text,
            lines[0], lines[1] if len(lines) > 1 else "",
        ]
        rows.append(row)
    return {"orders.csv": (WOO_HEADER, rows)}


# --------------------------------------------------------------------------------------------
# 3. Stripe Dashboard payments export (unified_payments.csv)
# --------------------------------------------------------------------------------------------

STRIPE_HEADER = [
    "id", "Description", "Seller Message", "Created (UTC)", "Amount", "Amount Refunded", "Currency",
    "Converted Amount", "Converted Amount Refunded", "Fee", "Tax", "Converted Currency", "Mode",
    "Status", "Statement Descriptor", "Customer ID", "Customer Description", "Customer Email",
    "Captured", "Card ID", "Card Last4", "Card Brand", "Card Funding", "Card Exp Month",
    "Card Exp Year", "Card Name", "Card Address Line1", "Card Address Line2", "Card Address City",
    "Card Address State", "Card Address Country", "Card Address Zip", "Card Issue Country",
    "Card Fingerprint", "Card CVC Status", "Card AVS Zip Status", "Card AVS Line1 Status",
    "Card Tokenization Method", "Disputed Amount", "Dispute Status", "Dispute Reason",
    "Dispute Date (UTC)", "Dispute Evidence Due (UTC)", "Invoice ID", "Payment Source Type",
    "Destination", "Transfer", "Interchange Costs", "Merchant Service Charge", "Transfer Group",
]


def _stripe_id(rng: random.Random, prefix: str, n: int = 24) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    return prefix + "".join(rng.choice(alphabet) for _ in range(n))


def make_stripe(rng: random.Random) -> dict[str, tuple[list[str], list[Row]]]:
    """~170 card payments of an online design-course business: plans, one-off courses, failures, refunds."""
    used: set[str] = set()
    customers = []
    for _ in range(72):
        first, last, email = person(rng, used)
        country = pick(rng, {"US": 50, "GB": 14, "DE": 10, "FR": 8, "CA": 10, "NL": 4, "IE": 4})
        brand = pick(rng, {"Visa": 52, "MasterCard": 30, "American Express": 12, "Discover": 6})
        customers.append((first, last, email, _stripe_id(rng, "cus_", 14), country, brand,
                          pick(rng, {"credit": 70, "debit": 27, "prepaid": 3}), rng.randint(1000, 9999),
                          _stripe_id(rng, "", 16)))
    weights = [rng.paretovariate(1.5) for _ in customers]
    products = {"Pro plan (monthly)": 29.0, "Team plan (monthly)": 99.0, "Pro plan (annual)": 290.0,
                "Course: Brand Identity": 149.0, "Course: Motion Basics": 79.0, "Workshop seat": 45.0}
    dates = spread_dates(rng, 168, dt.date(2025, 1, 2), dt.date(2025, 11, 14), growth=1.3)
    rows: list[Row] = []
    for day in dates:
        first, last, email, cus, country, brand, funding, last4, fingerprint = rng.choices(customers, weights=weights)[0]
        product = pick(rng, {"Pro plan (monthly)": 34, "Team plan (monthly)": 12, "Pro plan (annual)": 8,
                             "Course: Brand Identity": 14, "Course: Motion Basics": 18, "Workshop seat": 14})
        currency = "eur" if country in ("DE", "FR", "NL", "IE") and rng.random() < 0.7 else "usd"
        amount = products[product] * (0.92 if currency == "eur" else 1.0)
        amount = round(amount, 0) if currency == "eur" else amount
        converted = round(amount * (1.08 if currency == "eur" else 1.0), 2)
        status = pick(rng, {"Paid": 86, "Failed": 8, "Refunded": 6})
        refunded = amount if status == "Refunded" else 0.0
        if status == "Paid" and rng.random() < 0.03:
            refunded = round(amount / 2, 2)
        conv_refunded = round(refunded * (1.08 if currency == "eur" else 1.0), 2)
        fee = 0.0 if status == "Failed" else round(converted * (0.029 if country == "US" else 0.039) + 0.30, 2)
        moment = dt.datetime.combine(day, dt.time(rng.randint(0, 23), rng.randint(0, 59), rng.randint(0, 59)))
        message = "Payment complete." if status != "Failed" else rng.choice(
            ["Your card was declined.", "Your card has insufficient funds.", "Your card has expired."])
        is_plan = "plan" in product
        description = ("Subscription creation" if rng.random() < 0.3 else "Subscription update") if is_plan else product
        dispute = ("", "", "", "", "")
        if status == "Paid" and rng.random() < 0.025:
            dday = day + dt.timedelta(days=rng.randint(10, 30))
            dispute = (f"{amount:.2f}", rng.choice(["won", "lost", "needs_response"]),
                       rng.choice(["fraudulent", "product_not_received", "subscription_canceled"]),
                       f"{dday.isoformat()} 12:00:00", f"{(dday + dt.timedelta(days=9)).isoformat()} 23:59:59")
        row: Row = [
            _stripe_id(rng, "ch_3P"), description, message, f"{moment:%Y-%m-%d %H:%M:%S}",
            f"{amount:.2f}", f"{refunded:.2f}", currency, f"{converted:.2f}", f"{conv_refunded:.2f}",
            f"{fee:.2f}", "", "usd", "Live", status, "PIXELCRAFT ACADEMY", cus,
            f"{first} {last}" if rng.random() < 0.5 else "", email,
            "true" if status != "Failed" else "false", _stripe_id(rng, "card_1P", 14), last4, brand, funding,
            rng.randint(1, 12), rng.randint(2025, 2030), f"{first} {last}", "", "", "", "", country, "",
            country if rng.random() < 0.95 else "US", fingerprint, "pass", "pass" if country in ("US", "GB", "CA") else "",
            "", rng.choice(["", "", "", "apple_pay", "google_pay"]),
            *dispute, _stripe_id(rng, "in_1P", 14) if is_plan else "", "card", "", "", "", "", "",
        ]
        rows.append(row)
    return {"unified_payments.csv": (STRIPE_HEADER, rows)}


# --------------------------------------------------------------------------------------------
# 4. HubSpot contacts export
# --------------------------------------------------------------------------------------------

HUBSPOT_HEADER = [
    "Record ID", "First Name", "Last Name", "Email", "Phone Number", "Contact owner", "Job Title",
    "Associated Company", "Lifecycle Stage", "Lead Status", "Create Date", "Last Activity Date",
    "Country/Region", "State/Region", "City", "Original Source", "Number of Sales Activities",
    "Number of Pageviews", "Recent Deal Amount", "Became a Customer Date", "Marketing contact status",
    "Unsubscribed from all email",
]

HUBSPOT_PLACES = {
    "United States": (55, [("Texas", "Austin"), ("California", "San Diego"), ("New York", "New York"),
                           ("Illinois", "Chicago"), ("Oregon", "Portland"), ("Georgia", "Atlanta")]),
    "Canada": (12, [("Ontario", "Toronto"), ("British Columbia", "Vancouver")]),
    "United Kingdom": (13, [("England", "London"), ("Scotland", "Glasgow")]),
    "Germany": (10, [("Bavaria", "Munich"), ("Berlin", "Berlin")]),
    "Australia": (6, [("New South Wales", "Sydney")]),
    "India": (4, [("Karnataka", "Bengaluru")]),
}


def make_hubspot(rng: random.Random) -> dict[str, tuple[list[str], list[Row]]]:
    """~250 contacts of a B2B scheduling-software company's CRM, lifecycle stages from subscriber to customer."""
    used: set[str] = set()
    rows: list[Row] = []
    owners = ["Dana Whitfield", "Marco Ruiz", "Aisha Khan", ""]
    companies = ["Brightline Dental", "Kestrel Logistics", "Juniper Yoga", "Northwind Clinics", "Atlas Fitness",
                 "Bluebird Salons", "Cobalt Legal", "Harbor Physio", "Maple Tutors", "Summit Auto Care"]
    dates = spread_dates(rng, 252, dt.date(2024, 6, 1), dt.date(2025, 11, 14), growth=1.4)
    for n, day in enumerate(dates):
        first, last, email = person(rng, used)
        company = rng.choice(companies + [""] * 3)
        if company and rng.random() < 0.6:
            email = f"{first.lower()}.{last.lower().replace(' ', '').replace(chr(39), '')}@{company.lower().replace(' ', '')}.com"
        country = pick(rng, {c: v[0] for c, v in HUBSPOT_PLACES.items()})
        state, city = rng.choice(HUBSPOT_PLACES[country][1])
        if rng.random() < 0.08:
            state, city = "", ""
        if rng.random() < 0.05:
            city = city.lower()
        source = pick(rng, {"Organic Search": 26, "Paid Search": 16, "Email Marketing": 8, "Organic Social": 9,
                            "Paid Social": 12, "Referrals": 10, "Direct Traffic": 13, "Offline Sources": 6})
        stage = pick(rng, {"Subscriber": 22, "Lead": 30, "Marketing Qualified Lead": 16,
                           "Sales Qualified Lead": 10, "Opportunity": 7, "Customer": 13, "Evangelist": 2})
        if source == "Referrals" and stage in ("Subscriber", "Lead") and rng.random() < 0.5:
            stage = "Customer"
        lead_status = ""
        if stage in ("Lead", "Marketing Qualified Lead", "Sales Qualified Lead"):
            lead_status = pick(rng, {"New": 30, "Open": 20, "In Progress": 15, "Attempted to Contact": 18,
                                     "Connected": 8, "Unqualified": 6, "Bad Timing": 3})
        elif stage == "Opportunity":
            lead_status = "Open Deal"
        owner = "" if stage in ("Subscriber",) else rng.choice(owners)
        activities = 0 if stage == "Subscriber" else rng.randint(0, {"Lead": 4, "Marketing Qualified Lead": 6}.get(stage, 12))
        created = dt.datetime.combine(day, dt.time(rng.randint(7, 20), rng.randint(0, 59)))
        last_activity = ""
        if activities or rng.random() < 0.5:
            la = created + dt.timedelta(days=rng.randint(0, max(0, (dt.date(2025, 11, 14) - day).days)))
            last_activity = f"{la:%Y-%m-%d %H:%M}"
        deal = ""
        became = ""
        if stage in ("Customer", "Evangelist", "Opportunity"):
            deal = str(rng.choice([1200, 2400, 2400, 4800, 6000, 9600, 14400]))
        if stage in ("Customer", "Evangelist"):
            bday = day + dt.timedelta(days=rng.randint(5, 90))
            bday = min(bday, dt.date(2025, 11, 14))
            became = f"{bday.isoformat()} {rng.randint(9, 17):02d}:{rng.randint(0, 59):02d}"
        marketing = "Marketing contact" if rng.random() < 0.7 else "Non-marketing contact"
        unsub = "true" if rng.random() < 0.09 else ("false" if rng.random() < 0.7 else "")
        phone = f"+1 {rng.randint(200, 989)}-555-{rng.randint(1000, 9999)}" if country in ("United States", "Canada") and rng.random() < 0.5 else ""
        job = rng.choice(["Owner", "Office Manager", "Practice Manager", "Operations Lead", "Marketing Manager", "", ""])
        rows.append([
            30_151 + n * 51 + rng.randint(0, 40), first, last, email, phone, owner, job, company, stage,
            lead_status, f"{created:%Y-%m-%d %H:%M}", last_activity, country, state, city, source,
            activities, rng.randint(1, 40), deal, became, marketing, unsub,
        ])
    return {"hubspot-crm-exports-all-contacts.csv": (HUBSPOT_HEADER, rows)}


# --------------------------------------------------------------------------------------------
# 5. Mailchimp audience export + campaign reports export
# --------------------------------------------------------------------------------------------

MAILCHIMP_MEMBERS_HEADER = [
    "Email Address", "First Name", "Last Name", "Address", "Phone Number", "Birthday", "MEMBER_RATING",
    "OPTIN_TIME", "OPTIN_IP", "CONFIRM_TIME", "CONFIRM_IP", "LATITUDE", "LONGITUDE", "GMTOFF", "DSTOFF",
    "TIMEZONE", "CC", "REGION", "LAST_CHANGED", "LEID", "EUID", "NOTES", "TAGS",
]
MAILCHIMP_REPORTS_HEADER = [
    "Title", "Subject", "List", "Send Date", "Send Weekday", "Total Recipients", "Successful Deliveries",
    "Soft Bounces", "Hard Bounces", "Total Bounces", "Times Forwarded", "Forwarded Opens", "Unique Opens",
    "Open Rate", "Total Opens", "Unique Clicks", "Click Rate", "Total Clicks", "Unsubscribes",
    "Abuse Complaints", "Times Liked on Facebook", "Folder Id", "Unique Id",
]
MAILCHIMP_PLACES = {  # CC -> weight, (region, timezone, gmtoff, dstoff, lat, lon)
    "US": (48, [("NY", "America/New_York", -5, -4, 40.71, -74.0), ("CA", "America/Los_Angeles", -8, -7, 34.05, -118.24),
                ("IL", "America/Chicago", -6, -5, 41.88, -87.63)]),
    "GB": (16, [("ENG", "Europe/London", 0, 1, 51.51, -0.13)]),
    "CA": (12, [("ON", "America/Toronto", -5, -4, 43.65, -79.38)]),
    "DE": (10, [("BE", "Europe/Berlin", 1, 2, 52.52, 13.40)]),
    "AU": (8, [("NSW", "Australia/Sydney", 10, 11, -33.87, 151.21)]),
    "FR": (6, [("IDF", "Europe/Paris", 1, 2, 48.86, 2.35)]),
}


def make_mailchimp(rng: random.Random) -> dict[str, tuple[list[str], list[Row]]]:
    """A bakery-school newsletter: ~230 subscribed members and 64 sent campaigns with their report figures."""
    used: set[str] = set()
    members: list[Row] = []
    dates = spread_dates(rng, 232, dt.date(2023, 3, 1), dt.date(2025, 11, 13), growth=1.2)
    for n, day in enumerate(dates):
        first, last, email = person(rng, used)
        if rng.random() < 0.12:
            first, last = "", ""
        cc = pick(rng, {c: v[0] for c, v in MAILCHIMP_PLACES.items()})
        region, tz, gmt, dst, lat, lon = rng.choice(MAILCHIMP_PLACES[cc][1])
        located = rng.random() < 0.85
        optin = dt.datetime.combine(day, dt.time(rng.randint(0, 23), rng.randint(0, 59), rng.randint(0, 59)))
        confirmed = rng.random() < 0.78
        confirm = optin + dt.timedelta(minutes=rng.randint(1, 600)) if confirmed else None
        changed = optin + dt.timedelta(days=rng.randint(0, max(0, (dt.date(2025, 11, 13) - day).days)))
        tags = rng.choice(['', '', '', '"Newsletter"', '"Newsletter","VIP"', '"Workshop alumni"',
                           '"Newsletter","Workshop alumni"', '"VIP"'])
        birthday = f"{rng.randint(1, 12):02d}/{rng.randint(1, 28):02d}" if rng.random() < 0.3 else ""
        members.append([
            email, first, last, "", "", birthday, pick(rng, {"1": 6, "2": 40, "3": 25, "4": 18, "5": 11}),
            f"{optin:%Y-%m-%d %H:%M:%S}", "" if rng.random() < 0.4 else f"{rng.randint(20, 220)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
            f"{confirm:%Y-%m-%d %H:%M:%S}" if confirm else "",
            f"{rng.randint(20, 220)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}" if confirm else "",
            f"{lat + rng.uniform(-0.2, 0.2):.7f}" if located else "", f"{lon + rng.uniform(-0.2, 0.2):.7f}" if located else "",
            gmt if located else "", dst if located else "", tz if located else "", cc if located else "",
            region if located else "", f"{changed:%Y-%m-%d %H:%M:%S}", 140_000_000 + n * 977, _stripe_id(rng, "", 10), "",
            tags,
        ])
    reports: list[Row] = []
    audience = 120
    start = dt.date(2024, 9, 3)
    themes = ["Sourdough Sunday", "New class dates", "Croissant masterclass", "Baker's tips", "Holiday baking",
              "Member offer", "Pastry week", "Ask the baker"]
    for k in range(64):
        day = start + dt.timedelta(days=7 * k + rng.choice([0, 0, 1, 2]))
        if day > dt.date(2025, 11, 13):
            break
        audience += rng.randint(0, 3)
        title = f"{rng.choice(themes)} #{k + 1}"
        recipients = audience + rng.randint(-4, 4)
        soft, hard = rng.randint(0, 3), rng.randint(0, 2)
        delivered = recipients - soft - hard
        open_p = rng.uniform(0.28, 0.52) + (0.05 if day.weekday() == 1 else 0.0)
        opens = round(delivered * open_p)
        clicks = round(opens * rng.uniform(0.12, 0.35))
        unsubs = rng.choices([0, 1, 2, 3], weights=[45, 35, 15, 5])[0]
        hour = rng.choice([7, 9, 10, 18])
        when = dt.datetime.combine(day, dt.time(hour, 0))
        reports.append([
            title, f"{title.split(' #')[0]}: this week at Crumb & Co", "Crumb & Co Newsletter",
            when.strftime("%b %d, %Y %I:%M %p").replace("AM", "am").replace("PM", "pm"), when.strftime("%A"),
            recipients, delivered, soft, hard, soft + hard, rng.randint(0, 3), rng.randint(0, 4), opens,
            f"{opens / delivered * 100:.2f}%", opens + rng.randint(opens // 4, opens), clicks,
            f"{clicks / delivered * 100:.2f}%", clicks + rng.randint(0, clicks // 2 + 1), unsubs,
            rng.choices([0, 1], weights=[92, 8])[0], 0, 0, _stripe_id(rng, "", 10).lower(),
        ])
    return {"subscribed_members_export.csv": (MAILCHIMP_MEMBERS_HEADER, members),
            "campaign_reports.csv": (MAILCHIMP_REPORTS_HEADER, reports)}


# --------------------------------------------------------------------------------------------
# 6. GA4 BigQuery export, flattened to one row per event
# --------------------------------------------------------------------------------------------

GA4_HEADER = [
    "event_date", "event_timestamp", "event_name", "user_pseudo_id", "ga_session_id", "device_category",
    "country", "traffic_source", "traffic_medium", "transaction_id", "purchase_revenue",
]


def make_ga4(rng: random.Random) -> dict[str, tuple[list[str], list[Row]]]:
    """~100 sessions of a candle shop's site, Sep to mid-Nov 2025, as flattened GA4 export events."""
    users = []
    for _ in range(70):
        users.append((f"{rng.randint(10**8, 10**10 - 1)}.{rng.randint(1_690_000_000, 1_730_000_000)}",
                      pick(rng, {"mobile": 58, "desktop": 36, "tablet": 6}),
                      pick(rng, {"United States": 50, "United Kingdom": 15, "Canada": 12, "Germany": 10,
                                 "Australia": 8, "France": 5})))
    weights = [rng.paretovariate(2.0) for _ in users]
    sources = {("google", "organic"): 34, ("(direct)", "(none)"): 22, ("google", "cpc"): 14,
               ("instagram", "social"): 12, ("newsletter", "email"): 10, ("bing", "organic"): 4,
               ("pinterest.com", "referral"): 4}
    dates = spread_dates(rng, 94, dt.date(2025, 9, 1), dt.date(2025, 11, 14))
    rows: list[Row] = []
    txn = 4100
    for day in dates:
        uid, device, country = rng.choices(users, weights=weights)[0]
        source, medium = rng.choices(list(sources), weights=list(sources.values()))[0]
        start = dt.datetime.combine(day, dt.time(rng.randint(0, 23), rng.randint(0, 59), rng.randint(0, 59)),
                                    tzinfo=dt.UTC)
        ts = int(start.timestamp() * 1_000_000) + rng.randint(0, 999_999)
        session = int(start.timestamp())
        events: list[tuple[str, float | None]] = [("session_start", None)]
        events += [("page_view", None)] * rng.choices([1, 2, 3, 4], weights=[35, 30, 20, 15])[0]
        boost = 0.15 if medium == "email" else 0.0
        if rng.random() < 0.38 + boost:
            events.append(("add_to_cart", None))
            if rng.random() < 0.62:
                events.append(("begin_checkout", None))
                if rng.random() < 0.62 + boost:
                    price = round(rng.choice([24.0, 32.0, 38.0, 46.0, 58.0, 64.0, 89.0]) * rng.choice([1, 1, 1, 2]), 2)
                    events.append(("purchase", price))
        for name, revenue in events:
            ts += rng.randint(5, 180) * 1_000_000
            moment = dt.datetime.fromtimestamp(ts / 1_000_000, tz=dt.UTC)
            if name == "purchase":
                txn += rng.randint(1, 4)
            rows.append([
                moment.strftime("%Y%m%d"), ts, name, uid, session, device, country, source, medium,
                f"T-{txn}" if name == "purchase" else "", f"{revenue:.2f}" if revenue is not None else "",
            ])
    return {"events.csv": (GA4_HEADER, rows)}


# --------------------------------------------------------------------------------------------
# 7. SaaS subscription accounts (an original layout: yes/no, true/false and 0/1 flags, MRR as text)
# --------------------------------------------------------------------------------------------

SUBSCRIPTIONS_HEADER = [
    "account_id", "company_name", "plan", "billing_cycle", "MRR", "seats", "signup_date", "churn_date",
    "is_churned", "autopay", "has_support_ticket", "region", "industry", "acquisition_channel",
    "nps_score",
]


def make_subscriptions(rng: random.Random) -> dict[str, tuple[list[str], list[Row]]]:
    """~300 accounts of a field-service scheduling SaaS, US states as region codes (IN, OR, ME among them)."""
    words_a = ["Apex", "Blue", "Cedar", "Delta", "Evergreen", "First", "Granite", "Harbor", "Iron", "Juniper",
               "Keystone", "Liberty", "Metro", "North", "Oak", "Pioneer", "Quarry", "River", "Summit", "Tri-County"]
    words_b = ["Plumbing", "HVAC", "Electric", "Roofing", "Landscaping", "Pest Control", "Cleaning", "Pool Care",
               "Garage Doors", "Solar"]
    plans = {"Starter": (40, 49.0, (1, 3)), "Growth": (32, 149.0, (3, 10)), "Pro": (20, 399.0, (8, 25)),
             "Enterprise": (8, 1250.0, (20, 120))}
    rows: list[Row] = []
    names: set[str] = set()
    dates = spread_dates(rng, 300, dt.date(2022, 1, 10), dt.date(2025, 11, 12), growth=1.3)
    for n, day in enumerate(dates):
        while True:
            name = f"{rng.choice(words_a)} {rng.choice(words_b)}" + rng.choice(["", " LLC", " Inc", " Co"])
            if name not in names:
                names.add(name)
                break
        plan = pick(rng, {p: v[0] for p, v in plans.items()})
        base, (lo, hi) = plans[plan][1], plans[plan][2]
        seats = rng.randint(lo, hi)
        cycle = pick(rng, {"monthly": 70, "annual": 30})
        per_seat = {"Starter": 12.0, "Growth": 14.0, "Pro": 15.0, "Enterprise": 18.0}[plan]
        mrr = (base + per_seat * (seats - lo)) * (0.85 if cycle == "annual" else 1.0)
        mrr = round(mrr, 2)
        autopay = rng.random() < 0.66
        ticket = rng.random() < 0.35
        churn_p = {"Starter": 0.34, "Growth": 0.22, "Pro": 0.14, "Enterprise": 0.08}[plan]
        churn_p += 0.10 if not autopay else 0.0
        churn_p += 0.08 if ticket else 0.0
        churned = rng.random() < churn_p and (dt.date(2025, 11, 14) - day).days > 45
        churn_date = ""
        if churned:
            cday = day + dt.timedelta(days=rng.randint(40, max(41, (dt.date(2025, 11, 14) - day).days)))
            churn_date = min(cday, dt.date(2025, 11, 13)).isoformat()
        region = pick(rng, {"TX": 14, "CA": 12, "FL": 10, "IN": 8, "OR": 8, "ME": 5, "OH": 9, "WA": 7,
                            "GA": 8, "CO": 6, "NC": 7, "AZ": 6})
        nps = "" if rng.random() < 0.35 else rng.choices(range(11), weights=[2, 1, 1, 2, 3, 5, 7, 10, 14, 12, 9])[0]
        rows.append([
            f"ACC-{10_040 + n * 7}", name, plan, cycle, f"${mrr:,.2f}", seats, day.isoformat(), churn_date,
            "Yes" if churned else "No", "true" if autopay else "false", 1 if ticket else 0, region,
            rng.choice(words_b), pick(rng, {"Google Ads": 30, "Referral": 22, "Organic": 25, "Trade Show": 10,
                                              "Partner": 13}), nps,
        ])
    return {"accounts.csv": (SUBSCRIPTIONS_HEADER, rows)}


# --------------------------------------------------------------------------------------------
# 8. Invoice line log in the layout of the UCI "Online Retail" data set
# --------------------------------------------------------------------------------------------

INVOICE_HEADER = ["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID", "Country"]

INVOICE_ITEMS = [
    ("30112", "ENAMEL CAMPING MUG BLUE", 2.95), ("30113", "ENAMEL CAMPING MUG RED", 2.95),
    ("41250", "LINEN TEA TOWEL OLIVE", 3.75), ("41251", "LINEN TEA TOWEL RUST", 3.75),
    ("52007", "BEESWAX WRAP SET OF 3", 6.50), ("52010", "GLASS STORAGE JAR 1L", 4.25),
    ("60418A", "CERAMIC PLANT POT SMALL", 5.95), ("60418B", "CERAMIC PLANT POT LARGE", 9.95),
    ("71903", "WOODEN SPOON SET", 7.50), ("72044", "STRING LIGHTS WARM WHITE", 8.95),
    ("85530", "KRAFT GIFT BAG LARGE", 0.85), ("85531", "KRAFT GIFT BAG SMALL", 0.55),
    ("90114", "SCENTED CANDLE FIG", 11.95), ("POST", "POSTAGE", 18.00),
]
INVOICE_WEIGHTS = [10, 8, 9, 7, 8, 8, 9, 5, 6, 7, 12, 12, 5, 3]


def make_invoices(rng: random.Random) -> dict[str, tuple[list[str], list[Row]]]:
    """~380 invoice lines of a home-goods wholesaler: bulk quantities, cancellations ('C' invoices), guests."""
    countries = {"United Kingdom": 62, "Germany": 9, "France": 9, "EIRE": 7, "Netherlands": 5, "Spain": 4,
                 "Belgium": 4}
    customers = [(rng.randint(12_346, 18_287), pick(rng, countries)) for _ in range(58)]
    weights = [rng.paretovariate(1.3) for _ in customers]
    rows: list[Row] = []
    invoice_no = 581_200
    for day in spread_dates(rng, 95, dt.date(2024, 12, 1), dt.date(2025, 11, 14), growth=1.2):
        guest = rng.random() < 0.12
        cust, country = rng.choices(customers, weights=weights)[0]
        if guest:
            country = "United Kingdom"
        invoice_no += rng.randint(1, 40)
        moment = dt.datetime.combine(day, dt.time(rng.randint(8, 19), rng.randint(0, 59)))
        stamp = f"{moment.month}/{moment.day}/{moment.year} {moment.hour}:{moment.minute:02d}"
        picked = rng.sample(range(len(INVOICE_ITEMS) - 1), k=rng.choices([1, 2, 3, 4, 5, 6], weights=[12, 20, 22, 20, 14, 12])[0])
        lines = []
        for i in picked:
            code, desc, price = INVOICE_ITEMS[i]
            qty = rng.choice([1, 2, 3, 4, 6, 6, 12, 12, 24, 48]) if not guest else rng.randint(1, 4)
            lines.append((code, desc, qty, price))
        if country != "United Kingdom" and rng.random() < 0.5:
            lines.append(("POST", "POSTAGE", rng.choice([1, 2, 3]), 18.0))
        for code, desc, qty, price in lines:
            rows.append([invoice_no, code, desc, qty, stamp, f"{price:.2f}" if price % 1 else f"{price:g}",
                         "" if guest else cust, country])
        if not guest and rng.random() < 0.1:  # a later cancellation of one line
            code, desc, qty, price = rng.choice(lines)
            cday = moment + dt.timedelta(days=rng.randint(0, 6), hours=rng.randint(0, 3))
            cstamp = f"{cday.month}/{cday.day}/{cday.year} {cday.hour}:{cday.minute:02d}"
            rows.append([f"C{invoice_no + 7}", code, desc, -qty, cstamp, f"{price:.2f}" if price % 1 else f"{price:g}",
                         cust, country])
    return {"invoice_lines.csv": (INVOICE_HEADER, rows)}


GENERATORS: dict[str, Callable[[random.Random], dict[str, tuple[list[str], list[Row]]]]] = {
    "shopify_orders": make_shopify,
    "woocommerce_orders": make_woocommerce,
    "stripe_payments": make_stripe,
    "hubspot_contacts": make_hubspot,
    "mailchimp_audience": make_mailchimp,
    "ga4_events": make_ga4,
    "subscriptions": make_subscriptions,
    "invoice_lines": make_invoices,
    "hotel_bookings": make_hotel,
    "b2b_invoices": make_b2b,
    "meal_box_subscribers": make_boxes,
    "paypal_activity": make_paypal,
    "etsy_sold_orders": make_etsy,
    "zendesk_tickets": make_zendesk,
    "google_ads_campaigns": make_google_ads,
    "charity_donors": make_charity,
    "toast_item_sales": make_toast,
    "sumup_transactions": make_sumup,
    "chargebee_subscriptions": make_chargebee,
    "amazon_all_orders": make_amazon,
    "klaviyo_campaigns": make_klaviyo,
    "loyalty_members": make_loyalty,
}


def main(argv: Sequence[str] = ()) -> int:
    """Write every set's CSV files (or only the sets named on the command line)."""
    names = list(argv) or list(GENERATORS)
    unknown = [n for n in names if n not in GENERATORS]
    if unknown:
        print(f"unknown set(s) {unknown}; known: {sorted(GENERATORS)}", file=sys.stderr)
        return 2
    for name in names:
        rng = random.Random(f"mara-answers-{name}-v1")
        folder = HERE / name
        folder.mkdir(exist_ok=True)
        for filename, (header, rows) in GENERATORS[name](rng).items():
            write_csv(folder / filename, header, rows, PREAMBLES.get(filename, ()))
            print(f"{name}/{filename}: {len(rows)} rows, {(folder / filename).stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
