"""`noticenet node run`: one trio process with the node, its API, and signal handling."""

from __future__ import annotations

import dataclasses
import logging
import signal
from pathlib import Path

import trio

from noticenet.node import logs
from noticenet.node.api.app import create_app, serve_api
from noticenet.node.api.users import Users
from noticenet.node.config import load_config
from noticenet.node.service import NodeService

logger = logging.getLogger("noticenet.node")


async def run_node(config_path: Path, passphrase: str | None = None, alone: bool = False) -> None:
    """Run until SIGINT or SIGTERM, then stop cleanly.

    `alone`: publish without first hearing the own feed's head from a peer.
    """
    config = load_config(config_path)
    if alone:
        config = dataclasses.replace(config, alone=True)
    service = NodeService(config, config.keys(passphrase))
    tokens = config.tokens_file or config.data_dir / "tokens.json"
    users = Users(tokens)
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with trio.open_nursery() as nursery:
            await nursery.start(service.run)
            if config.api:
                await nursery.start(serve_api, create_app(service, users), config.api)
            logs.event(logger, "node.ready", member=config.member, api=config.api or "-")
            async for signum in signals:
                logs.event(logger, "node.signal", signal=signal.Signals(signum).name)
                nursery.cancel_scope.cancel()
                break
