"""The daemon core: configuration, the metadata store, events, and the engine that wires images,
snapshots, containers and monitors together. It knows nothing of HTTP."""
