"""Mara's HTTP face: REST + Server-Sent Events API and the web chat.

Build the app with :func:`api.app.create_app`; ``mara serve`` runs it under uvicorn.
"""

from api.app import create_app

__all__ = ["create_app"]
