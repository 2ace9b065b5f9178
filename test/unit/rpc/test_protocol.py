"""The pure RPC wire format (ganeti/rpc/protocol.py)."""

import json

import pytest

from ganeti import errors
from ganeti.rpc import protocol


def test_call_body_is_the_json_argument_list():
    body = protocol.EncodeCall(["a", 1, {"k": [True, None]}])
    assert json.loads(body) == ["a", 1, {"k": [True, None]}]
    assert json.loads(protocol.EncodeCall([])) == []


def test_tuples_travel_as_lists():
    assert json.loads(protocol.EncodeCall((("x", 1),))) == [["x", 1]]


def test_unserialisable_argument_is_a_programmer_error():
    with pytest.raises(errors.ProgrammerError, match="not serialisable"):
        protocol.EncodeCall([object()])
    with pytest.raises(errors.ProgrammerError, match="must be a list"):
        protocol.EncodeCall({"a": 1})


def test_call_round_trip_through_the_node_side():
    assert protocol.DecodeCall(protocol.EncodeCall([1, "x"])) == [1, "x"]
    assert protocol.DecodeCall(b"") == []
    with pytest.raises(errors.ParseError):
        protocol.DecodeCall(b"{not json")
    with pytest.raises(errors.ParseError, match="must be a JSON list"):
        protocol.DecodeCall(b'{"a": 1}')


def test_success_reply_gives_the_payload():
    assert protocol.DecodeReply(200, b"[true, 3000000]") == (True, 3000000)
    assert protocol.DecodeReply(200, protocol.EncodeReply(True, None)) == \
        (True, None)


def test_node_side_failure_gives_its_message():
    body = b'[false, "Error while executing backend function: boom"]'
    assert protocol.DecodeReply(200, body) == \
        (False, "Error while executing backend function: boom")
    assert protocol.DecodeReply(200, b"[false, null]") == \
        (False, "No error information")


@pytest.mark.parametrize("body, fragment", [
    (b"not json", "invalid JSON"),
    (b'{"a": 1}', "invalid result type (dict)"),
    (b"[true]", "invalid result length (1), expected 2"),
    (b'["yes", 1]', "invalid success flag"),
])
def test_malformed_200_reply_is_a_protocol_failure(body, fragment):
    success, message = protocol.DecodeReply(200, body)
    assert success is False
    assert message.startswith("RPC layer error")
    assert fragment in message


def test_non_200_reply_uses_the_body_text():
    assert protocol.DecodeReply(400, b"Only the POST method is supported") == \
        (False, "Error 400: Only the POST method is supported")


def test_non_200_json_error_body_gives_its_message():
    body = b'{"code": 404, "message": "No such procedure", "explain": "x"}'
    assert protocol.DecodeReply(404, body) == (False, "Error 404: No such procedure")


def test_non_200_without_body_gives_the_http_reason():
    assert protocol.DecodeReply(413, b"") == \
        (False, "Error 413: Request Entity Too Large")
    assert protocol.DecodeReply(599, b"") == (False, "Error 599: Unknown status")


def test_huge_error_body_is_truncated():
    success, message = protocol.DecodeReply(500, b"x" * 100000)
    assert not success
    assert len(message) < 2100 and message.endswith("...")
