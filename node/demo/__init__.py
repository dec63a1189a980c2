"""noticenet.node.demo: local networks of node processes on 127.0.0.1.

`localnet create`, a cluster of node processes to drive, and the demonstration run over it.
"""
