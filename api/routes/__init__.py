"""The API's routers, one module per area; :mod:`api.app` includes them."""
