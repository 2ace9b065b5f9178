"""Tests of ganeti.rapi.auth: users file, passwords, access decisions, reload."""

import base64
import hashlib
import os
import time

import pytest

from ganeti import http
from ganeti.rapi import auth

_USERS = """
# RAPI users
jack   abc123            write
jill   {cleartext}secret read
joe    {HA1}%s           read,write
nobody {CLEARTEXT}x
  # indented comment
broken
carol  {md5}whatever     read
dave   pw                read, write
eve    pw                bogus
"""


def _Ha1(user, password, realm="Ganeti Remote API"):
    return hashlib.md5(f"{user}:{realm}:{password}".encode()).hexdigest()


def _Users():
    return auth.ParsePasswordFile(_USERS % _Ha1("joe", "joepw"))


def _Basic(user, password):
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_parse_users_file_fields_and_options():
    users = _Users()
    assert sorted(users) == ["carol", "dave", "eve", "jack", "jill", "joe", "nobody"]
    assert users["jack"].password == "abc123"
    assert users["jack"].options == ("write",)
    assert users["joe"].options == ("read", "write")
    assert users["dave"].options == ("read", "write")
    assert users["nobody"].options == ()


def test_write_implies_read_and_unknown_options_grant_nothing():
    users = _Users()
    assert users["jack"].GetPermissions() == {"read", "write"}
    assert users["jill"].GetPermissions() == {"read"}
    assert users["nobody"].GetPermissions() == frozenset()
    assert users["eve"].GetPermissions() == frozenset()
    assert users["jack"].HasAccess(["read"])
    assert not users["jill"].HasAccess(["write"])


def test_later_line_for_same_user_wins():
    users = auth.ParsePasswordFile("a one read\na two write\n")
    assert users["a"].password == "two"
    assert users["a"].options == ("write",)


@pytest.mark.parametrize("expected,password,result", [
    ("abc123", "abc123", True),
    ("abc123", "abc124", False),
    ("{cleartext}secret", "secret", True),
    ("{CLEARTEXT}secret", "secret", True),
    ("{ClearText}secret", "Secret", False),
    ("{HA1}" + _Ha1("joe", "joepw"), "joepw", True),
    ("{ha1}" + _Ha1("joe", "joepw").upper(), "joepw", True),
    ("{HA1}" + _Ha1("joe", "joepw"), "wrong", False),
    ("{HA1}" + _Ha1("joe", "joepw", realm="Other"), "joepw", False),
    ("{md5}whatever", "whatever", False),
    ("{}x", "x", False),
    ("{nobrace", "{nobrace", False),
])
def test_verify_password_schemes(expected, password, result):
    assert auth.VerifyBasicAuthPassword("joe", password, expected) is result


def test_authorization_header_parsing():
    assert auth.ParseAuthorizationHeader(_Basic("u", "p:w")) == ("u", "p:w")
    assert auth.ParseAuthorizationHeader("basic " + base64.b64encode(
        b"u:").decode()) == ("u", "")
    assert auth.ParseAuthorizationHeader("Digest abc") is None
    assert auth.ParseAuthorizationHeader("Basic !!!notbase64") is None
    assert auth.ParseAuthorizationHeader(
        "Basic " + base64.b64encode(b"nocolon").decode()) is None
    with pytest.raises(http.HttpBadRequest, match="requires credentials"):
        auth.ParseAuthorizationHeader("Basic")


def _Check(authorization, access, require_auth=False):
    return auth.CheckAccess(_Users().get, authorization, access, require_auth,
                            "PUT /2/tags")


def test_anonymous_request_to_public_resource_is_allowed():
    assert _Check(None, []) is None


def test_missing_or_bad_credentials_give_401_with_challenge():
    for authorization in (None, _Basic("jack", "wrong"), _Basic("ghost", "x"),
                          "Digest abc", _Basic("carol", "whatever")):
        with pytest.raises(http.HttpUnauthorized) as info:
            _Check(authorization, ["write"])
        assert info.value.headers == {
            "WWW-Authenticate": 'Basic realm="Ganeti Remote API"'}


def test_credentials_sent_to_public_resource_are_checked():
    with pytest.raises(http.HttpUnauthorized):
        _Check(_Basic("jack", "wrong"), [])
    assert _Check(_Basic("jack", "abc123"), []) == "jack"


def test_require_authentication_applies_to_public_resources():
    with pytest.raises(http.HttpUnauthorized):
        _Check(None, [], require_auth=True)
    assert _Check(_Basic("nobody", "x"), [], require_auth=True) == "nobody"


def test_valid_user_without_option_gets_403_naming_what_is_needed():
    with pytest.raises(http.HttpForbidden) as info:
        _Check(_Basic("jill", "secret"), ["write"])
    assert "jill" in info.value.message and "'write'" in info.value.message
    with pytest.raises(http.HttpForbidden):
        _Check(_Basic("nobody", "x"), ["write", "read"])


def test_access_granted_by_any_listed_option():
    assert _Check(_Basic("jill", "secret"), ["write", "read"]) == "jill"
    assert _Check(_Basic("jack", "abc123"), ["read"]) == "jack"
    assert _Check(_Basic("joe", "joepw"), ["write"]) == "joe"


def test_rapi_users_missing_file_means_no_users(tmp_path):
    users = auth.RapiUsers(str(tmp_path / "users"))
    assert users.Load() is False
    assert users.Get("jack") is None
    (tmp_path / "users").write_text("jack pw write\n")
    assert users.Load() is True
    assert users.Get("jack").password == "pw"
    os.unlink(tmp_path / "users")
    users.Load()
    assert users.Get("jack") is None


def _WaitFor(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def test_watcher_reloads_on_write_replace_and_delete(tmp_path):
    path = tmp_path / "users"
    path.write_text("jack one write\n")
    users = auth.RapiUsers(str(path))
    watcher = auth.UsersFileWatcher(users)
    assert watcher.Start() is True
    try:
        users.Load()
        assert users.Get("jack").password == "one"
        path.write_text("jack two write\n")          # rewritten in place
        assert _WaitFor(lambda: users.Get("jack").password == "two")
        tmp = tmp_path / "users.new"
        tmp.write_text("jill three read\n")           # editor-style replace
        os.rename(tmp, path)
        assert _WaitFor(lambda: users.Get("jill") is not None)
        assert users.Get("jack") is None
        (tmp_path / "other").write_text("ignored")
        os.unlink(path)                              # deleted: no users
        assert _WaitFor(lambda: users.Count() == 0)
    finally:
        watcher.Stop()
    watcher.Stop()


def test_watcher_falls_back_to_polling_without_directory(tmp_path):
    path = tmp_path / "missing-dir" / "users"
    users = auth.RapiUsers(str(path))
    watcher = auth.UsersFileWatcher(users)
    assert watcher.Start() is False
    assert users.Get("jack") is None
    path.parent.mkdir()
    path.write_text("jack pw write\n")
    assert users.Get("jack").password == "pw"
    watcher.Stop()
