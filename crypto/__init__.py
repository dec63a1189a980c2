"""noticenet.crypto."""
