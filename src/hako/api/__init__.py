"""Docker's Engine API over HTTP: routing, version negotiation, translation, hijacked streams."""
