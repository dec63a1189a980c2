"""noticenet.protocol.ledger: the ledger over the store, entry by entry.

Validation, intake and decryption, CCF enforcement, publishing, audit and integrity checks.
"""
