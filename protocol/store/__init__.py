"""noticenet.protocol.store: the ordered key-value store the ledger runs over.

The store interface with its in-memory backend, the write mirror, and the layout of keys.
"""
