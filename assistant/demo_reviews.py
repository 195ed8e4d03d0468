"""Product reviews for the demo warehouse: believable themes and one seeded problem.

Each review belongs to a completed purchase (same customer and product, written days to
weeks after the order). Its star rating sets its tone, and its sentences come from themes
that fit the product's category (fit for boots and jackets, warmth for sleeping bags, set-up
for tents, comfort for packs; value, delivery and service for all). A few reviews arrive in
German or French, with HTML line breaks, or with stars but no text, as real exports do.

The seeded problem: two months before the build date (August 2026 for the default build)
backpacks ship with a bad zipper batch, so that month's backpack reviews complain about
zippers far more often — a marketer should find it
by asking "what are customers complaining about?".
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np

REVIEW_DAYS = 365  # reviews cover the last year up to as_of

_POS = {
    "quality": ["The build quality is excellent and it feels like it will last for years.",
                "Really well made, the stitching and materials are top notch.",
                "Solid construction, you can tell they did not cut corners.",
                "Great quality for the price, nothing feels flimsy."],
    "value": ["Excellent value for money, I would pay more for this.",
              "Worth every penny, much cheaper than the big brands for the same quality.",
              "Got it on sale and it is a steal at that price."],
    "delivery": ["Arrived two days after I ordered, well packaged.",
                 "Fast shipping and the parcel was in perfect condition.",
                 "Delivery was quicker than promised."],
    "service": ["Customer service answered my question within an hour, very helpful.",
                "I needed to swap the size and the exchange was painless.",
                "The support team was friendly and sorted everything out quickly."],
    "fit": ["True to size and fits perfectly.", "The fit is spot on, I ordered my usual size.",
            "Comfortable fit with room for a base layer underneath."],
    "waterproof": ["Stayed completely dry in a full day of heavy rain.",
                   "Truly waterproof, survived a storm without a single leak.",
                   "Rain just beads off it, bone dry inside."],
    "warmth": ["Kept me toasty on a night well below freezing.", "Very warm for its weight.",
               "Slept warm and cosy even when the temperature dropped."],
    "setup": ["Pitches in five minutes, even on my own.", "Setup is quick and intuitive, the colour-coded poles help.",
              "Easy to put up in the dark after a long hike."],
    "comfort": ["Carries the load comfortably, the hip belt is great.", "Super comfortable on long days, no sore shoulders.",
                "Comfortable straight out of the box, no break-in needed."],
    "zipper": ["The zippers run smoothly and feel sturdy.", "Good chunky zips that never snag."],
}
_NEG = {
    "quality": ["The fabric started fraying after a couple of trips.", "Cheap materials, the seams came apart within a month.",
                "Feels flimsy and the stitching is already loose."],
    "value": ["Overpriced for what you get.", "Not worth the money, the cheaper alternatives are just as good.",
              "Way too expensive for this quality."],
    "delivery": ["Took three weeks to arrive and nobody told me why.", "The parcel arrived damaged and late.",
                 "Shipping was slow and the tracking never updated."],
    "service": ["Customer service never replied to my emails.", "Returning it was a nightmare, still waiting for my refund.",
                "Support was rude and unhelpful when I asked for an exchange."],
    "fit": ["Runs a full size small, had to send it back.", "The sizing is way off, far too tight across the shoulders.",
            "Fit is strange, too long in the arms and tight in the chest."],
    "waterproof": ["It leaked at the seams in the first proper rain.", "Not waterproof at all, I got soaked.",
                   "Water came through after an hour of drizzle."],
    "warmth": ["Not nearly as warm as the rating suggests, I was freezing.", "I was cold all night even in mild weather.",
               "The temperature rating is wildly optimistic."],
    "setup": ["Setup is fiddly and the instructions are useless.", "Took forever to pitch and one pole snapped.",
              "Really hard to put up alone in the wind."],
    "comfort": ["The straps dig into my shoulders after an hour.", "Gave me blisters on the first hike.",
                "Uncomfortable on anything longer than a short walk."],
    "zipper": ["The zipper broke after two weeks of use.", "Main zipper jammed and then split open on the trail.",
               "The zip pull snapped off on the second day.", "Zipper keeps catching on the fabric and now it won't close.",
               "The zipper teeth separated, the bag won't stay shut."],
}
_CATEGORY_THEMES = {
    "Tents": ["setup", "waterproof", "quality", "zipper"],
    "Sleeping Bags": ["warmth", "quality", "zipper"],
    "Backpacks": ["comfort", "quality", "zipper"],
    "Footwear": ["fit", "comfort", "waterproof"],
    "Jackets": ["fit", "waterproof", "warmth", "zipper"],
    "Apparel": ["fit", "quality"],
    "Climbing": ["quality", "fit"],
    "Camp Kitchen": ["quality"],
    "Accessories": ["quality"],
}
_SHARED = ["value", "delivery", "service"]
_OPEN_POS = ["Love it!", "Fantastic {noun}.", "Really happy with this {noun}.", "Five stars from me.", "Great buy."]
_OPEN_NEG = ["Very disappointed.", "Would not recommend.", "Not happy with this {noun}.", "Avoid.", "What a letdown."]
_OPEN_MIX = ["It's okay.", "Mixed feelings about this {noun}.", "Decent but not great."]
_CLOSE_POS = ["Would buy again.", "Highly recommend.", "Already ordered one for my partner."]
_CLOSE_NEG = ["Returning it.", "I want my money back.", "Won't buy from this range again."]
_FOREIGN = {
    "de": ["Sehr gute Qualität und schnelle Lieferung, ich bin sehr zufrieden.",
           "Leider ist der Reißverschluss nach einer Woche kaputt gegangen, das ist nicht akzeptabel."],
    "fr": ["Très bon produit, la qualité est au rendez-vous et la livraison était rapide.",
           "Je suis déçu, la fermeture éclair a cassé après deux sorties."],
}
_NOUN = {"Tents": "tent", "Sleeping Bags": "sleeping bag", "Backpacks": "pack", "Footwear": "pair",
         "Jackets": "jacket", "Apparel": "piece", "Climbing": "kit", "Camp Kitchen": "kit",
         "Accessories": "product"}
_STARS = np.array([1, 2, 3, 4, 5])
_STAR_P = np.array([0.09, 0.07, 0.12, 0.27, 0.45])


def _pick(rng: np.random.Generator, options: list[str]) -> str:
    return options[int(rng.integers(len(options)))]


def zipper_month(as_of: date) -> tuple[date, date]:
    """First day of the bad-zipper month (two months before ``as_of``'s) and of the next one."""
    index = as_of.year * 12 + as_of.month - 1 - 2
    start = date(index // 12, index % 12 + 1, 1)
    return start, date((index + 1) // 12, (index + 1) % 12 + 1, 1)


def review_text(rng: np.random.Generator, category: str, stars: int, zipper_batch: bool = False) -> str:
    """One review of a ``category`` product with ``stars`` (1-5); a bad-batch backpack complains
    about its zipper."""
    noun = _NOUN.get(category, "product")
    themes = _CATEGORY_THEMES.get(category, ["quality"]) + _SHARED
    if zipper_batch:
        stars = int(rng.choice([1, 2, 2, 3]))
    tone = "pos" if stars >= 4 else "neg" if stars <= 2 else "mix"
    parts: list[str] = []
    if rng.random() < 0.6:
        opener = {"pos": _OPEN_POS, "neg": _OPEN_NEG, "mix": _OPEN_MIX}[tone]
        parts.append(_pick(rng, opener).format(noun=noun))
    usual = [t for t in themes if t != "zipper"] or themes
    first = "zipper" if zipper_batch else (
        "zipper" if "zipper" in themes and tone != "pos" and rng.random() < 0.06 else _pick(rng, usual))
    if tone == "mix":
        parts.append(_pick(rng, _POS[_pick(rng, usual)]))
        complaint = _pick(rng, _NEG[first])
        parts.append("But " + complaint[0].lower() + complaint[1:])
    else:
        parts.append(_pick(rng, (_POS if tone == "pos" else _NEG)[first]))
        if rng.random() < 0.5:
            second = _pick(rng, [t for t in usual if t != first] or usual)
            parts.append(_pick(rng, (_POS if tone == "pos" else _NEG)[second]))
    if rng.random() < 0.35 and tone != "mix":
        parts.append(_pick(rng, _CLOSE_POS if tone == "pos" else _CLOSE_NEG))
    return " ".join(parts)


def build_reviews(purchases: dict[str, np.ndarray], categories: list[str], as_of: date, seed: int,
                  n_reviews: int) -> dict[str, list[object]]:
    """Review rows for a sample of ``purchases`` (arrays ``customer_id``, ``product_id``,
    ``order_date`` as numpy datetime64[D], ``category`` as an index into ``categories``).

    Columns: review_id, product_id, customer_id, review_date, rating, review_text.
    """
    rng = np.random.default_rng([seed, 3])
    first = np.datetime64(as_of - timedelta(days=REVIEW_DAYS + 40))
    recent = np.flatnonzero(purchases["order_date"] >= first)
    if len(recent) == 0:
        return {k: [] for k in ("review_id", "product_id", "customer_id", "review_date", "rating", "review_text")}
    picked = np.sort(rng.choice(recent, size=min(n_reviews, len(recent)), replace=False))
    lag = rng.integers(3, 40, size=len(picked))
    out: dict[str, list[object]] = {k: [] for k in ("review_id", "product_id", "customer_id", "review_date",
                                                     "rating", "review_text")}
    zip_start, zip_end = zipper_month(as_of)
    rows = []
    for i, days in zip(picked, lag, strict=True):
        written = (purchases["order_date"][i] + np.timedelta64(int(days), "D")).astype(date)
        if written > as_of:
            continue
        category = categories[int(purchases["category"][i])]
        batch = category == "Backpacks" and zip_start <= written < zip_end and rng.random() < 0.7
        stars = int(rng.choice(_STARS, p=_STAR_P))
        roll = rng.random()
        if roll < 0.02:
            text: str | None = None  # stars only
        elif roll < 0.03:
            text = _pick(rng, _FOREIGN[_pick(rng, ["de", "fr"])])
        else:
            text = review_text(rng, category, stars, batch)
            if batch:
                stars = 1 if "broke" in text or "snapped" in text else 2
            if rng.random() < 0.02:
                text = text.replace(". ", ".<br>", 1).replace("'", "&#39;")
        rows.append((written, int(purchases["product_id"][i]), int(purchases["customer_id"][i]), stars, text))
    rows.sort(key=lambda r: (r[0], r[2], r[1]))
    for n, (written, product, customer, stars, text) in enumerate(rows, start=1):
        out["review_id"].append(n)
        out["product_id"].append(product)
        out["customer_id"].append(customer)
        out["review_date"].append(written)
        out["rating"].append(stars)
        out["review_text"].append(text)
    return out


def sample_review_texts(n: int, seed: int = 0) -> list[str]:
    """``n`` demo-style review texts over all categories (for benchmarks and tests)."""
    # lazy: demo_catalog builds arrays; only the benchmark sample needs it
    from assistant.demo_catalog import CATEGORIES

    rng = np.random.default_rng([seed, 4])
    return [review_text(rng, CATEGORIES[int(rng.integers(len(CATEGORIES)))], int(rng.choice(_STARS, p=_STAR_P)))
            for _ in range(n)]
