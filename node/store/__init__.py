"""noticenet.node.store: the node's LevelDB store.

The LevelDB backend of the store interface; opening, checking and repairing a store on disk.
"""
