"""The bottom layer: errors, settings, token accounting and the event types.

Everything else imports these; they import nothing of Mara's (only the standard library,
pydantic and tiktoken), so any layer can use them without cycles.
"""
