"""hako: a container engine with Docker's architecture and API."""

__version__ = "0.1.0"
