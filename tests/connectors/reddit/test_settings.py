"""An account's config keys: mistakes are caught when the config is read, with what to write instead."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from connectors import load
from connectors.reddit import OAUTH_URL, REDDIT_URL, RedditConnector, RedditSettings

from .conftest import secrets


def _settings(**options: Any) -> RedditSettings:
    connector = load("reddit").from_config("brand", options, secrets())
    assert isinstance(connector, RedditConnector)
    return connector.settings


def test_defaults_point_at_reddit_and_poll_the_inbox_only() -> None:
    settings = _settings()
    assert (settings.oauth_url, settings.reddit_url) == (OAUTH_URL, REDDIT_URL)
    assert settings.inbox and settings.keywords == () and settings.page_size == 100


def test_subreddits_may_be_written_with_or_without_r_slash() -> None:
    assert _settings(keywords=["BrandCo"], subreddits=["r/Tools", "HomeImprovement"]).subreddits == (
        "Tools",
        "HomeImprovement",
    )


@pytest.mark.parametrize(
    ("options", "says"),
    [
        ({"keywords": ["BrandCo"]}, "needs both `keywords` and `subreddits`"),
        ({"subreddits": ["Tools"]}, "needs both `keywords` and `subreddits`"),
        ({"inbox": False}, "nothing to poll"),
        ({"keywords": ['say "hi"'], "subreddits": ["Tools"]}, "no double quotes"),
        ({"keywords": ["BrandCo"], "subreddits": ["not a sub!"]}, "not subreddit names"),
        ({"oauth_url": "https://oauth.reddit.com/api"}, "no path"),
        ({"reddit_url": "ftp://example.com"}, "must be an origin"),
        ({"page_size": 500}, "less than or equal to 100"),
        ({"user_agent": "bot"}, "at least 7 characters"),
        ({"api_url": "http://127.0.0.1:8082"}, "Extra inputs are not permitted"),
    ],
)
def test_mistakes_are_refused_with_a_hint(options: dict[str, Any], says: str) -> None:
    with pytest.raises(ValidationError, match=says):
        _settings(**options)
