"""The asyncio client, written by hand; ``etcdmap._sync`` is generated from it."""
