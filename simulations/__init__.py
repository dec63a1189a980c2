"""noticenet.simulations."""
