"""The Graph client all three Meta connectors share: version pin, errors, usage meters, secrets."""

from __future__ import annotations

import json
import logging
import socket
from datetime import timedelta

import pytest
from pydantic import SecretStr, ValidationError

from connectors import load
from connectors._graph import following
from connectors.base import AuthError, MalformedPayload, PermanentError, RateLimited, TransientError, utcnow
from connectors.facebook import FacebookConnector
from connectors.instagram import InstagramConnector
from connectors.messenger import MessengerConnector
from tests.connectors.meta.conftest import api_calls, connect, doc_shape
from tests.connectors.meta.fake import FakeGraph, graph_error
from tests.fakes.http import Response

# The first call each connector's poll makes, where the scenarios below inject their faults.
FIRST_CALL = {
    FacebookConnector: r"/v25\.0/1000/published_posts",
    MessengerConnector: r"/v25\.0/1000/conversations",
    InstagramConnector: r"/v25\.0/17841400000/media",
}
CONNECTORS = list(FIRST_CALL)


@pytest.mark.parametrize("platform", ["facebook", "messenger", "instagram"])
def test_the_registry_finds_each_meta_channel(platform: str) -> None:
    assert load(platform).platform == platform


@pytest.mark.parametrize("version", ["v24.0", "v2.8", "21.0"])
def test_versions_older_than_v25_are_refused_with_the_reason(version: str) -> None:
    with pytest.raises(ValidationError, match="v25.0 or newer"):
        FacebookConnector.settings_model.model_validate({"page_id": "1", "graph_version": version})


def test_a_newer_version_is_used_in_every_path(graph: FakeGraph) -> None:
    fb = connect(FacebookConnector, graph, graph_version="v26.0")
    fb.poll(None)
    assert api_calls(graph) == ["GET /v26.0/1000/published_posts"]


@pytest.mark.parametrize("cls", CONNECTORS)
@pytest.mark.parametrize("code", [4, 17, 32, 613, 80001, 80002, 80006])
def test_throttling_codes_are_rate_limits_with_a_retry_time(graph: FakeGraph, cls: type, code: int) -> None:
    graph.script("GET", FIRST_CALL[cls], graph_error(code, f"(#{code}) Application request limit reached", status=403))
    connector = connect(cls, graph)
    with pytest.raises(RateLimited) as caught:
        connector.poll(None)
    assert caught.value.retry_at is not None and caught.value.retry_at > utcnow() + timedelta(minutes=10)
    assert not connector.pace.ready()


def test_a_throttled_answer_waits_as_long_as_meta_estimates(graph: FakeGraph) -> None:
    throttled = doc_shape("error_throttled.json")
    usage = json.dumps(doc_shape("business_use_case_usage.json"))
    graph.script(
        "GET", FIRST_CALL[FacebookConnector], Response(400, throttled, headers={"x-business-use-case-usage": usage})
    )
    with pytest.raises(RateLimited) as caught:
        connect(FacebookConnector, graph).poll(None)
    wait = caught.value.retry_at - utcnow()
    assert timedelta(minutes=8) < wait <= timedelta(minutes=9)


@pytest.mark.parametrize("cls", CONNECTORS)
def test_usage_above_80_percent_slows_the_account_down(graph: FakeGraph, cls: type) -> None:
    graph.set_usage(85)
    connector = connect(cls, graph)
    connector.poll(None)
    assert not connector.pace.ready()
    assert connector.pace.ready_at - utcnow() > timedelta(seconds=60)


def test_usage_below_80_percent_leaves_the_pace_alone(graph: FakeGraph) -> None:
    graph.set_usage(79)
    connector = connect(FacebookConnector, graph)
    connector.poll(None)
    assert connector.pace.ready()


def test_usage_near_the_limit_waits_for_the_estimated_regain_time(graph: FakeGraph) -> None:
    graph.set_usage(97, regain_minutes=12)
    connector = connect(MessengerConnector, graph)
    connector.poll(None)
    wait = connector.pace.ready_at - utcnow()
    assert timedelta(minutes=11) < wait <= timedelta(minutes=12)


@pytest.mark.parametrize("cls", CONNECTORS)
def test_an_expired_token_stops_the_account_and_says_to_renew_it(graph: FakeGraph, cls: type) -> None:
    graph.valid = False
    with pytest.raises(AuthError, match="renew the Page token") as caught:
        connect(cls, graph).poll(None)
    assert graph.token not in str(caught.value)


def test_a_missing_permission_is_named(graph: FakeGraph) -> None:
    graph.script(
        "GET",
        FIRST_CALL[FacebookConnector],
        graph_error(200, "(#200) Requires pages_read_engagement permission to manage the object", status=403),
    )
    with pytest.raises(AuthError, match="grant the pages_read_engagement permission"):
        connect(FacebookConnector, graph).poll(None)


@pytest.mark.parametrize("cls", CONNECTORS)
def test_server_errors_are_transient(graph: FakeGraph, cls: type) -> None:
    graph.script(
        "GET",
        FIRST_CALL[cls],
        Response(502, raw=b"<html>Bad Gateway</html>"),
        graph_error(2, "An unexpected error has occurred. Please retry your request later.", status=500),
    )
    connector = connect(cls, graph)
    for _ in range(2):
        with pytest.raises(TransientError):
            connector.poll(None)


def test_a_timeout_is_transient(graph: FakeGraph) -> None:
    graph.script("GET", FIRST_CALL[MessengerConnector], Response(200, {"data": []}, delay=0.5))
    with pytest.raises(TransientError, match="in time"):
        connect(MessengerConnector, graph, timeout=0.05).poll(None)


def test_nothing_listening_is_transient() -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    connector = FacebookConnector.from_config(
        "acme", {"graph_url": f"http://127.0.0.1:{port}", "page_id": "1000"}, {"page_access_token": SecretStr("x")}
    )
    with pytest.raises(TransientError, match="cannot reach Graph"):
        connector.poll(None)


@pytest.mark.parametrize("cls", CONNECTORS)
@pytest.mark.parametrize("body", [b'{"data": [', b"<html>ok</html>", b'{"data": "none"}'])
def test_an_unreadable_answer_is_malformed_and_the_cursor_is_kept(graph: FakeGraph, cls: type, body: bytes) -> None:
    connector = connect(cls, graph)
    _, cursor = connector.poll(None)
    graph.script("GET", FIRST_CALL[cls], Response(200, raw=body))
    with pytest.raises(MalformedPayload):
        connector.poll(cursor)


def test_a_deleted_object_is_permanent_not_retried(graph: FakeGraph) -> None:
    post = graph.add_post()
    comment = graph.add_comment(post, "Where is my parcel?")
    fb = connect(FacebookConnector, graph)
    [message], _ = fb.poll(None)
    graph.delete_comment(comment)
    with pytest.raises(PermanentError, match="deleted") as caught:
        fb.reply(message, "Sorry, we are on it")
    assert "does not exist" in str(caught.value), "Graph's own reason is kept"
    assert not isinstance(caught.value, TransientError)


def test_the_token_travels_in_a_header_never_in_a_url(graph: FakeGraph) -> None:
    fb = connect(FacebookConnector, graph)
    fb.poll(None)
    [request] = graph.requests
    assert request.headers["authorization"] == f"Bearer {graph.token}"
    assert graph.token not in json.dumps(request.query)


def test_the_token_stays_out_of_repr_and_logs(graph: FakeGraph, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.INFO, logger="httpx")
    fb = connect(FacebookConnector, graph)
    fb.verify()
    fb.poll(None)
    assert "fake-page-token" not in repr(fb)
    assert "input_token" in caplog.text, "httpx logs the debug_token URL; the check below must see it"
    assert graph.token not in caplog.text


def test_paging_next_without_cursors_drops_any_token_it_carries() -> None:
    page = {
        "data": [],
        "paging": {
            "next": "https://graph.facebook.com/v25.0/1/feed?access_token=SECRET&limit=25&until=1795440000&__paging_token=enc"
        },
    }
    assert following(page) == {"limit": "25", "until": "1795440000", "__paging_token": "enc"}
    assert following({"data": [], "paging": {"cursors": {"after": "QQ"}}}) is None


@pytest.mark.parametrize("cls", CONNECTORS)
@pytest.mark.parametrize(
    ("code", "message", "least"),
    [
        (341, "(#341) Application limit reached", timedelta(minutes=14)),
        (368, "The action attempted has been deemed abusive or is otherwise disallowed", timedelta(minutes=59)),
    ],
)
def test_limit_and_policy_blocks_wait_and_retry_instead_of_failing(
    graph: FakeGraph, cls: type, code: int, message: str, least: timedelta
) -> None:
    graph.script("GET", FIRST_CALL[cls], graph_error(code, message, status=400))
    connector = connect(cls, graph)

    with pytest.raises(RateLimited) as caught:
        connector.poll(None)

    assert caught.value.retry_at is not None and caught.value.retry_at - utcnow() > least
    assert connector.pace.ready_at == caught.value.retry_at
    connector.pace.ready_at = None
    assert connector.poll(None)[0] == []  # the next try is an ordinary poll


def test_a_reply_blocked_for_policy_is_deferred_not_failed_for_good(graph: FakeGraph) -> None:
    post = graph.add_post()
    graph.add_comment(post, "Where is my parcel?")
    fb = connect(FacebookConnector, graph)
    [message], _ = fb.poll(None)
    graph.script("POST", r"/v25\.0/[\w]+/comments", graph_error(368, "Temporarily blocked for policies violations"))

    with pytest.raises(RateLimited):
        fb.reply(message, "Sorry, we are on it")

    assert fb.reply(message, "Sorry, we are on it").external_id


@pytest.mark.parametrize("cls", CONNECTORS)
@pytest.mark.parametrize(
    ("message", "named"),
    [
        ("(#3) Application does not have the capability to make this API call.", "the capability this call needs"),
        ("(#3) Application does not have the capability: instagram_manage_comments", "instagram_manage_comments"),
    ],
)
def test_a_missing_capability_stops_the_account_naming_it(
    graph: FakeGraph, cls: type, message: str, named: str
) -> None:
    graph.script("GET", FIRST_CALL[cls], graph_error(3, message, status=400))

    with pytest.raises(AuthError, match=f"the app lacks {named}") as caught:
        connect(cls, graph).poll(None)

    assert "App Review" in str(caught.value)


def test_a_token_echoed_in_an_error_body_is_masked(graph: FakeGraph) -> None:
    graph.script(
        "GET",
        FIRST_CALL[FacebookConnector],
        graph_error(100, f"(#100) Invalid parameter; request had Authorization: Bearer {graph.token}"),
    )

    with pytest.raises(PermanentError) as caught:
        connect(FacebookConnector, graph).poll(None)

    assert graph.token not in str(caught.value) and "Bearer ***" in str(caught.value)
