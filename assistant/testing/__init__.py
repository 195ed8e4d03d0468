"""Test doubles that ship with the package, for tests and benchmarks.

:class:`ScriptedOpenAIServer` is an OpenAI-compatible HTTP server that answers
from a script, so the real ``openai`` SDK and ``langchain_openai`` can be driven
over real HTTP with no real model.
"""

from assistant.testing.openai_server import (
    SCRIPT_EXHAUSTED,
    ScriptedOpenAIServer,
    ScriptedReply,
    ScriptedToolCall,
    estimate_tokens,
)

__all__ = [
    "SCRIPT_EXHAUSTED",
    "ScriptedOpenAIServer",
    "ScriptedReply",
    "ScriptedToolCall",
    "estimate_tokens",
]
