"""The only flavour-specific primitives: one module for asyncio, one for threads."""
