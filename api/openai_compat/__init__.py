"""OpenAI-compatible endpoint: ``POST /v1/chat/completions`` and ``GET /v1/models``.

Any OpenAI client or chat UI can talk to Mara through these routes (model id ``mara``). They
speak OpenAI's wire format: ``chat.completion`` JSON, or with ``stream: true`` Server-Sent
Events of ``chat.completion.chunk`` objects (a role delta first, then content deltas, a final
chunk with ``finish_reason: "stop"``, a usage chunk when ``stream_options.include_usage``, and
``data: [DONE]``). Errors use OpenAI's shape ``{"error": {"message", "type", "param", "code"}}``;
one that happens after a stream started (its 200 is sent) comes as a ``data:`` frame with that
object plus ``status``, the HTTP status it has unstreamed (a Mara error its class's), then
``data: [DONE]``.

**The question.** The last ``user`` message is what Mara answers; its text parts are joined.

**Which Mara conversation a request continues** (first rule that applies):

1. the ``X-Conversation-Id`` request header, used as the conversation id as is (it must match
   the ids ``POST /v1/chat`` accepts, else 400);
2. the ``user`` field: ``"user-" + sha256(caller, user)[:32]`` — the caller (the API key) is
   part of the hash, so two keys sending the same ``user`` never land in one conversation;
3. the history: the messages before the last user message (role and whitespace-trimmed
   text of each), with the caller, are hashed. After every turn the hash of the whole transcript
   *including the reply Mara returned* is recorded against the conversation id, so a client that resends the
   full history (as OpenAI clients do) lands in the same conversation. A request with no earlier
   messages starts a new conversation; earlier messages never seen before (edited history, or
   an index that was removed) start a new conversation named ``"oai-" + hash[:32]``. The index
   lives in ``openai_conversations.sqlite`` in the workspace, so it survives restarts and is
   shared by workers on the same workspace.

Mara keeps its own copy of each conversation, so the earlier messages a client sends are
used only to find the conversation, never re-read as context. A conversation belongs to the key
that started it: one another key started is answered 404 ``conversation_not_found``.

**The reply** is Markdown: a line naming the tools used and their durations
(``_Used: query_data (42 ms)_``), the answer, then each result table (first
:data:`TABLE_ROWS` rows, with a CSV link for the rest), chart titles and sources. The
conversation id is also returned in the ``X-Conversation-Id`` response header.

The package: :mod:`~api.openai_compat.schemas` (the wire bodies), :mod:`~api.openai_compat.errors`
(OpenAI's error shape for every failure), :mod:`~api.openai_compat.conversations` (which Mara
conversation a request continues), :mod:`~api.openai_compat.renderer` (events as Markdown) and
:mod:`~api.openai_compat.routes` (the two routes).
"""

from api.openai_compat.conversations import ConversationIndex, plan_turn, transcript_hash
from api.openai_compat.renderer import ReplyRenderer, render_reply, table_markdown
from api.openai_compat.routes import router

__all__ = ["ConversationIndex", "ReplyRenderer", "plan_turn", "render_reply", "router", "table_markdown",
           "transcript_hash"]
