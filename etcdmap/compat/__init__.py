"""Drop-in replacements for other etcd client libraries, written on etcdmap's client.

``etcdmap.compat.etcd3`` stands in for python-etcd3 (``import etcdmap.compat.etcd3 as etcd3``);
see docs/migration-python-etcd3.md. Nothing in etcdmap imports this package.
"""
