"""Preparing customer text for analysis: HTML removal, language guess, chunking.

Reviews, tickets and survey answers arrive with HTML (``<br>``, ``&amp;``), in several
languages and sometimes thousands of words long. The sentence encoder reads at most 256
word pieces and was trained on English, so texts are cleaned, English is recognised by its
function words (nothing is downloaded, no extra dependency), and long texts are cut at
sentence ends into chunks that each fit the encoder — every word is read, none dropped.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass

#: Words per chunk: ~1.3 word pieces per English word keeps a chunk under the encoder's 256.
CHUNK_WORDS = 160

_BLOCKS = re.compile(r"(?is)<(script|style)\b.*?</\1\s*>")
_BREAKS = re.compile(r"(?i)<\s*(br|/p|/div|/li|/h[1-6]|p|li)\b[^>]*>")
_TAGS = re.compile(r"<[^>]{0,500}>")
_SPACES = re.compile(r"[ \t\r\f\v]+")
_LINES = re.compile(r"\s*\n\s*")
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+|\n+")
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)

# Frequent function words per language (words that are not also common in English).
_FUNCTION_WORDS: dict[str, frozenset[str]] = {
    "en": frozenset(["the", "and", "is", "it", "this", "was", "for", "with", "but", "not", "have", "are", "they", "you", "very", "my", "of", "to"]),
    "de": frozenset(["und", "ist", "nicht", "das", "die", "der", "sehr", "ich", "mit", "für", "auf", "ein", "eine", "aber", "war", "sind", "zu"]),
    "fr": frozenset(["le", "la", "les", "et", "est", "pas", "une", "des", "très", "je", "pour", "avec", "mais", "qui", "sur", "ce", "du"]),
    "es": frozenset(["el", "los", "las", "y", "es", "muy", "pero", "con", "para", "una", "por", "que", "del", "lo", "se"]),
    "nl": frozenset(["het", "een", "en", "is", "niet", "de", "van", "zijn", "voor", "met", "maar", "ik", "dat", "heel", "op"]),
    "sv": frozenset(["och", "är", "inte", "det", "att", "en", "för", "med", "som", "på", "jag", "mycket", "men", "av"]),
    "it": frozenset(["il", "di", "che", "è", "non", "per", "una", "sono", "molto", "con", "gli", "della", "ma", "anche"]),
    "pt": frozenset(["não", "uma", "com", "para", "muito", "mas", "os", "que", "por", "são", "foi", "está"]),
}
_LATIN = re.compile(r"[A-Za-zÀ-ɏ]")
_ANY_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)

#: Languages whose texts are scored (``und``: too short to tell, read as English).
SCORED_LANGUAGES = frozenset({"en", "und"})


def has_html(text: str) -> bool:
    """Whether ``text`` carries HTML tags or entities."""
    return bool(_TAGS.search(text) or re.search(r"&(#\d+|#x[0-9a-f]+|[a-z]+);", text, re.I))


def clean_text(text: str) -> str:
    """``text`` without HTML (tags dropped, entities decoded, breaks kept) and with tidy spaces."""
    if has_html(text):
        text = _BLOCKS.sub(" ", text)
        text = _BREAKS.sub("\n", text)
        text = _TAGS.sub(" ", text)
        text = html.unescape(text)
    text = _SPACES.sub(" ", text.replace("\u00a0", " "))
    return _LINES.sub("\n", text).strip()


def detect_language(text: str) -> str:
    """A guess of ``text``'s language: ``en``, ``de``, ``fr``... by function words.

    ``und`` when nothing tells (a short "Great!"), ``other`` for non-Latin scripts.
    """
    letters = _ANY_LETTER.findall(text)
    if letters and sum(1 for ch in letters if _LATIN.match(ch)) < 0.5 * len(letters):
        return "other"
    words = [w.lower() for w in _WORD.findall(text)]
    counts = {lang: sum(1 for w in words if w in vocab) for lang, vocab in _FUNCTION_WORDS.items()}
    best = max(counts, key=lambda lang: counts[lang])
    if counts[best] == 0 or (counts[best] < 2 and len(words) > 6):
        return "und"
    if counts["en"] == counts[best]:
        return "en"
    return best


@dataclass(frozen=True, slots=True)
class Chunk:
    """A piece of a text that fits the encoder: its index in the input and its word count."""

    text_index: int
    text: str
    words: int


def chunk_text(text: str, max_words: int = CHUNK_WORDS) -> list[str]:
    """``text`` cut at sentence ends into pieces of at most ``max_words`` words (a longer
    sentence is cut between words); the pieces together hold every word of ``text``."""
    words = text.split()
    if len(words) <= max_words:
        return [text]
    pieces: list[str] = []
    current: list[str] = []
    for sentence in (s for s in _SENTENCE_END.split(text) if s.strip()):
        sentence_words = sentence.split()
        while len(sentence_words) > max_words:  # one very long sentence
            if current:
                pieces.append(" ".join(current))
                current = []
            pieces.append(" ".join(sentence_words[:max_words]))
            sentence_words = sentence_words[max_words:]
        if len(current) + len(sentence_words) > max_words:
            pieces.append(" ".join(current))
            current = []
        current.extend(sentence_words)
    if current:
        pieces.append(" ".join(current))
    return pieces


def chunk_texts(texts: Sequence[str], max_words: int = CHUNK_WORDS) -> list[Chunk]:
    """Every text's chunks in order, each tagged with its text's index."""
    return [
        Chunk(i, piece, max(1, len(piece.split())))
        for i, text in enumerate(texts)
        for piece in chunk_text(text, max_words)
    ]
