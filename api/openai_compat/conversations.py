"""Which Mara conversation a request continues (the rules are in the package docs), and the
transcript index that finds it again from the history an OpenAI client resends."""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import threading
import time
import uuid
from pathlib import Path

from pydantic import BaseModel

from api.models import CONVERSATION_ID_PATTERN, MAX_MESSAGE_CHARS
from api.openai_compat.errors import OpenAIError
from api.openai_compat.schemas import ChatCompletionRequest
from api.runtime import Runtime
from foundation.settings import touch_private

INDEX_FILE = "openai_conversations.sqlite"
_CONVERSATION_ID = re.compile(CONVERSATION_ID_PATTERN)


def transcript_hash(messages: list[tuple[str, str]]) -> str:
    """A stable hash of (role, text) pairs; text is whitespace-trimmed."""
    canonical = json.dumps([[role, text.strip()] for role, text in messages], ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


class ConversationIndex:
    """Transcript hash → conversation id, in a small SQLite file in the workspace."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._ready = False

    def _connect(self) -> sqlite3.Connection:
        touch_private(self.path)  # a lookup may be the first use: never created with the umask's mode
        con = sqlite3.connect(self.path, timeout=10)
        if not self._ready:
            con.execute(
                "CREATE TABLE IF NOT EXISTS transcripts (hash TEXT PRIMARY KEY, "
                "conversation_id TEXT NOT NULL, updated REAL NOT NULL)"
            )
            self._ready = True
        return con

    def lookup(self, digest: str) -> str | None:
        """The conversation recorded for a transcript hash, if any."""
        with self._lock:
            con = self._connect()
            try:
                row = con.execute(
                    "SELECT conversation_id FROM transcripts WHERE hash = ?", (digest,)
                ).fetchone()
            finally:
                con.close()
        return str(row[0]) if row else None

    def record(self, digest: str, conversation_id: str) -> None:
        """Remember that a transcript belongs to a conversation."""
        with self._lock:
            touch_private(self.path)
            con = self._connect()
            try:
                with con:
                    con.execute(
                        "INSERT OR REPLACE INTO transcripts VALUES (?, ?, ?)",
                        (digest, conversation_id, time.time()),
                    )
            finally:
                con.close()


_indexes: dict[Path, ConversationIndex] = {}
_indexes_lock = threading.Lock()


def conversation_index(runtime: Runtime) -> ConversationIndex:
    path = runtime.settings.home / INDEX_FILE
    with _indexes_lock:
        return _indexes.setdefault(path, ConversationIndex(path))


class Turn(BaseModel):
    """What a request asks: the question and where it belongs."""

    question: str
    conversation_id: str
    earlier: list[tuple[str, str]]
    #: Record the transcript after the turn (only for history-derived conversations).
    indexed: bool
    #: The caller's actor (``key:NAME``), part of every derived conversation id and index hash.
    owner: str = "api:local"


def plan_turn(
    body: ChatCompletionRequest, header_id: str | None, index: ConversationIndex,
    owner: str = "api:local",
) -> Turn:
    """Pick the question and the conversation id by the rules in the module docstring."""
    last = max((i for i, m in enumerate(body.messages) if m.role == "user"), default=None)
    if last is None:
        raise OpenAIError(
            400,
            "messages must contain a user message: Mara answers the last one.",
            param="messages",
            code="missing_user_message",
        )
    question = body.messages[last].text()
    if not question.strip():
        raise OpenAIError(
            400,
            "The last user message has no text.",
            param=f"messages.{last}.content",
            code="empty_message",
        )
    if len(question) > MAX_MESSAGE_CHARS:
        raise OpenAIError(
            400,
            f"The last user message is longer than {MAX_MESSAGE_CHARS} characters.",
            param=f"messages.{last}.content",
            code="message_too_long",
        )
    earlier: list[tuple[str, str]] = [(m.role, m.text()) for m in body.messages[:last]]
    if header_id is not None:
        if not _CONVERSATION_ID.match(header_id):
            raise OpenAIError(
                400,
                "X-Conversation-Id must be 1-128 letters, digits, '_', '.', ':' or '-', "
                "starting with a letter or digit.",
                param="X-Conversation-Id",
                code="invalid_conversation_id",
            )
        return Turn(
            question=question, conversation_id=header_id, earlier=earlier, indexed=False,
            owner=owner,
        )
    if body.user:
        derived = json.dumps([owner, body.user], ensure_ascii=False)
        user_id = "user-" + hashlib.sha256(derived.encode()).hexdigest()[:32]
        return Turn(
            question=question, conversation_id=user_id, earlier=earlier, indexed=False, owner=owner
        )
    if not earlier:
        return Turn(
            question=question,
            conversation_id="oai-" + uuid.uuid4().hex,
            earlier=[],
            indexed=True,
            owner=owner,
        )
    digest = transcript_hash([("owner", owner), *earlier])
    found = index.lookup(digest)
    return Turn(
        question=question,
        conversation_id=found or "oai-" + digest[:32],
        earlier=earlier,
        indexed=True,
        owner=owner,
    )



def remember(index: ConversationIndex, turn: Turn, reply: str) -> None:
    transcript = [("owner", turn.owner), *turn.earlier, ("user", turn.question), ("assistant", reply)]
    index.record(transcript_hash(transcript), turn.conversation_id)

