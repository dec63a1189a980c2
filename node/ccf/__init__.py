"""noticenet.node.ccf: the commission's signing ceremony over files.

Proposals, commitments, shares and key packages on disk, for the CLI, localnet and the demo.
"""
