# Generated from etcdmap/_async/__init__.py by scripts/unasync: do not edit.
"""The blocking client, generated from ``etcdmap._async`` by scripts/unasync."""
