"""Sans-IO core: request builders, response parsers, error and retry tables.

Nothing here opens a socket, starts a thread or touches asyncio; the sync and async clients are
thin drivers around these functions.
"""
