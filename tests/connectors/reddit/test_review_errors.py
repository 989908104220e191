"""Review findings on the Reddit connector: which failures stop, retry or fail for good."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from connectors.base import AuthError, PermanentError, TransientError
from connectors.reddit import RedditConnector
from tests.fakes.http import Response

from .fake import FakeReddit

SEARCH = {"keywords": ["BrandCo"], "subreddits": ["Tools"]}


@pytest.mark.parametrize("status", [409, 413, 451])
def test_a_reply_refused_with_a_client_error_fails_for_good_instead_of_being_retried_forever(
    reddit: RedditConnector, fake: FakeReddit, status: int
) -> None:
    """451 (blocked for legal reasons), 409 or 413 will answer the same reply the same way every
    time; as a TransientError the outbox would post it again every half hour, forever."""
    fake.mention("alice", "u/brandco my drill broke")
    [message], _ = reddit.poll(None)
    fake.api.script("POST", "/api/comment", Response(status, {"message": "refused", "error": status}))

    with pytest.raises(PermanentError) as refused:
        reddit.reply(message, "Sorry to hear that!")

    assert not isinstance(refused.value, TransientError)
    assert f"HTTP {status}" in str(refused.value)
    assert fake.our_replies() == []


def test_a_private_subreddit_in_the_search_list_does_not_stop_the_account(
    connect: Callable[..., RedditConnector], fake: FakeReddit
) -> None:
    """A subreddit going private answers its search with 403; the account's credentials are fine,
    so polling must not be stopped as for an auth error, and the message must name the search."""
    reddit = connect(**SEARCH)
    private = Response(403, {"reason": "private", "message": "Forbidden", "error": 403})
    fake.api.script("GET", "/r/Tools/search", private)

    with pytest.raises(PermanentError, match="r/Tools") as refused:
        reddit.poll(None)

    assert not isinstance(refused.value, AuthError)


def test_doctor_sees_a_search_that_cannot_run(connect: Callable[..., RedditConnector], fake: FakeReddit) -> None:
    """``verify`` is what ``socialcare doctor`` runs: a subreddit that does not exist (Reddit
    redirects its search to the subreddit search page) must show there, not only in poll errors."""
    reddit = connect(**SEARCH)
    fake.api.script("GET", "/r/Tools/search", Response(302, {}, headers={"location": "/subreddits/search?q=Tools"}))

    with pytest.raises(PermanentError, match="r/Tools"):
        reddit.verify()
