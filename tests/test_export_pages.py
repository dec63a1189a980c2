"""An export stream survives a purge's compaction (which reopens LevelDB and closes
every open iterator): it reads index keys a page at a time, with no iterator open
across an await. Before, a revocation's purge during an export broke the stream."""

from __future__ import annotations

from pathlib import Path

import trio

from noticenet.node.api import importexport
from noticenet.node.store.leveldb import LevelDBStore
from noticenet.protocol.store.keyspace import key


async def test_index_pages_survive_a_compaction_between_them(tmp_path: Path) -> None:
    prefix = key(b"k", b"sltd") + b"/"
    count = importexport.EXPORT_PAGE * 2 + 7
    with LevelDBStore(tmp_path / "db") as store:
        batch = store.batch()
        for i in range(count):
            batch.put(prefix + i.to_bytes(32, "big"), b"")
        batch.put(key(b"k", b"vehicle") + b"/" + bytes(32), b"")  # another prefix: not read
        batch.commit()
        seen = []
        async for eid in importexport._ids_in_pages(store, prefix):
            seen.append(eid)
            if len(seen) % importexport.EXPORT_PAGE == 1:
                store.compact()  # what a purge does, between two reads of the stream
                await trio.sleep(0)
        assert seen == [i.to_bytes(32, "big") for i in range(count)]
