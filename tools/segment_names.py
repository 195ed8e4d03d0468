"""The RFM segment names and what each means, apart from the scoring (which needs pandas).

The offline planner reads these names on every turn (to recognise "save the At Risk customers");
keeping them here lets a one-shot `mara chat` answer without importing pandas.
"""

from __future__ import annotations

SEGMENTS: dict[str, str] = {
    "Champions": "Bought recently, buy often and spend the most.",
    "Loyal": "Buy regularly and spend well; respond to loyalty rewards.",
    "Potential Loyalist": "Recent customers with average frequency; nurture into loyalty.",
    "New": "Bought very recently for the first time.",
    "Promising": "Recent but small, infrequent buyers; build the habit.",
    "Need Attention": "Average recency, frequency and spend; slipping without a nudge.",
    "About to Sleep": "Below-average recency and frequency; will be lost without reactivation.",
    "At Risk": "Used to buy often and spend well, but not for a while.",
    "Can't Lose Them": "Former best customers who have gone quiet; win them back.",
    "Hibernating": "Last bought long ago, few small orders.",
    "Lost": "Lowest recency, frequency and spend.",
}
