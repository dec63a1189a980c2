"""noticenet.protocol.index: the keyed terms a record is found and guarded by.

Re-entry guard tags, the index keys written per record, and the lookups over them.
"""
