"""JSON serialisation."""

import pytest

from ganeti import errors, serializer


def test_round_trip():
    data = {"a": [1, 2.5, None, True], "b": {"c": "é"}}
    assert serializer.LoadJson(serializer.DumpJson(data)) == data
    assert serializer.LoadJson(serializer.DumpJsonBytes(data)) == data


def test_compact_form_matches_config_data_style():
    assert (
        serializer.DumpJson({"a": 1, "b": [1, 2]}, compact=True) == '{"a":1,"b":[1,2]}'
    )
    assert serializer.DumpJson({"a": 1}) == '{"a": 1}'


@pytest.mark.parametrize("text", ["{", "[1,", "", b"\xff\xfe"])
def test_invalid_json_is_a_parse_error(text):
    with pytest.raises(errors.ParseError, match="Invalid JSON"):
        serializer.LoadJson(text)
