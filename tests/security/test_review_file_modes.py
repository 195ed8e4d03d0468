"""Review of issue 14's workspace modes: the OpenAI endpoint's transcript index was created
by its first *lookup* (``sqlite3.connect``) with the umask's mode (0644 under umask 022), so
``mara serve`` then warned about its own file at every start."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from api.openai_compat import ConversationIndex


def test_transcript_index_is_private_from_its_first_lookup(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        index = ConversationIndex(tmp_path / "openai_conversations.sqlite")
        assert index.lookup("0" * 64) is None
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "openai_conversations.sqlite").stat().st_mode) == 0o600


def test_router_cache_is_owner_only(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The example-embedding cache lives beside the feedback cache (customer texts): 0700/0600."""
    from assistant.planner.routing import Router

    cache = tmp_path / "cache"
    cache.mkdir(mode=0o755)  # as an older workspace left it
    cache.chmod(0o755)
    Router({"query_data"}, cache).scores("revenue by country")
    files = list(cache.glob("router-*.npy"))
    assert [oct(cache.stat().st_mode & 0o777)] + [oct(f.stat().st_mode & 0o777) for f in files] == ["0o700", "0o600"]
