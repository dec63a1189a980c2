"""noticenet.protocol.ccf: the oversight commission's threshold-signed actions.

Genesis and threshold entries, the key generation (DKG) and signing ceremonies, purge receipts.
"""
