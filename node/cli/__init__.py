"""noticenet.node.cli: the `noticenet` command (typer), offline and online.

The one place that joins the node and the simulations; its client speaks to a node's API.
"""
