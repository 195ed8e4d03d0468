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
from collections.abc import Callable, Sequence
from pathlib import Path

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


def write_csv(path: Path, header: Sequence[str], rows: Sequence[Row]) -> None:
    """Write one export file: UTF-8, comma separated, minimal quoting, '\\n' line ends."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        for row in rows:
            if len(row) != len(header):
                raise ValueError(f"{path.name}: row has {len(row)} fields, header {len(header)}")
            writer.writerow(["" if v is None else v for v in row])
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise ValueError(f"{path.name} is {size} bytes; keep each file under {MAX_FILE_BYTES}")


def pick(rng: random.Random, weighted: dict[str, float]) -> str:
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


GENERATORS: dict[str, Callable[[random.Random], dict[str, tuple[list[str], list[Row]]]]] = {
    "shopify_orders": make_shopify,
    "woocommerce_orders": make_woocommerce,
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
            write_csv(folder / filename, header, rows)
            print(f"{name}/{filename}: {len(rows)} rows, {(folder / filename).stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
