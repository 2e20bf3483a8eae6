"""``python -m etcdmap``: the ``etcdmap`` command (needs ``pip install 'etcdmap[cli]'``)."""

from etcdmap.cli import main

if __name__ == "__main__":
    main()
