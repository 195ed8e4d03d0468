"""PRIVATE hold-out question sets for the lead (issue 16): two layouts, written blind, never committed.

- toast_checks/: a Toast POS "Order Details"-style export of a neighbourhood restaurant — dates like
  "12/3/25 7:05 PM", Voided TRUE/FALSE, Amount / Tax / Tip / Gratuity / Total (several money columns),
  Dining Options and Revenue Center as categories, "$1,234.50" money text.
- course_platform/: an online-course platform's students + orders exports, joined by Email —
  "Dec 3, 2025 2:05 PM PST" timestamps, percent text ("45%"), Y/N flags, refunded orders negative.

Run: python /work/private-holdout/make_private.py  (seeded; rewrites the CSVs byte for byte). All rows
are invented here (CC0). Truth SQL runs on plain DuckDB read_csv, as in the repo's question-set format.
"""

from __future__ import annotations

import csv
import datetime as dt
import random
from pathlib import Path

HERE = Path(__file__).resolve().parent
Row = list[object]

_FIRST = ["Olivia", "Liam", "Emma", "Noah", "Ava", "Mia", "Lucas", "Zoe", "Kai", "Priya", "Arjun", "Yuki", "Lena",
          "Jonas", "Camille", "Hugo", "Sofia", "Diego", "Fatima", "Omar", "Grace", "Owen", "Ruby", "Felix", "Isla",
          "Theo", "Maya", "Sam", "Nora", "Ezra", "Hana", "Leo", "Aria", "Ethan", "Chloe", "Jack", "Amara", "Tom"]
_LAST = ["Smith", "Garcia", "Nguyen", "Patel", "Kim", "Muller", "Rossi", "Martin", "Dubois", "Wilson", "Lee",
         "Young", "Lopez", "Murphy", "Novak", "Jansen", "Silva", "Ito", "Hughes", "Walker", "Okafor", "Brennan"]


def _pick(rng: random.Random, weighted: dict[str, float]) -> str:
    return rng.choices(list(weighted), weights=list(weighted.values()))[0]


def _write(path: Path, header: list[str], rows: list[Row]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        for row in rows:
            assert len(row) == len(header), (path.name, row)
            writer.writerow(["" if v is None else v for v in row])
    assert path.stat().st_size < 60_000, (path.name, path.stat().st_size)


def _ampm(moment: dt.datetime) -> str:
    hour = moment.hour % 12 or 12
    return f"{hour}:{moment.minute:02d} {'AM' if moment.hour < 12 else 'PM'}"


# --------------------------------------------------------------------------------------------
# Toast POS order details
# --------------------------------------------------------------------------------------------

TOAST_HEADER = ["Location", "Order Id", "Order #", "Checks", "Opened", "# of Guests", "Tab Names", "Server", "Table",
                "Revenue Center", "Dining Area", "Service", "Dining Options", "Discount Amount", "Amount", "Tax", "Tip",
                "Gratuity", "Total", "Voided", "Paid", "Closed", "Duration (Opened to Paid)", "Order Source"]


def make_toast(rng: random.Random) -> list[Row]:
    servers = {"Marco D.": 30, "Jess P.": 26, "Aaliyah R.": 22, "Tom W.": 14, "Online": 8}
    rows: list[Row] = []
    day = dt.date(2025, 7, 1)
    order_no = 0
    oid = 400_000_118_000
    while day <= dt.date(2025, 11, 30):
        n = rng.randint(0, 2) + (1 if day.weekday() >= 4 else 0)
        for _ in range(n):
            order_no += 1
            oid += rng.randint(11, 900)
            option = _pick(rng, {"Dine In": 58, "Take Out": 18, "DoorDash Delivery": 14, "Online Ordering": 10})
            service = _pick(rng, {"Lunch": 35, "Dinner": 55, "Brunch": 10})
            if service == "Brunch" and day.weekday() < 5:
                service = "Lunch"
            hour = {"Lunch": rng.randint(11, 14), "Dinner": rng.randint(17, 21), "Brunch": rng.randint(9, 11)}[service]
            opened = dt.datetime.combine(day, dt.time(hour, rng.randint(0, 59)))
            dine_in = option == "Dine In"
            guests = rng.choices([1, 2, 2, 2, 3, 4, 4, 6], k=1)[0] if dine_in else 1
            center = _pick(rng, {"Dining Room": 60, "Bar": 25, "Patio": 15}) if dine_in else "Takeout"
            area = {"Dining Room": "Main", "Bar": "Bar", "Patio": "Patio", "Takeout": "Counter"}[center]
            server = rng.choice(["Marco D.", "Jess P.", "Aaliyah R.", "Tom W."]) if dine_in else \
                ("Online" if option in ("DoorDash Delivery", "Online Ordering") else _pick(rng, servers))
            amount = round(guests * rng.uniform(18, 42) + (rng.uniform(0, 25) if center == "Bar" else 0), 2)
            discount = round(amount * 0.15, 2) if rng.random() < 0.08 else 0.0
            amount = round(amount - discount, 2)
            tax = round(amount * 0.0875, 2)
            tip = round(amount * rng.choice([0.15, 0.18, 0.2, 0.22]), 2) if option != "DoorDash Delivery" and rng.random() < 0.85 else 0.0
            gratuity = round(amount * 0.2, 2) if guests >= 6 else 0.0
            if gratuity:
                tip = 0.0
            voided = rng.random() < 0.03
            total = round(amount + tax + tip + gratuity, 2)
            minutes = rng.randint(35, 110) if dine_in else rng.randint(5, 25)
            paid = opened + dt.timedelta(minutes=minutes)
            stamp = f"{opened.month}/{opened.day}/{opened.year % 100} {_ampm(opened)}"
            rows.append([
                "Harbor Street Kitchen", oid, order_no, f"{order_no + 1000}", stamp, guests,
                rng.choice(_FIRST) if option != "Dine In" else "", server,
                f"{rng.randint(1, 24)}" if dine_in else "", center, area, service, option,
                f"${discount:,.2f}", f"${amount:,.2f}", f"${tax:,.2f}", f"${tip:,.2f}", f"${gratuity:,.2f}",
                f"${total:,.2f}", "TRUE" if voided else "FALSE",
                "" if voided else f"{paid.month}/{paid.day}/{paid.year % 100} {_ampm(paid)}",
                "" if voided else f"{paid.month}/{paid.day}/{paid.year % 100} {_ampm(paid)}",
                "" if voided else f"0:{minutes:02d}:00" if minutes < 60 else f"1:{minutes - 60:02d}:00",
                {"Dine In": "In store", "Take Out": "In store", "DoorDash Delivery": "DoorDash",
                 "Online Ordering": "Online"}[option],
            ])
        day += dt.timedelta(days=1)
    return rows


# --------------------------------------------------------------------------------------------
# Online course platform: students + orders
# --------------------------------------------------------------------------------------------

STUDENTS_HEADER = ["Email", "First Name", "Last Name", "Joined", "Country", "Marketing Opt In", "Courses Enrolled",
                   "Avg. Progress", "Completed Any Course", "Last Sign In", "Referral Source"]
ORDERS_HEADER = ["Order ID", "Date", "Buyer Email", "Product", "Product Type", "Coupon", "Amount Paid", "Currency",
                 "Payment Status", "Affiliate"]
_COURSES = {"Intro to Watercolour": (49.0, "Course", 30), "Botanical Illustration": (89.0, "Course", 22),
            "Urban Sketching": (69.0, "Course", 18), "Colour Theory Masterclass": (129.0, "Course", 10),
            "All-Access Membership": (19.0, "Subscription", 20)}


def _platform_stamp(moment: dt.datetime) -> str:
    march = dt.date(moment.year, 3, 8)
    start = march + dt.timedelta(days=(6 - march.weekday()) % 7)
    nov = dt.date(moment.year, 11, 1)
    end = nov + dt.timedelta(days=(6 - nov.weekday()) % 7)
    zone = "PDT" if start <= moment.date() < end else "PST"
    return f"{moment.strftime('%b')} {moment.day}, {moment.year} {_ampm(moment)} {zone}"


def make_course(rng: random.Random) -> tuple[list[Row], list[Row]]:
    students: list[Row] = []
    orders: list[Row] = []
    seen: set[str] = set()
    start = dt.date(2024, 3, 1)
    span = (dt.date(2025, 11, 20) - start).days
    joined_days = sorted(start + dt.timedelta(days=int(span * rng.random() ** 0.8)) for _ in range(170))
    order_id = 880_104
    for joined in joined_days:
        while True:
            first, last = rng.choice(_FIRST), rng.choice(_LAST)
            email = f"{first[0]}{last}{rng.randint(1, 999)}@{rng.choice(['gmail.com', 'outlook.com', 'yahoo.com'])}".lower()
            if email not in seen:
                seen.add(email)
                break
        country = _pick(rng, {"United States": 45, "United Kingdom": 18, "Canada": 12, "Australia": 10, "Germany": 8,
                              "India": 7})
        source = _pick(rng, {"Instagram": 30, "YouTube": 28, "Google": 18, "Newsletter": 14, "Affiliate": 10})
        n_courses = rng.choices([0, 1, 1, 1, 2, 2, 3], k=1)[0]
        bought = rng.sample(list(_COURSES), n_courses)
        progress: list[int] = []
        for k, product in enumerate(bought):
            price, ptype, _ = _COURSES[product]
            moment = dt.datetime.combine(joined + dt.timedelta(days=0 if k == 0 else rng.randint(5, 200)),
                                         dt.time(rng.randint(6, 23), rng.randint(0, 59)))
            if moment.date() > dt.date(2025, 11, 30):
                continue
            coupon = rng.choice(["", "", "", "", "LAUNCH30", "BLACKFRIDAY"]) if ptype == "Course" else ""
            if coupon == "BLACKFRIDAY" and moment.month != 11:
                coupon = ""
            paid = round(price * (0.7 if coupon == "LAUNCH30" else 0.6 if coupon == "BLACKFRIDAY" else 1.0), 2)
            status = _pick(rng, {"Paid": 93, "Refunded": 5, "Failed": 2})
            affiliate = rng.choice(["ARTWITHJO", "SKETCHCLUB"]) if source == "Affiliate" else ""
            order_id += rng.randint(1, 40)
            months = 1
            if ptype == "Subscription":  # one order row per monthly renewal
                months = min(rng.randint(1, 8), max(1, (dt.date(2025, 11, 30) - moment.date()).days // 30))
            for m in range(months):
                when = moment + dt.timedelta(days=30 * m)
                row_status = status if m == 0 else "Paid"
                orders.append([f"#{order_id + m}", _platform_stamp(when), email, product, ptype, coupon,
                               f"{-paid if row_status == 'Refunded' else paid:.2f}", "USD", row_status, affiliate])
            order_id += months
            progress.append(rng.choice([0, 5, 12, 25, 40, 60, 80, 100, 100]) if status != "Failed" else 0)
        avg = round(sum(progress) / len(progress)) if progress else 0
        last_seen = joined + dt.timedelta(days=rng.randint(0, max(1, (dt.date(2025, 11, 30) - joined).days)))
        students.append([
            email, first, last, joined.strftime("%Y-%m-%d"), country, "Y" if rng.random() < 0.6 else "N",
            len(progress), f"{avg}%", "Y" if 100 in progress else "N", last_seen.strftime("%Y-%m-%d"), source,
        ])
    orders.sort(key=lambda r: int(str(r[0])[1:]))
    return students, orders


def main() -> None:
    _write(HERE / "toast_checks" / "OrderDetails.csv", TOAST_HEADER, make_toast(random.Random("private-toast-v1")))
    students, orders = make_course(random.Random("private-course-v1"))
    _write(HERE / "course_platform" / "students.csv", STUDENTS_HEADER, students)
    _write(HERE / "course_platform" / "orders.csv", ORDERS_HEADER, orders)


if __name__ == "__main__":
    main()
