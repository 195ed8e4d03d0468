"""Which capability a message asks for: sentence-embedding similarity to examples, plus rules.

A tool's examples live in its ``@mara_tool(examples=[...])`` declaration; greetings and help
in ``prompts/tool_examples.yaml``. Adding phrasings there improves routing. Rules catch what similarity alone gets wrong
(literal SQL, greetings, strong data or brand keywords).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from foundation.settings import make_private, open_private, private_dir
from knowledge.embeddings import get_encoder
from prompts import load_data
from tools.registry import routing_examples

_SQL = re.compile(r"(?is)(?:```sql\s*(.+?)```|^\s*((?:select|with)\b.+)$|\b((?:select)\s+.+?\bfrom\b.+))")
_GREETING = re.compile(r"^\s*(hi|hello|hey|hiya|good (morning|afternoon|evening)|thanks|thank you|cheers|ok|okay|great)\b[\s!.,]*(mara)?[\s!.]*$", re.I)
_HELP = re.compile(r"^\s*(help|\?|what can you do|what do you do|how (do|can) i use you|who are you)\b", re.I)
_DATA_WORDS = re.compile(
    r"\b(how many|number of|count|revenue|sales|spend|spent|average|avg|total|orders?|customers?|"
    r"products?|per (month|week|day|country)|by (country|city|channel|month|tier|category)|top \d+|"
    r"aov|trend|monthly|weekly|opted in|opt-in|signups?|churn\w*)\b",
    re.I,
)
_BRAND_WORDS = re.compile(
    r"\b(brand|voice|tone|style guide|guideline|policy|policies|disclaimer|banned|compliance|offer|offers|"
    r"promotion|promo|warranty|return|returns|shipping|faq|persona|personas|claims?|sustainab\w*|"
    r"emoji|wording|tagline|values|repair|guarantee)\b",
    re.I,
)
_WRITE = re.compile(
    r"^\s*(please\s+)?(drop|delete|truncate|update|insert|alter|remove|erase|wipe|modify|change|rename|create)\b"
    r"(?!.*\b(audience|segment|draft|copy|campaign|message|sms|email)\b)",
    re.I,
)
_MUTATING_SQL = re.compile(
    r"\b(delete\s+from|drop\s+(table|view|schema|database|index)|truncate\s+(table\s+)?[\w.\"]+|"
    r"update\s+[\w.\"]+\s+set|insert\s+(into|overwrite)|alter\s+(table|view|schema|database)|"
    r"create\s+(or\s+replace\s+)?(table|view|schema|database|index)|merge\s+into|grant\s+\w+|revoke\s+\w+|"
    r"attach\s+(database\s+)?'|copy\s+[\w.\"]+\s+(from|to)\b)",
    re.I,
)
_DESTROY_DATA = re.compile(
    r"\b(delete|drop|truncate|wipe|erase|destroy)\b[^.?!]{0,40}\b(tables?|rows?|records?|customers|orders|"
    r"database|warehouse|data)\b",
    re.I,
)
_SECRETS = re.compile(
    r"(\b(show|print|reveal|tell|give|display|dump|leak|output|repeat|list|share|what(?:'s| is| are))\b[^.?!]{0,40}"
    r"\b(system prompt|(your|the) (instructions|prompt|configuration|config)|api[ _-]?keys?|secret( key)?s?|"
    r"access tokens?|bearer tokens?|passwords?|credentials|env(ironment)? var(iable)?s?|\.env\b|"
    r"openai_api_key|mara_llm_api_key|connection string|database url))|"
    r"\bignore (all |any )?(the |your )?(previous|prior|above|earlier) (instructions|rules|prompts?)\b",
    re.I,
)
_PERSONAL_WORDS = re.compile(
    r"\b(e-?mails?|phone( numbers?)?|addresses|home address|names?|contact details|personal data|pii)\b", re.I
)


def refusal_kind(message: str) -> str | None:
    """``"secrets"`` (system prompt, keys, credentials), ``"write"`` (mutating SQL, destroying data) or ``None``."""
    if _SECRETS.search(message):
        return "secrets"
    if _SQL.search(message):
        return None  # literal SQL goes to run_sql, whose parser refuses anything but one read-only SELECT
    if _MUTATING_SQL.search(message) or _DESTROY_DATA.search(message):
        return "write"
    return None


def asks_for_customer_data(message: str) -> bool:
    """Whether a message asks about customer data (counts, revenue, personal details), not for copy."""
    if _COPY.search(message):
        return False
    return bool(_DATA_WORDS.search(message) or _SCHEMA_WORDS.search(message)
                or (_PERSONAL_WORDS.search(message) and re.search(r"\b(customers?|clients?|users?|people)\b", message, re.I)))


_MODEL_WORDS = {
    "rfm_segments": re.compile(r"\b(rfm|champions?|at[- ]risk|can'?t lose|hibernating|about to sleep|"
                               r"need attention|potential loyalists?|best customers|loyal customers|segments?|segmentation|"
                               r"churned|lapsed|lost customers)\b", re.I),
    "cluster_customers": re.compile(r"\b(cluster\w*|k-?means|personas? from (the )?data|behaviou?ral groups?)\b", re.I),
    "predict_churn": re.compile(r"\b(churn(?!ed)\w*|propensity|likely to (buy|purchase|order|churn|stop|leave|lapse)|"
                                r"(will|going to) (buy|purchase|order|churn|stop|leave|lapse))\b", re.I),
    "customer_lifetime_value": re.compile(r"\b(lifetime value|clv|ltv|p\(alive\)|probability (of being )?alive|"
                                          r"still alive|future (revenue|value))\b", re.I),
    "recommend_products": re.compile(r"\b(recommend\w*|next best|also (bought|buy|purchased?)|cross-?sell\w*|"
                                     r"buy next|buyers buy|products? to feature|"
                                     r"likely to (buy|purchase|order) (an?|the|our) \w)", re.I),
}
_COPY = re.compile(
    r"\b(draft|write|create|compose|come up with|generate|suggest)\b.*\b(sms|text messages?|texts?|e-?mails?|push|"
    r"notifications?|ads?|headlines?|posts?|tweets?|copy|subject lines?|newsletters?)\b",
    re.I,
)
_SCHEMA_WORDS = re.compile(r"\b(tables?|columns?|fields?|schema|what data|which data|data do (we|you) have)\b", re.I)


@dataclass(frozen=True, slots=True)
class Route:
    intent: str  # a tool name, "greeting" or "help"
    score: float
    sql: str | None = None


class Router:
    """Scores a message against every intent's examples and applies the rules.

    Example embeddings are cached in ``cache_dir`` (keyed by the examples' text), so a
    one-shot ``mara chat`` only embeds the user's message.
    """

    def __init__(self, available_tools: set[str], cache_dir: Path | None = None) -> None:
        self.available = available_tools
        self.cache_dir = cache_dir

    @cached_property
    def _examples(self) -> tuple[list[str], np.ndarray]:

        raw = {**load_data("tool_examples")["intents"], **routing_examples()}
        labels: list[str] = []
        texts: list[str] = []
        for intent, examples in raw.items():
            if intent in self.available or intent in ("greeting", "help"):
                labels.extend([intent] * len(examples))
                texts.extend(examples)
        return labels, self._embed_examples(texts)

    def _embed_examples(self, texts: list[str]) -> np.ndarray:
        digest = hashlib.sha256("\x1f".join(texts).encode()).hexdigest()[:16]
        path = self.cache_dir / f"router-{digest}.npy" if self.cache_dir else None
        if path is not None and path.exists():
            try:
                cached = np.load(path)
                if cached.shape[0] == len(texts):
                    return cached
            except (OSError, ValueError):
                pass  # a damaged cache is recomputed
        matrix = get_encoder().encode(texts)
        if path is not None:
            try:
                private_dir(path.parent)
                make_private(path.parent)  # an older workspace may have made it 0755
                tmp = path.with_suffix(".tmp.npy")
                with open_private(tmp, "wb") as handle:
                    np.save(handle, matrix)
                tmp.replace(path)
            except OSError:
                pass  # caching is an optimisation only
        return matrix

    def scores(self, message: str) -> dict[str, float]:
        """Best cosine similarity per intent."""
        labels, matrix = self._examples
        query = get_encoder().encode([message])[0]
        sims = matrix @ query
        best: dict[str, float] = {}
        for label, sim in zip(labels, sims.tolist(), strict=True):
            best[label] = max(best.get(label, -1.0), float(sim))
        return best

    def model_intent(self, message: str) -> str | None:
        """The segmentation/prediction tool a message also asks for (“who will churn … and draft …”)."""
        for intent, pattern in _MODEL_WORDS.items():
            if intent in self.available and pattern.search(message):
                return intent
        return None

    def route(self, message: str) -> Route:
        """The intent for ``message``."""
        sql = _SQL.search(message)
        if sql and "run_sql" in self.available:
            statement = next(g for g in sql.groups() if g).strip().rstrip(";")
            return Route("run_sql", 1.0, sql=statement)
        refusal = refusal_kind(message)
        if refusal == "secrets":
            return Route("refuse_secret", 1.0)
        if _WRITE.search(message) or refusal == "write":
            return Route("refuse_write", 1.0)
        if _GREETING.match(message):
            return Route("greeting", 1.0)
        if _HELP.match(message):
            return Route("help", 1.0)
        scores = self.scores(message)
        if _SCHEMA_WORDS.search(message) and "describe_data" in self.available:
            scores["describe_data"] = scores.get("describe_data", 0) + 0.25
        if _DATA_WORDS.search(message) and "query_data" in self.available:
            scores["query_data"] = scores.get("query_data", 0) + 0.15
        if _BRAND_WORDS.search(message) and "search_knowledge" in self.available:
            scores["search_knowledge"] = scores.get("search_knowledge", 0) + 0.2
        if _COPY.search(message) and "draft_copy" in self.available:
            scores["draft_copy"] = scores.get("draft_copy", 0) + 0.4
        for intent, pattern in _MODEL_WORDS.items():
            if intent in self.available and pattern.search(message):
                scores[intent] = scores.get(intent, 0) + 0.35
        scores.pop("run_sql", None)  # only for literal SQL
        intent, score = max(scores.items(), key=lambda kv: kv[1])
        return Route(intent, score)
