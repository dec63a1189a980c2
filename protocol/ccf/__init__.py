"""noticenet.protocol.ccf: the oversight commission's threshold-signed actions.

The genesis and threshold entries, the signing ceremony's steps, and purge receipts.
"""
