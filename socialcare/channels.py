"""Builds each configured account's connector: the one place the core meets ``connectors``."""

from __future__ import annotations

import typing
from pathlib import Path

from pydantic import ValidationError

import connectors
from connectors.base import Connector
from socialcare.config import AccountConfig, Config, ConfigError


def build(config: Config, account: AccountConfig) -> Connector:
    try:
        cls = connectors.load(account.platform)
    except connectors.UnknownPlatform as err:
        raise ConfigError(f"{config.path}: accounts.{account.name}.platform: {err}") from None
    except ImportError as err:
        raise ConfigError(
            f"accounts.{account.name}: the {account.platform} connector needs {err.name}: pip install socialcare"
        ) from None
    options = _resolve_paths(cls, account.options, config.folder)
    secrets = config.secrets_for(account.name, cls.secrets, cls.public_secrets)
    try:
        return cls.from_config(account.name, options, secrets)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        message = "unknown key" if first["type"] == "extra_forbidden" else first["msg"]
        raise ConfigError(f"{config.path}: accounts.{account.name}.{where}: {message}") from None


def build_all(config: Config) -> dict[str, Connector]:
    return {name: build(config, account) for name, account in config.accounts.items() if account.enabled}


def _resolve_paths(cls: type[Connector], options: dict[str, typing.Any], folder: Path) -> dict[str, typing.Any]:
    """Path settings given relative to the config file are made absolute."""
    fields = cls.settings_model.model_fields
    resolved = dict(options)
    for key, value in options.items():
        field = fields.get(key)
        if field is not None and isinstance(value, str) and _is_path(field.annotation):
            resolved[key] = folder / value
    return resolved


def _is_path(annotation: object) -> bool:
    return annotation is Path or Path in typing.get_args(annotation)
