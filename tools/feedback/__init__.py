"""Customer feedback: sentiment, themes and keywords from reviews, surveys and tickets.

Plain functions in :mod:`tools.feedback.analysis` (``analyze_texts``, ``analyze_table``);
the agent tool ``analyze_feedback`` in :mod:`tools.feedback.tool`.
"""
