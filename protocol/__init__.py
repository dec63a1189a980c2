"""noticenet.protocol."""
