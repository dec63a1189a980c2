"""noticenet.protocol.replication: the replication state machine, sans I/O.

Wire frames, per-neighbour sessions, the eager/lazy trees, own-feed bookkeeping, the replicator.
"""
