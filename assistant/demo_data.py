"""Synthetic customer warehouse for the demo retailer "Alder & Peak" (outdoor gear).

`build_demo_data` writes a DuckDB file with six tables: ``customers``, ``products``,
``orders``, ``order_items``, ``campaigns`` and ``email_events``. The data is deterministic
(same seed, size and as-of date give identical tables) and behaves like a real customer base:

* purchases follow a "buy till you die" process (Pareto/NBD-like): every customer has a
  Gamma-distributed purchase rate and drops out with a Beta-distributed probability after each
  purchase, so there are many one-time buyers, a minority of loyal repeat buyers, a few whales,
  and recent activity predicts future purchases;
* signups grow over the four years before ``as_of``; orders have seasonality (spring camping,
  summer, a Q4/Black-Friday peak) and a weekly rhythm; categories follow the season and each
  customer's affinity for one category;
* e-mail engagement follows each customer's activity; a click in the 7 days before an order
  attributes the order to that campaign; unsubscribing stops further sends.

Money is in the order's local ``currency`` (``orders.total_usd`` converts at fixed demo rates);
``products.price``/``cost`` are USD list prices. Customers are simulated in chunks of
``CHUNK_SIZE`` with vectorised numpy and appended through Arrow, so memory stays bounded.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from assistant import demo_catalog as cat
from foundation.settings import make_private, private_dir

CHUNK_SIZE = 50_000  # customers simulated per step (the generated data depends on it)
MIN_CUSTOMERS, MAX_CUSTOMERS = 100, 5_000_000
HISTORY_DAYS = cat.HISTORY_DAYS
# Loyalty tier from completed-order spend (USD) in the 365 days up to as_of, highest first.
LOYALTY_THRESHOLDS_USD = (("gold", 3000.0), ("silver", 1000.0), ("bronze", 250.0))
FREE_SHIPPING_FROM_USD = 75.0
SHIPPING_CENTS = {"USD": 695, "GBP": 495, "EUR": 595, "CAD": 895, "SEK": 4900, "AUD": 995}

ProgressCallback = Callable[[str, int, int], None]


@dataclass
class DemoSummary:
    """What `build_demo_data` wrote: headline counts, every table's row count, build time."""

    customers: int
    orders: int
    order_items: int
    tables: dict[str, int]
    seconds: float


_MONEY = "DECIMAL(12,2)"
_SCHEMA: dict[str, list[tuple[str, str]]] = {
    "customers": [
        ("customer_id", "INTEGER"), ("first_name", "VARCHAR"), ("last_name", "VARCHAR"),
        ("email", "VARCHAR"), ("phone", "VARCHAR"), ("country", "VARCHAR"), ("city", "VARCHAR"),
        ("street_address", "VARCHAR"), ("postal_code", "VARCHAR"), ("signup_date", "DATE"),
        ("acquisition_channel", "VARCHAR"), ("birth_year", "INTEGER"), ("gender", "VARCHAR"),
        ("email_opt_in", "BOOLEAN"), ("sms_opt_in", "BOOLEAN"), ("loyalty_tier", "VARCHAR"),
        ("preferred_category", "VARCHAR"),
    ],
    "products": [
        ("product_id", "INTEGER"), ("name", "VARCHAR"), ("category", "VARCHAR"),
        ("subcategory", "VARCHAR"), ("price", _MONEY), ("cost", _MONEY), ("margin", _MONEY),
        ("margin_rate", "DOUBLE"), ("launched_date", "DATE"),
    ],
    "orders": [
        ("order_id", "BIGINT"), ("customer_id", "INTEGER"), ("order_date", "DATE"),
        ("order_ts", "TIMESTAMP"), ("channel", "VARCHAR"), ("status", "VARCHAR"),
        ("items", "INTEGER"), ("subtotal", _MONEY), ("discount", _MONEY), ("shipping", _MONEY),
        ("total", _MONEY), ("currency", "VARCHAR"), ("total_usd", _MONEY),
        ("campaign_id", "INTEGER"),
    ],
    "order_items": [
        ("order_id", "BIGINT"), ("line_number", "INTEGER"), ("product_id", "INTEGER"),
        ("quantity", "INTEGER"), ("unit_price", _MONEY), ("discount", _MONEY),
        ("line_total", _MONEY), ("line_total_usd", _MONEY),
    ],
    "campaigns": [
        ("campaign_id", "INTEGER"), ("name", "VARCHAR"), ("channel", "VARCHAR"),
        ("start_date", "DATE"), ("end_date", "DATE"), ("offer", "VARCHAR"),
        ("target_segment", "VARCHAR"),
    ],
    "email_events": [
        ("event_id", "BIGINT"), ("customer_id", "INTEGER"), ("campaign_id", "INTEGER"),
        ("event_type", "VARCHAR"), ("event_ts", "TIMESTAMP"),
    ],
    "reviews": [
        ("review_id", "INTEGER"), ("product_id", "INTEGER"), ("customer_id", "INTEGER"),
        ("review_date", "DATE"), ("rating", "INTEGER"), ("review_text", "VARCHAR"),
    ],
}
_COMMENTS = {
    ("orders", "items"): "number of units (sum of order_items.quantity)",
    ("orders", "subtotal"): "sum of order_items.line_total, in the order currency",
    ("orders", "discount"): "order-level (campaign or welcome) discount, in the order currency",
    ("orders", "total"): "subtotal - discount + shipping, in the order currency",
    ("orders", "total_usd"): "total converted to USD at fixed demo rates",
    ("order_items", "line_total_usd"): "line_total converted to USD at fixed demo rates",
    ("orders", "campaign_id"): "attributed campaign (NULL when unattributed)",
    ("order_items", "discount"): "line markdown: line_total = quantity * unit_price - discount",
    ("products", "price"): "USD list price (orders carry localised prices)",
    ("customers", "email_opt_in"): "current e-mail consent (FALSE after an unsubscribe)",
    ("customers", "loyalty_tier"): "from completed-order spend (USD) in the last 365 days",
}
TABLE_DESCRIPTIONS = {
    "customers": "Everyone who signed up, with country, consent flags and loyalty tier.",
    "orders": "One row per order; totals in the order currency and in USD (total_usd: use it across countries).",
    "order_items": "Order lines: product, quantity, unit price and line totals.",
    "products": "The catalogue: category, USD list price.",
    "campaigns": "Marketing campaigns: channel, offer, target segment, dates.",
    "email_events": "E-mail sends, opens, clicks and unsubscribes per customer and campaign.",
    "reviews": "Product reviews by customers who bought the product: star rating (1-5) and text.",
}
_STATUSES = ("completed", "returned", "cancelled")
_EVENTS = ("send", "open", "click", "unsubscribe")
_SEGMENTS = ("all", "active", "lapsed", "vip")
_TIERS = tuple(name for name, _ in LOYALTY_THRESHOLDS_USD) + ("none",)
_MULTI_UNIT = [cat.CATEGORIES.index(c) for c in ("Apparel", "Camp Kitchen", "Accessories")]
_FIT_SENSITIVE = [cat.CATEGORIES.index(c) for c in ("Footwear", "Jackets", "Apparel")]
_STORE = cat.ORDER_CHANNELS.index("store")
_PURCHASE_SHAPE, _PURCHASE_SCALE_DAYS = 0.8, 15.0  # Gamma purchase rate: shape r, 1/alpha
_DROPOUT_A, _DROPOUT_B = 1.2, 8.0  # Beta dropout probability after each purchase


class _World:
    """Everything shared by all chunks: timeline, catalog, campaigns and lookup arrays."""

    def __init__(self, as_of: date) -> None:
        self.tl = tl = cat.Timeline(as_of)
        self.catalog = catalog = cat.build_catalog()
        self.campaigns = camps = cat.build_campaigns(tl.first_day, as_of)
        self.currencies = sorted(cat.FX_TO_USD)
        self.price = np.stack([cat.local_price_cents(catalog.price_cents, c)
                               for c in self.currencies])
        self.fx = np.array([cat.FX_TO_USD[c] for c in self.currencies])
        self.ship = np.array([SHIPPING_CENTS[c] for c in self.currencies])
        self.country_currency = np.array([self.currencies.index(c.currency)
                                          for c in cat.COUNTRIES])
        # Products sell only after launch: earlier orders fall back to the most popular product
        # of the same category that was already on sale when the history starts.
        self.launch_day = (tl.days - 1) - catalog.launch_offset_days
        self.fallback = np.arange(len(catalog))
        # Sampling keys: category c owns the interval (c, c + 1], split by popularity.
        self.product_order = np.argsort(catalog.categories, kind="stable")
        self.product_keys = np.empty(len(catalog))
        for c in range(len(cat.CATEGORIES)):
            in_cat = catalog.categories == c
            old = np.flatnonzero(in_cat & (self.launch_day <= 0))
            self.fallback[in_cat & (self.launch_day > 0)] = old[np.argmax(catalog.popularity[old])]
            idx = np.flatnonzero(catalog.categories[self.product_order] == c)
            share = np.cumsum(catalog.popularity[self.product_order[idx]])
            self.product_keys[idx] = c + share / share[-1]
            self.product_keys[idx[-1]] = c + 1.0
        month_cum = np.cumsum(cat.CATEGORY_MONTH_WEIGHTS, axis=1)
        month_cum[:, -1] = 1.0
        self.category_keys = (np.arange(12)[:, None] + month_cum).ravel()
        self.camp_start = np.array([(c.start - tl.first_day).days for c in camps])
        self.camp_end = np.array([(c.end - tl.first_day).days for c in camps])
        self.camp_pct = np.array([c.pct_off for c in camps])
        self.camp_cat = np.array([cat.CATEGORIES.index(c.category) if c.category else -1
                                  for c in camps])
        self.camp_free_ship = np.array([c.free_shipping for c in camps])
        channels = np.array([c.channel for c in camps])
        self.email_camps = np.flatnonzero(channels == "email")
        self.email_segment = np.array([_SEGMENTS.index(camps[i].target_segment)
                                       for i in self.email_camps])
        self.running: dict[str, np.ndarray] = {}  # channel -> day -> latest running campaign
        for channel in ("sms", "push", "social", "paid_search"):
            day_camp = np.full(tl.days, -1)
            for i in np.flatnonzero(channels == channel):
                day_camp[self.camp_start[i]: min(self.camp_end[i], tl.days - 1) + 1] = i
            self.running[channel] = day_camp


@dataclass
class _Chunk:
    """Latent traits of one chunk of customers (arrays indexed by position in the chunk)."""

    ids: np.ndarray
    signup_t: np.ndarray  # days since first_day, fractional
    country: np.ndarray
    gender: np.ndarray
    acquisition: np.ndarray
    email_in: np.ndarray  # opted in at signup
    sms_in: np.ndarray
    category: np.ndarray  # preferred category
    affinity: np.ndarray  # how strongly they stick to it
    basket: np.ndarray  # basket-size multiplier
    rate: np.ndarray  # purchases per day while alive (Gamma)
    dropout: np.ndarray  # probability of churning after each purchase (Beta)
    engagement: np.ndarray  # baseline e-mail open propensity
    channel: np.ndarray  # usual order channel


@dataclass
class _Orders:
    """Orders of a chunk, sorted by customer then time."""

    cust: np.ndarray  # position of the customer in the chunk
    t: np.ndarray  # days since first_day, fractional
    day: np.ndarray
    seq: np.ndarray  # 0 for a customer's first order, 1 for the second, ...
    start: np.ndarray  # per customer: index of their first order (or where it would be)
    end: np.ndarray  # per customer: one past their last order
    channel: np.ndarray


def _segment_start(group: np.ndarray) -> np.ndarray:
    """For a sorted group-id array, the index of the first element of each element's group."""
    first = np.r_[True, group[1:] != group[:-1]] if len(group) else np.zeros(0, bool)
    return np.maximum.accumulate(np.where(first, np.arange(len(group)), 0))


def _draw_traits(rng: np.random.Generator, ids: np.ndarray, signup_t: np.ndarray) -> _Chunk:
    n = len(ids)
    acq = rng.choice(len(cat.ACQUISITION_CHANNELS), n, p=cat.ACQUISITION_WEIGHTS)
    email_in = rng.random(n) < np.where(acq == cat.ACQUISITION_CHANNELS.index("email"), 0.9, 0.66)
    rate = np.clip(rng.gamma(_PURCHASE_SHAPE, 1.0 / _PURCHASE_SCALE_DAYS, n), 1e-5, 0.15)
    marketplace = acq == cat.ACQUISITION_CHANNELS.index("marketplace")
    return _Chunk(
        ids=ids, signup_t=signup_t,
        country=rng.choice(len(cat.COUNTRIES), n, p=[c.weight for c in cat.COUNTRIES]),
        gender=rng.choice(len(cat.GENDERS), n, p=cat.GENDER_WEIGHTS),
        acquisition=acq, email_in=email_in,
        sms_in=rng.random(n) < np.where(email_in, 0.38, 0.12),
        category=np.searchsorted(np.cumsum(cat.CATEGORY_WEIGHTS) / cat.CATEGORY_WEIGHTS.sum(),
                                 rng.random(n), side="right"),
        affinity=rng.beta(4.0, 3.0, n), basket=rng.lognormal(0.0, 0.45, n), rate=rate,
        dropout=rng.beta(_DROPOUT_A, _DROPOUT_B, n),
        engagement=rng.beta(2.0, 4.0, n) * (0.6 + 0.8 * np.argsort(np.argsort(rate)) / n),
        channel=np.where(marketplace & (rng.random(n) < 0.8), 3,
                         rng.choice(3, n, p=[0.58, 0.22, 0.20])),
    )


def _draw_orders(world: _World, rng: np.random.Generator, c: _Chunk) -> _Orders:
    """BG/NBD-style purchases on the seasonal clock: a first purchase at or soon after signup
    (86% ever buy), then exponential gaps at the customer's rate until they drop out."""
    tl, n = world.tl, len(c.ids)
    end = tl.cum[-1]
    same_day = rng.random(n) < 0.6
    first = tl.to_clock(c.signup_t) + np.where(same_day, rng.uniform(0.001, 0.02, n),
                                                rng.exponential(25.0, n))
    buyer = (rng.random(n) < 0.86) & (first < end)
    cap = np.ceil(c.rate * np.maximum(end - first, 0) * 2 + 10).astype(np.int64)
    k = np.where(buyer, np.minimum(rng.geometric(c.dropout), cap), 0)  # purchases while alive
    cust = np.repeat(np.arange(n), k)
    starts = np.cumsum(k) - k
    gaps = np.minimum(rng.exponential(1.0, len(cust)) / c.rate[cust], end + 1.0)
    gaps[starts[k > 0]] = 0.0
    csum = np.cumsum(gaps)
    clock = first[cust] + csum - csum[starts[cust]]
    keep = clock < end  # the window closes at the end of as_of
    cust, clock = cust[keep], clock[keep]
    t = np.clip(tl.from_clock(clock), c.signup_t[cust], tl.days - 1e-7)
    day = np.floor(t).astype(np.int64)
    channel = np.where(rng.random(len(cust)) < 0.75, c.channel[cust],
                       rng.choice(4, len(cust), p=[0.55, 0.20, 0.17, 0.08]))
    start = np.searchsorted(cust, np.arange(n))
    return _Orders(cust=cust, t=day + cat.time_of_day(t - day, channel == _STORE), day=day,
                   seq=np.arange(len(cust)) - start[cust], start=start,
                   end=np.searchsorted(cust, np.arange(n), side="right"), channel=channel)


def _draw_email(world: _World, rng: np.random.Generator, c: _Chunk,
                o: _Orders) -> tuple[np.ndarray, ...]:
    """Sends to subscribers in each campaign's target segment; opens follow engagement and
    recent buying, clicks mostly precede a purchase; an unsubscribe ends the sends.
    Returns (customer, campaign, time, event type) sorted by customer and time."""
    tl = world.tl
    width = float(tl.days + 10)  # customer * width + time orders everything by customer, time
    subs = np.flatnonzero(c.email_in)
    signup_day = np.floor(c.signup_t[subs])
    rows, cols = np.nonzero(world.camp_start[world.email_camps][None, :] > signup_day[:, None])
    cust, camp = subs[rows], world.email_camps[cols]
    send = world.camp_start[camp] + 9 / 24 + rng.uniform(0, 3 / 24, len(cust))
    j = np.searchsorted(o.cust * width + o.t, cust * width + send)  # first order after send
    prior = j - o.start[cust]
    last_t = np.where(prior > 0, o.t[np.maximum(j - 1, 0)], -np.inf)
    next_t = np.where(j < o.end[cust], o.t[np.minimum(j, max(len(o.t) - 1, 0))], np.inf)
    recency = send - last_t
    seg = world.email_segment[cols]
    ok = ((seg == 0) | ((seg == 1) & (recency <= 180))
          | ((seg == 2) & (prior > 0) & (recency > 180)) | ((seg == 3) & (prior >= 4)))
    unsub = rng.random(len(cust)) < 0.0015 + 0.01 * (1 - c.engagement[cust]) ** 3
    cust, camp, send, recency, next_t, unsub = (
        a[ok] for a in (cust, camp, send, recency, next_t, unsub))
    earlier = np.cumsum(unsub) - unsub
    alive = (earlier - earlier[_segment_start(cust)]) == 0  # no unsubscribe before this send
    cust, camp, send, recency, next_t, unsub = (
        a[alive] for a in (cust, camp, send, recency, next_t, unsub))
    activity = np.select([recency <= 30, recency <= 180, recency <= 365, np.isinf(recency)],
                         [1.6, 1.25, 0.8, 0.75], 0.45)
    opened = rng.random(len(cust)) < np.minimum(c.engagement[cust] * activity, 0.95)
    clicked = opened & (rng.random(len(cust)) < np.where(next_t - send <= 7, 0.45, 0.07))
    open_t = send + rng.lognormal(np.log(2.5), 1.0, len(cust)) / 24
    click_t = open_t + rng.exponential(6.0, len(cust)) / 1440
    unsub_t = open_t + rng.exponential(3.0, len(cust)) / 1440
    masks = (slice(None), opened, clicked, unsub)
    ev_cust = np.concatenate([cust[m] for m in masks])
    ev_camp = np.concatenate([camp[m] for m in masks])
    ev_t = np.concatenate([send, open_t[opened], click_t[clicked], unsub_t[unsub]])
    ev_type = np.repeat(np.arange(4), [len(cust), opened.sum(), clicked.sum(), unsub.sum()])
    keep = ev_t < tl.days  # opens/clicks after the end of as_of have not happened yet
    ev_cust, ev_camp, ev_t, ev_type = (a[keep] for a in (ev_cust, ev_camp, ev_t, ev_type))
    order = np.argsort(ev_cust * width + ev_t, kind="stable")  # ties keep send < open < ...
    return tuple(a[order] for a in (ev_cust, ev_camp, ev_t, ev_type))


def _attribute(world: _World, rng: np.random.Generator, c: _Chunk, o: _Orders,
               events: tuple[np.ndarray, ...]) -> np.ndarray:
    """Campaign index per order (-1: none): the last e-mail click within 7 days, else a
    running SMS, push, paid-search or social campaign by the customer's consent and origin."""
    ev_cust, ev_camp, ev_t, ev_type = events
    clicks = ev_type == _EVENTS.index("click")
    k_cust, k_t, k_camp = ev_cust[clicks], ev_t[clicks], ev_camp[clicks]
    camp = np.full(len(o.cust), -1)
    if len(k_cust):
        width = float(world.tl.days + 10)
        j = np.maximum(np.searchsorted(k_cust * width + k_t, o.cust * width + o.t, "right") - 1, 0)
        hit = (k_cust[j] == o.cust) & (o.t >= k_t[j]) & (o.t - k_t[j] <= 7)
        camp = np.where(hit, k_camp[j], -1)
    u = rng.random(len(o.cust))
    acq = c.acquisition[o.cust]
    new_or_not = np.where(o.seq == 0, 0.7, 0.03)
    rules = (("sms", c.sms_in[o.cust] & (u < 0.12)), ("push", (o.channel == 1) & (u < 0.25)),
             ("paid_search", (acq == 1) & (u < new_or_not)),
             ("social", (acq == 2) & (u < new_or_not)))
    for channel, cond in rules:
        running = world.running[channel][o.day]
        camp = np.where((camp < 0) & cond & (running >= 0), running, camp)
    return camp


def _draw_lines(world: _World, rng: np.random.Generator, c: _Chunk,
                o: _Orders) -> dict[str, np.ndarray]:
    """Order lines: the customer's preferred category or a seasonal one, products by
    popularity (only launched ones), local shelf prices and occasional markdowns."""
    tl, catalog = world.tl, world.catalog
    lines = np.minimum(1 + rng.poisson(0.6 * c.basket[o.cust]), 8)
    order = np.repeat(np.arange(len(o.cust)), lines)
    n, cust, day = len(order), o.cust[order], o.day[order]
    month = tl.month[day]
    seasonal = (np.searchsorted(world.category_keys, month + rng.random(n), side="right")
                - month * len(cat.CATEGORIES))
    category = np.where(rng.random(n) < c.affinity[cust] * 0.8, c.category[cust], seasonal)
    pick = np.searchsorted(world.product_keys, category + rng.random(n), side="right")
    prod = world.product_order[np.minimum(pick, len(catalog) - 1)]
    prod = np.where(world.launch_day[prod] > day, world.fallback[prod], prod)
    multi = np.isin(catalog.categories[prod], _MULTI_UNIT)
    qty = 1 + np.where(multi, rng.poisson(0.3, n), rng.random(n) < 0.04)
    key, inv = np.unique(order * len(catalog) + prod, return_inverse=True)  # merge duplicates
    qty = np.bincount(inv, qty).astype(np.int64)
    order, prod = key // len(catalog), key % len(catalog)
    n, day = len(order), o.day[order]
    unit = world.price[world.country_currency[c.country[o.cust[order]]], prod]
    pct = np.where(rng.random(n) < np.where(tl.sale[day], 0.3, 0.04),
                   rng.choice([20, 30, 40], n), 0)
    discount = np.round(qty * unit * pct / 100).astype(np.int64)
    return {"order": order, "line": np.arange(n) - _segment_start(order) + 1, "product": prod,
            "quantity": qty, "unit": unit, "discount": discount, "total": qty * unit - discount}


def _price_orders(world: _World, rng: np.random.Generator, c: _Chunk, o: _Orders,
                  li: dict[str, np.ndarray], camp: np.ndarray) -> dict[str, np.ndarray]:
    """Order money in cents: the campaign offer (if ordered while it runs) or a 10% welcome
    offer on a subscriber's first order, shipping unless free, and the order status."""
    n, categories = len(o.cust), world.catalog.categories[li["product"]]
    subtotal = np.bincount(li["order"], li["total"], minlength=n).round().astype(np.int64)
    cc = np.maximum(camp, 0)
    in_offer = (camp >= 0) & (o.day >= world.camp_start[cc]) & (o.day <= world.camp_end[cc])
    on_cat = categories == world.camp_cat[cc][li["order"]]
    cat_base = np.bincount(li["order"], li["total"] * on_cat, minlength=n)
    base = np.where(world.camp_cat[cc] >= 0, cat_base, subtotal)
    welcome = (o.seq == 0) & c.email_in[o.cust] & (camp < 0) & (rng.random(n) < 0.5)
    pct = np.where(welcome, 10, np.where(in_offer, world.camp_pct[cc], 0))
    discount = np.round(base * pct / 100).astype(np.int64)
    cur = world.country_currency[c.country[o.cust]]
    free = (o.channel == _STORE) | (in_offer & world.camp_free_ship[cc]) | (
        subtotal / 100 * world.fx[cur] >= FREE_SHIPPING_FROM_USD)
    shipping = np.where(free, 0, world.ship[cur])
    total = subtotal - discount + shipping
    fit = np.bincount(li["order"], np.isin(categories, _FIT_SENSITIVE), minlength=n) > 0
    u = rng.random(n)
    returned = (u < np.where(fit, 0.09, 0.03)) & (o.day < world.tl.days - 3)
    return {"subtotal": subtotal, "discount": discount, "shipping": shipping, "total": total,
            "total_usd": np.round(total * world.fx[cur]).astype(np.int64), "currency": cur,
            "units": np.bincount(li["order"], li["quantity"], minlength=n).astype(np.int64),
            "status": np.where(u > 0.98, 2, np.where(returned, 1, 0))}


def _dict_array(codes: np.ndarray, values: list[str] | tuple[str, ...]) -> pa.Array:
    return pa.DictionaryArray.from_arrays(pa.array(codes, pa.int32()), pa.array(list(values)))


def _dates(first_day: date, days: np.ndarray) -> np.ndarray:
    return np.datetime64(first_day, "D") + days.astype("timedelta64[D]")


def _timestamps(first_day: date, t: np.ndarray) -> np.ndarray:
    return np.datetime64(first_day, "s") + np.floor(t * 86_400).astype("timedelta64[s]")


def _simulate_chunk(world: _World, rng: np.random.Generator, first_id: int, signup_t: np.ndarray,
                    first_order_id: int, first_event_id: int) -> dict[str, pa.Table]:
    """Simulate customers first_id.. (signing up at `signup_t`) with orders and e-mail."""
    tl, fd = world.tl, world.tl.first_day
    c = _draw_traits(rng, np.arange(first_id, first_id + len(signup_t)), signup_t)
    contact = cat.contact_details(rng, c.ids, c.country, c.gender)
    o = _draw_orders(world, rng, c)
    ev_cust, ev_camp, ev_t, ev_type = events = _draw_email(world, rng, c, o)
    camp = _attribute(world, rng, c, o, events)
    li = _draw_lines(world, rng, c, o)
    money = _price_orders(world, rng, c, o, li, camp)
    email_now = c.email_in.copy()
    email_now[ev_cust[ev_type == _EVENTS.index("unsubscribe")]] = False
    counted = (money["status"] == 0) & (o.day >= tl.days - 365)
    spend = np.bincount(o.cust[counted], money["total_usd"][counted], minlength=len(c.ids))
    tier = np.full(len(c.ids), len(_TIERS) - 1)
    for level, (_, floor) in reversed(list(enumerate(LOYALTY_THRESHOLDS_USD))):
        tier[spend >= floor * 100] = level
    signup_day = np.floor(c.signup_t).astype(np.int64)
    age = np.clip(rng.normal(41, 13, len(c.ids)), 18, 80)
    order_ids = first_order_id + np.arange(len(o.cust))
    customers = pa.table({
        "customer_id": c.ids, "first_name": contact["first_name"],
        "last_name": contact["last_name"], "email": contact["email"], "phone": contact["phone"],
        "country": _dict_array(c.country, [x.name for x in cat.COUNTRIES]),
        "city": contact["city"], "street_address": contact["street_address"],
        "postal_code": contact["postal_code"], "signup_date": _dates(fd, signup_day),
        "acquisition_channel": _dict_array(c.acquisition, cat.ACQUISITION_CHANNELS),
        "birth_year": (fd.year + signup_day / 365.25 - age).astype(np.int64),
        "gender": _dict_array(c.gender, cat.GENDERS), "email_opt_in": email_now,
        "sms_opt_in": c.sms_in, "loyalty_tier": _dict_array(tier, _TIERS),
        "preferred_category": _dict_array(c.category, cat.CATEGORIES),
    })
    orders = pa.table({
        "order_id": order_ids, "customer_id": c.ids[o.cust], "order_date": _dates(fd, o.day),
        "order_ts": _timestamps(fd, o.t), "channel": _dict_array(o.channel, cat.ORDER_CHANNELS),
        "status": _dict_array(money["status"], _STATUSES), "items": money["units"],
        "subtotal": money["subtotal"], "discount": money["discount"],
        "shipping": money["shipping"], "total": money["total"],
        "currency": _dict_array(money["currency"], world.currencies),
        "total_usd": money["total_usd"], "campaign_id": pa.array(camp + 1, mask=camp < 0),
    })
    items = pa.table({
        "order_id": order_ids[li["order"]], "line_number": li["line"],
        "product_id": li["product"] + 1, "quantity": li["quantity"], "unit_price": li["unit"],
        "discount": li["discount"], "line_total": li["total"],
        "line_total_usd": np.round(li["total"] * world.fx[money["currency"][li["order"]]]).astype(np.int64),
    })
    email_events = pa.table({
        "event_id": first_event_id + np.arange(len(ev_cust)), "customer_id": c.ids[ev_cust],
        "campaign_id": ev_camp + 1, "event_type": _dict_array(ev_type, _EVENTS),
        "event_ts": _timestamps(fd, ev_t),
    })
    return {"customers": customers, "orders": orders, "order_items": items,
            "email_events": email_events}


def _static_tables(world: _World) -> dict[str, pa.Table]:
    catalog, fd = world.catalog, world.tl.first_day
    camps = world.campaigns
    margin = catalog.price_cents - catalog.cost_cents
    return {
        "products": pa.table({
            "product_id": np.arange(1, len(catalog) + 1), "name": catalog.names,
            "category": [cat.CATEGORIES[c] for c in catalog.categories],
            "subcategory": catalog.subcategories, "price": catalog.price_cents,
            "cost": catalog.cost_cents, "margin": margin,
            "margin_rate": np.round(margin / catalog.price_cents, 4),
            "launched_date": _dates(fd, world.launch_day),
        }),
        "campaigns": pa.table({
            "campaign_id": np.arange(1, len(camps) + 1), "name": [c.name for c in camps],
            "channel": [c.channel for c in camps], "start_date": [c.start for c in camps],
            "end_date": [c.end for c in camps], "offer": [c.offer for c in camps],
            "target_segment": [c.target_segment for c in camps],
        }),
    }


def _append(con: duckdb.DuckDBPyConnection, name: str, table: pa.Table) -> None:
    """Append an Arrow table; money columns arrive as integer cents."""
    select = ", ".join(f"CAST({col} / 100 AS {_MONEY})" if typ == _MONEY else f"{col}::{typ}"
                       for col, typ in _SCHEMA[name])
    con.register("_chunk", table)
    try:
        con.execute(f"INSERT INTO {name} SELECT {select} FROM _chunk")
    finally:
        con.unregister("_chunk")


def _count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    row = con.execute(f"SELECT count(*) FROM {table}").fetchone()
    return int(row[0]) if row else 0


def _remove(path: Path) -> None:
    for p in (path, Path(f"{path}.wal")):
        p.unlink(missing_ok=True)


def _remove_stale_temps(path: Path) -> None:
    """Delete temp files left by builds of `path` whose process is gone (e.g. killed)."""
    for tmp in path.parent.glob(f".{path.name}.*.tmp"):
        pid = tmp.name[len(path.name) + 2:].split("-", 1)[0]
        try:
            os.kill(int(pid), 0)
        except (ValueError, ProcessLookupError):
            _remove(tmp)
        except PermissionError:  # alive, owned by someone else
            pass


def _add_reviews(con: duckdb.DuckDBPyConnection, seed: int, customers: int, as_of: date) -> None:
    """Reviews of completed purchases in the last year (see :mod:`assistant.demo_reviews`)."""
    # lazy: the review texts are only needed while building
    from assistant.demo_reviews import build_reviews

    rows = con.execute(
        "SELECT o.customer_id, i.product_id, o.order_date, p.category FROM order_items i "
        "JOIN orders o USING (order_id) JOIN products p USING (product_id) "
        "WHERE o.status = 'completed' ORDER BY i.order_id, i.line_number").fetchnumpy()
    purchases = {"customer_id": rows["customer_id"], "product_id": rows["product_id"],
                 "order_date": rows["order_date"].astype("datetime64[D]"),
                 "category": np.array([cat.CATEGORIES.index(c) for c in rows["category"]])}
    reviews = build_reviews(purchases, list(cat.CATEGORIES), as_of, seed,
                            n_reviews=min(max(customers // 6, 150), 5_000))
    _append(con, "reviews", pa.table({name: reviews[name] for name, _ in _SCHEMA["reviews"]}))


def build_demo_data(path: Path, *, customers: int = 20_000, seed: int = 7,
                    as_of: date = date(2026, 10, 31),
                    progress: ProgressCallback | None = None) -> DemoSummary:
    """Build the demo warehouse at `path` (a .duckdb file). Atomic: writes into a temp file
    next to `path` and renames it over `path` only when complete, so a failure/interrupt
    never leaves a half-written warehouse. progress(stage, done, total) is called as work advances.

    Stages: ``"prepare"`` (0/1, 1/1), ``"customers"`` (customers simulated so far out of
    `customers`, once per chunk) and ``"finalize"`` (0/1, 1/1). Raises ValueError when
    `customers` is outside 100..5,000,000. The same seed, size and `as_of` always give the same
    table contents.
    """
    if isinstance(customers, bool) or not isinstance(customers, int):
        raise ValueError(f"customers must be an integer, got {customers!r}")
    if not MIN_CUSTOMERS <= customers <= MAX_CUSTOMERS:
        raise ValueError(f"customers must be between {MIN_CUSTOMERS:,} and {MAX_CUSTOMERS:,} "
                         f"(got {customers:,})")
    started = time.perf_counter()
    report = progress or (lambda stage, done, total: None)
    path = Path(path)
    private_dir(path.parent)
    _remove_stale_temps(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp")
    con: duckdb.DuckDBPyConnection | None = None
    try:
        report("prepare", 0, 1)
        world = _World(as_of)
        signups = world.tl.signup_times(np.random.default_rng([seed, 0]), customers)
        con = duckdb.connect(str(tmp))
        for name, cols in _SCHEMA.items():
            con.execute(f"CREATE TABLE {name} ({', '.join(f'{c} {t}' for c, t in cols)})")
        for (table, col), text in _COMMENTS.items():
            con.execute(f"COMMENT ON COLUMN {table}.{col} IS '{text}'")
        for name, table in _static_tables(world).items():
            _append(con, name, table)
        report("prepare", 1, 1)
        next_order = next_event = 1
        for k, lo in enumerate(range(0, customers, CHUNK_SIZE)):
            chunk = signups[lo: lo + CHUNK_SIZE]
            tables = _simulate_chunk(world, np.random.default_rng([seed, 1, k]), lo + 1, chunk,
                                     next_order, next_event)
            for name, table in tables.items():
                _append(con, name, table)
            next_order += tables["orders"].num_rows
            next_event += tables["email_events"].num_rows
            report("customers", lo + len(chunk), customers)
        report("finalize", 0, 1)
        _add_reviews(con, seed, customers, as_of)
        counts = {name: _count(con, name) for name in _SCHEMA}
        con.execute("CHECKPOINT")
        con.close()
        con = None
        Path(f"{path}.wal").unlink(missing_ok=True)  # an old WAL must not replay on the new file
        make_private(tmp)
        os.replace(tmp, path)
    except BaseException:
        if con is not None:
            con.close()
        _remove(tmp)
        raise
    report("finalize", 1, 1)
    return DemoSummary(customers=counts["customers"], orders=counts["orders"],
                       order_items=counts["order_items"], tables=counts,
                       seconds=time.perf_counter() - started)
