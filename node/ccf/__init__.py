"""noticenet.node.ccf: the commission's ceremonies over files, key generation and signing.

DKG rounds, proposals, commitments, shares and key packages on disk, for the CLI and localnet.
"""
