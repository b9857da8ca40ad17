"""The HTTP API and dashboard (FastAPI). The daemon serves ``create_app(service, config)``."""

from controller.api.app import create_app

__all__ = ["create_app"]
