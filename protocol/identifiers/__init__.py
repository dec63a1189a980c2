"""noticenet.protocol.identifiers: parsers of the identifiers records carry.

Names, dates and countries normalised; MRZ, VIN and DNA profiles parsed and checked.
"""
