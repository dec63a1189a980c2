"""noticenet.protocol.records: what an entry is, in bytes and in types.

The codec, record schemas and kinds, governance records, the signed entry, its sealed body.
"""
