"""noticenet.node."""
