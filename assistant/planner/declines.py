"""What the offline planner says when the data cannot feed a capability, and audience requests.

A decline names what is missing in the words of the data's *roles* (who bought, when, how much;
customer-written text), never a table name the user may not have ("I need an orders table" when
their purchases sit in ``invoice_lines``): the purchases table is found by the semantic model's
roles whatever it is called (``model._orders_table``), and when none qualifies the reply says which
table comes closest, what it lacks, and which tables and columns do exist.
"""

from __future__ import annotations

import re
from typing import Any

from tools.segment_names import SEGMENTS

#: What each capability does, as the decline says it.
_PURPOSE = {
    "rfm_segments": "put customers into RFM segments",
    "cluster_customers": "group customers by how they buy",
    "predict_churn": "predict who will buy again or churn",
    "customer_lifetime_value": "estimate customer lifetime value",
    "recommend_products": "recommend products",
    "analyze_feedback": "read customer feedback",
}
_CUSTOMER_WORDS = re.compile(r"customer|client|user|member|buyer|shopper|email|account|contact|visitor|pseudo", re.I)
_ITEM_WORDS = re.compile(r"product|item|sku|stock|article|lineitem|description|title", re.I)
_SHOWN_COLUMNS = 8


def _customer_column(table: Any) -> str | None:
    """The column saying who a row belongs to: the semantic model's customer key, else an id/text column named so."""
    if table.customer_key and table.customer_key != table.key:
        return str(table.customer_key)
    found = next((c.name for c in table.columns if c.name != table.key and c.role in ("id", "text", "category")
                  and _CUSTOMER_WORDS.search(c.name)), None)
    return str(found) if found else None


def purchases_by_customer(table: Any) -> bool:
    """Whether ``table`` says who bought on each row with a column that repeats across rows (a purchase log),
    not one row per customer or account (``accounts`` with a signup date and MRR is no order history)."""
    if table.customer_key and table.customer_key == table.key:
        return False  # the semantic model reads it as the customer table itself (one row per customer)
    column = _customer_column(table)
    found = table.column(column) if column else None
    if found is None:
        return False
    if found.distinct is None:
        return True  # not profiled: trust the semantic model's customer key
    return table.rows - (found.nulls or 0) - found.distinct > 0  # some customer appears on more than one row


_FEEDBACK_NAMES = re.compile(r"review|feedback|survey|nps|ticket|comment|response|answer|complaint|verbatim|"
                             r"message|body|text|note|remark|opinion", re.I)


def customer_text(args: dict[str, Any]) -> bool:
    """Whether the text ``analyze_feedback`` was pointed at reads as customer-written (a reviews table, a comment
    column) — a company or product name is free text too, and sentiment of it would be a confident wrong answer."""
    return bool(_FEEDBACK_NAMES.search(f"{args.get('table', '')} {args.get('text_column', '')}"))


def _roles(tool: str, table: Any) -> dict[str, str | None]:
    """The role columns ``tool`` needs and which column of ``table`` plays each (None: missing)."""
    dates = table.by_role("date")
    if tool == "recommend_products":
        item = next((c.name for c in table.columns if _ITEM_WORDS.search(c.name) and c.role in ("id", "category", "text")), None)
        return {"who bought (a customer id)": _customer_column(table), "what (a product or item)": item}
    money = table.by_role("money")
    return {"who bought (a customer id)": _customer_column(table), "when (a date)": dates[0].name if dates else None,
            "how much (an amount)": money[0].name if money else None}


def _tables_line(profile: Any) -> str:
    parts = []
    for table in profile.tables:
        columns = [c.name for c in table.columns]
        shown = ", ".join(columns[:_SHOWN_COLUMNS]) + (f", … ({len(columns)} columns)" if len(columns) > _SHOWN_COLUMNS else "")
        parts.append(f"**{table.name}** ({table.rows:,} rows: {shown})")
    return "; ".join(parts)


def needs_message(tool: str, profile: Any) -> str:
    """Why ``tool`` cannot run on this data: the roles it needs, the closest table and what it lacks, what exists."""
    purpose = _PURPOSE.get(tool, "do that")
    tables = list(getattr(profile, "tables", None) or [])
    if not tables:
        return (f"To {purpose} I need your data, and the workspace has no tables yet. "
                "Load an export with `mara data load FILE`.")
    if tool == "analyze_feedback":
        texts = [f"{t.name}.{c.name}" for t in tables for c in t.columns if c.role == "text" and c.pii]
        note = f" (the only free text I see is personal data: {', '.join(texts[:3])})" if texts else ""
        return (f"To {purpose} I need a column of text customers wrote — reviews, comments, survey answers or "
                f"tickets — and none of your tables has one{note}. Your data: {_tables_line(profile)}. "
                "Load a reviews or survey export with `mara data load`.")
    found = [(t, _roles(tool, t)) for t in tables]
    scored = [(sum(v is not None for v in roles.values()), t, roles) for t, roles in found]
    scored.sort(key=lambda x: (-x[0], -x[1].rows))
    _, closest, roles = scored[0]
    needed = ", ".join(roles)
    have = [f"{role.split(' (')[0]}: {column}" for role, column in roles.items() if column]
    missing = [role for role, column in roles.items() if not column]
    closest_text = (f"The closest is **{closest.name}**" + (f" ({'; '.join(have)})" if have else "")
                    + (f", but it has no column for {' or '.join(missing)}." if missing else "."))
    if closest.key and not missing and not purchases_by_customer(closest):
        closest_text += f" But it has one row per {closest.key.removesuffix('_id')}, not one per purchase."
    elif closest.key and any("who bought" in m for m in missing):
        closest_text += f" Its {closest.key} names each row once, so it holds no purchase history."
    return (f"To {purpose} I need a table of purchases with one row per order or line: {needed}. "
            f"{closest_text} Your data: {_tables_line(profile)}. "
            "Load an order or transaction export with `mara data load`, or ask me about these tables instead.")


# --- audiences ------------------------------------------------------------------------------------

AUDIENCE_QUESTION = ("Which customers should the audience hold? I can save an RFM segment "
                     f"({', '.join(list(SEGMENTS)[:4])}, …), the top N of a churn or purchase model, or the customers a "
                     "query returns — e.g. “save the At Risk customers as an audience called winback”.")
_ORDINARY = {"New", "Lost", "Loyal", "Promising"}  # ordinary words: a segment only before "customers"
_SEGMENT_FORMS = [(s, re.compile(r"\b" + re.escape(s).replace(r"\ ", r"[\s-]+").replace("'", "'?") + r"s?\b"
                                 + (r"(?=\s+(?:customers|buyers|shoppers|ones|segment))" if s in _ORDINARY else ""), re.I))
                  for s in SEGMENTS]
_NAME = re.compile(r"\b(?:called|named|as)\s+[\"“']?([A-Za-z0-9][\w-]{1,40})[\"”']?(?=\s*(?:$|[.,;!?]|\s+(?:for|and|with)\b))",
                   re.I)
_NOT_NAMES = {"an", "a", "the", "audience", "list", "segment", "csv", "file"}


def audience_request(text: str) -> dict[str, Any] | None:
    """``save_audience`` arguments for the RFM segments ``text`` names (“the champions”, “customers we can't
    lose”), named by ``called X`` or after the segments; None when it names no segment."""
    lowered = text.replace("’", "'")
    wanted = [s for s, pattern in _SEGMENT_FORMS if pattern.search(lowered)]
    if not wanted and re.search(r"can'?t (?:afford to )?lose", lowered, re.I):
        wanted = ["Can't Lose Them"]
    if not wanted:
        return None
    names = [m.group(1) for m in _NAME.finditer(lowered) if m.group(1).lower() not in _NOT_NAMES]
    name = names[-1] if names else "-".join(re.sub(r"[^a-z0-9]+", "-", s.lower()).strip("-") for s in wanted)
    return {"name": name, "rfm_segments": wanted}
