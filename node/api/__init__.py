"""noticenet.node.api: the node's HTTP API (FastAPI, served in the node's trio run).

The app, its routes by concern, request limits, users and roles, bulk import/export, metrics.
"""
