"""Compressed payload encoding shared by RPC client and noded."""

import os

import pytest

from ganeti import constants, errors
from ganeti.rpc import encoding


def test_small_payload_travels_plain():
    assert encoding.Compress("hello") == [constants.RPC_ENCODING_NONE, "hello"]
    assert encoding.Decompress([0, "hello"]) == b"hello"


def test_large_payload_is_compressed_and_restored():
    data = os.urandom(100) * 100
    packed = encoding.Compress(data)
    assert packed[0] == constants.RPC_ENCODING_ZLIB_BASE64
    assert encoding.Decompress(packed) == data


@pytest.mark.parametrize(
    "bad",
    [
        "plain string",
        [0],
        [2, "x"],
        [1, "!!!not base64"],
        [1, "aGVsbG8="],
        None,
    ],
)
def test_malformed_payload_is_rejected_clearly(bad):
    with pytest.raises(errors.ProgrammerError):
        encoding.Decompress(bad)
