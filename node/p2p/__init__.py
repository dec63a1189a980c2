"""noticenet.node.p2p: the network under the replicator (libp2p, trio).

The libp2p host, length-prefixed framing, the roster-gated transport, the outbox per peer.
"""
