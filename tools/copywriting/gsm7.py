"""GSM-7 transliteration: how a fact with a typographic symbol is written in the SMS alphabet.

One SMS holds 160 GSM-7 characters but only 70 in UCS-2, and a single character outside
GSM 03.38 (a curly quote, a degree sign) switches the whole message to UCS-2. So SMS text is
written in GSM-7 with a faithful look-alike for every symbol a fact may carry — the fact stays,
only its typography changes. The rules, in order (the same function, :func:`to_gsm7`, is used
by the SMS fitter, per-customer rendering, the ``must_know`` check and the copy rubric, so a
fact written "-1C" in an SMS still counts as the brief's "−1 °C"):

* degrees: a temperature keeps its number and scale, without the space: "−1 °C" → "-1C",
  "23°F" → "23F"; "n°" (numéro) → "no"; any other degree after a number → " deg" ("90°" →
  "90 deg"); a stray "°" goes;
* quotes: ‘ ’ ‚ ′ ‹ › → ', “ ” „ ″ « » → "; dashes and minus signs: – — ‑ ‐ − → -; … → ...;
* spaces: no-break, thin and narrow no-break spaces → a plain space;
* symbols: × → x, ½ → 1/2, ¼ → 1/4, ¾ → 3/4, ⅓ → 1/3, ⅔ → 2/3, • · → -, ™ ® © dropped;
* letters outside GSM-7: á í ó ú â ê î ô û ë ï ã õ ý ÿ → the plain letter, ç → c (GSM-7's only
  c-cedilla is the capital Ç, and "reÇoit" reads worse than "recoit"), œ → oe.

"€" is not rewritten: it is in GSM-7's extension table (it costs two of the 160 units), like
^ { } [ ] ~ | and the backslash. Emoji are left alone here; the fitter drops them only when
they would push an SMS past one UCS-2 segment.
"""

from __future__ import annotations

import re

CHARACTERS: dict[str, str] = {
    "‘": "'", "’": "'", "‚": "'", "′": "'", "‹": "'", "›": "'",
    "“": '"', "”": '"', "„": '"', "″": '"', "«": '"', "»": '"',
    "–": "-", "—": "-", "‑": "-", "‐": "-", "−": "-", "…": "...",
    "\u00a0": " ", "\u2009": " ", "\u202f": " ",
    "×": "x", "½": "1/2", "¼": "1/4", "¾": "3/4", "⅓": "1/3", "⅔": "2/3",
    "•": "-", "·": "-", "™": "", "®": "", "©": "",
    "ç": "c", "á": "a", "í": "i", "ó": "o", "ú": "u", "â": "a", "ê": "e", "î": "i", "ô": "o",
    "û": "u", "ë": "e", "ï": "i", "ã": "a", "õ": "o", "ý": "y", "ÿ": "y", "œ": "oe", "Œ": "OE",
}
"""One character → its GSM-7 look-alike (the context-free part of :func:`to_gsm7`)."""

_TABLE = str.maketrans(CHARACTERS)
_DEGREE_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?<=\d)\s+(?=°)"), ""),                   # "-1 °C" → "-1°C"
    (re.compile(r"°\s?([CF])(?![^\W\d_])"), r"\1"),        # "-1°C" → "-1C"
    (re.compile(r"(?<=\b[Nn])°"), "o"),                     # "N° 1" → "No 1"
    (re.compile(r"(?<=\d)°(?=[^\W\d_])"), " deg "),           # "5°Celsius" → "5 deg Celsius"
    (re.compile(r"(?<=\d)°"), " deg"),                      # "90°" → "90 deg"
    (re.compile(r"\s?°"), ""),                              # a stray degree sign
)


def to_gsm7(text: str) -> str:
    """``text`` with every symbol listed in the module docstring written in GSM-7 (facts kept)."""
    if "°" in text:
        for pattern, replacement in _DEGREE_RULES:
            text = pattern.sub(replacement, text)
    return text.translate(_TABLE)
