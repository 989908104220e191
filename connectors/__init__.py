"""Channels: one module per platform, each exposing one :class:`~connectors.base.Connector`.

The platform name in config is the module name (``x`` -> ``connectors/x.py``), so adding a
channel means adding a module and nothing else.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil

from connectors.base import Connector

__all__ = ["UnknownPlatform", "available", "load"]


class UnknownPlatform(LookupError):
    pass


def available() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_") and m.name != "base")


def load(platform: str) -> type[Connector]:
    """The connector class for ``platform``; imports its platform library only now."""
    if platform not in available():
        raise UnknownPlatform(f"unknown platform {platform!r}; known: {', '.join(available())}")
    module = importlib.import_module(f"connectors.{platform}")
    for _, obj in inspect.getmembers(module, inspect.isclass):
        if issubclass(obj, Connector) and not inspect.isabstract(obj) and getattr(obj, "platform", None) == platform:
            return obj
    raise UnknownPlatform(f"connectors/{platform}.py defines no connector for {platform!r}")
