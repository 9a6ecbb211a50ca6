"""Networks and endpoints in hakod's SQLite store (tables `networks` and `endpoints`)."""

from __future__ import annotations

import json

from .model import Endpoint, Network


class Records:
    def __init__(self, store):
        self.store = store
        self.db = store.db

    def networks(self) -> list[Network]:
        return [Network.from_json(json.loads(d)) for (d,) in self.db.execute("SELECT data FROM networks")]

    def save_network(self, network: Network) -> None:
        with self.store.transaction():
            self.db.execute("INSERT OR REPLACE INTO networks (id, name, data) VALUES (?, ?, ?)",
                            (network.id, network.name, json.dumps(network.to_json())))

    def delete_network(self, network_id: str) -> None:
        # Endpoints of stopped containers stay: as Docker, such a container then fails to start
        # with "network … not found".
        with self.store.transaction():
            self.db.execute("DELETE FROM networks WHERE id = ?", (network_id,))

    def endpoints(self) -> list[Endpoint]:
        rows = self.db.execute("SELECT data FROM endpoints ORDER BY rowid")
        return [Endpoint.from_json(json.loads(d)) for (d,) in rows]

    def save_endpoints(self, endpoints: list[Endpoint]) -> None:
        with self.store.transaction():
            for ep in endpoints:
                self.db.execute("INSERT INTO endpoints (container_id, network_id, data) VALUES (?, ?, ?) "
                                "ON CONFLICT (container_id, network_id) DO UPDATE SET data = excluded.data",
                                (ep.container_id, ep.network_id, json.dumps(ep.to_json())))

    def delete_endpoint(self, container_id: str, network_id: str) -> None:
        with self.store.transaction():
            self.db.execute("DELETE FROM endpoints WHERE container_id = ? AND network_id = ?", (container_id, network_id))

    def delete_endpoints(self, container_id: str) -> None:
        with self.store.transaction():
            self.db.execute("DELETE FROM endpoints WHERE container_id = ?", (container_id,))
