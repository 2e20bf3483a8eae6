# Generated from etcdmap/_async/__init__.py by scripts/unasync: do not edit.
"""The blocking client, written by hand; ``etcdmap._sync`` is generated from it."""
