"""The node's web pages for people at a desk: bureaus, border posts, commissioners.

Served by the node's own API server (see `install`), under `/ui/`, with the
API's users and roles: a session cookie stands for an API token, and every
page checks its role through `noticenet.node.api.common.admit`, as the API does.
"""

from noticenet.node.web.install import install

__all__ = ["install"]
