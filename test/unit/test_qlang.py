"""Tests for ganeti.qlang: text filters, name filters, CLI argument rules."""

from __future__ import annotations

import re

import pytest

from ganeti import errors, qlang, serializer


# --- MakeSimpleFilter ---------------------------------------------------------

@pytest.mark.parametrize("values", [None, []])
def test_simple_filter_without_names_is_none(values):
    assert qlang.MakeSimpleFilter("name", values) is None


def test_simple_filter_ors_equalities_in_order():
    assert qlang.MakeSimpleFilter("name", ["b", "a"]) == [
        "|", ["==", "name", "b"], ["==", "name", "a"]]


def test_simple_filter_keeps_numeric_job_ids():
    # on the wire as gnt-job info sends it (samples/luxi-job-info.txt)
    flt = qlang.MakeSimpleFilter("id", [1339])
    assert serializer.DumpJson(flt) == '["|", ["==", "id", 1339]]'


# --- ParseFilter: every row of spec/query2.md section 5 -----------------------

@pytest.mark.parametrize("text,expected", [
    ('name == "web1"', ["==", "name", "web1"]),
    ("name = 'web1'", ["==", "name", "web1"]),
    ("name=='web1'", ["==", "name", "web1"]),
    ("name != 'web1'", ["!=", "name", "web1"]),
    ("mem < 128", ["<", "mem", 128]),
    ("mem <= 128", ["<=", "mem", 128]),
    ("mem > 128", [">", "mem", 128]),
    ("mem >= 128", [">=", "mem", 128]),
    ("mem == -1", ["==", "mem", -1]),
    ("mem == +7", ["==", "mem", 7]),
    ('"web1" in pinst_list', ["=[]", "pinst_list", "web1"]),
    ("123 in ips", ["=[]", "ips", 123]),
    ('"web1" not in pinst_list', ["!", ["=[]", "pinst_list", "web1"]]),
    ("name =~ /^web/", ["=~", "name", "^web"]),
    ("name =~ m/^web/", ["=~", "name", "^web"]),
    ("name =~ m#^web#", ["=~", "name", "^web"]),
    ("name =~ ^web.*^", ["=~", "name", "web.*"]),
    ("name =~ m|^web|i", ["=~", "name", "(?i)^web"]),
    ("name =~ /web/s", ["=~", "name", "(?s)web"]),
    ("name =~ /web/si", ["=~", "name", "(?is)web"]),
    ("name =~ /gi/iiiisiii", ["=~", "name", "(?iiiiiiis)gi"]),
    ("name !~ /^web/", ["!", ["=~", "name", "^web"]]),
    ("name =* '*.site'", ["=~", "name", r"^[^.]*\.site(\..*)?$"]),
    ('name !* "web?"', ["!", ["=~", "name", r"^web[^.](\..*)?$"]]),
    ("master", ["?", "master"]),
    ("not master", ["!", ["?", "master"]]),
    ("master and offline", ["&", ["?", "master"], ["?", "offline"]]),
    ("master or offline", ["|", ["?", "master"], ["?", "offline"]]),
    ("(master)", ["?", "master"]),
    ("ndp/ssh_port == 22", ["==", "ndp/ssh_port", 22]),
    ("disk.size/0 > 1024", [">", "disk.size/0", 1024]),
])
def test_parse_filter_rows(text, expected):
    assert qlang.ParseFilter(text) == expected


def test_parse_filter_gives_plain_json_lists():
    flt = qlang.ParseFilter('a == 1 and not "x" in b')
    assert serializer.LoadJson(serializer.DumpJson(flt)) == flt
    assert serializer.DumpJson(flt) == \
        '["&", ["==", "a", 1], ["!", ["=[]", "b", "x"]]]'


@pytest.mark.parametrize("text,expected", [
    # one flat list for chains, as Ganeti
    ("a==1 and b==2 and c==3",
     ["&", ["==", "a", 1], ["==", "b", 2], ["==", "c", 3]]),
    ("a or b or c", ["|", ["?", "a"], ["?", "b"], ["?", "c"]]),
    # and binds tighter than or
    ("a==1 and b==2 or c==3",
     ["|", ["&", ["==", "a", 1], ["==", "b", 2]], ["==", "c", 3]]),
    ("a or b and c", ["|", ["?", "a"], ["&", ["?", "b"], ["?", "c"]]]),
    # not binds tighter than and
    ("not a and b", ["&", ["!", ["?", "a"]], ["?", "b"]]),
    ("not not a", ["!", ["!", ["?", "a"]]]),
    # parentheses override
    ("(a or b) and c", ["&", ["|", ["?", "a"], ["?", "b"]], ["?", "c"]]),
    ("not (master or other == 4)",
     ["!", ["|", ["?", "master"], ["==", "other", 4]]]),
    ('(name\n=="foobar") and (xyz=="va)ue" and k == 256 or x ==\t"y"\n) and mc',
     ["&", ["==", "name", "foobar"],
      ["|", ["&", ["==", "xyz", "va)ue"], ["==", "k", 256]], ["==", "x", "y"]],
      ["?", "mc"]]),
])
def test_parse_filter_precedence(text, expected):
    assert qlang.ParseFilter(text) == expected


@pytest.mark.parametrize("word", ["not", "and", "or"])
def test_keywords_inside_field_names_are_names(word):
    assert qlang.ParseFilter(f"{word}xyz") == ["?", f"{word}xyz"]
    assert qlang.ParseFilter(f"  not \t{word}foo") == ["!", ["?", f"{word}foo"]]
    assert qlang.ParseFilter(f"{word}name =~ m/abc/") == ["=~", f"{word}name", "abc"]


def test_quoted_values_keep_backslashes_as_ganeti():
    assert qlang.ParseFilter('some=="val\\"ue"') == ["==", "some", 'val\\"ue']
    assert qlang.ParseFilter("x == 'it''s'") == ["==", "x", "it''s"]


def test_regexp_escapes_lose_their_backslash_as_ganeti():
    assert qlang.ParseFilter(r"name =~ /a\/b/") == ["=~", "name", "a/b"]


@pytest.mark.parametrize("text", [
    "#invalid!filter#",
    "m/x/,",
    "name=~m#a#g",       # unknown flag
    "name=~^[^",         # incomplete regexp group
    "asdf =~ m|abc|I",   # flags are lower-case
    "name =~ /foobarbaz#",
    "name <> value",
    "name => value",
    "name =< value",
    "foo==bar",          # unquoted string value
    "foo+=1",
    "name == 1.5",
    "",
    "a and",
    "(a or b",
    "Name@x == 1",
])
def test_parse_filter_errors(text):
    with pytest.raises(errors.QueryFilterParseError) as info:
        qlang.ParseFilter(text)
    msg, details = info.value.args
    assert msg.startswith(f"Failed to parse query filter '{text}': ")
    assert len(details) == 3 and details[0] == msg


def test_parse_error_details_point_at_the_problem():
    with pytest.raises(errors.QueryFilterParseError) as info:
        qlang.ParseFilter("name <> value")
    _, (_, line, caret) = info.value.args
    assert line == "name <> value"
    assert caret == "     ^"


def test_parse_error_messages_name_the_regexp_problem():
    with pytest.raises(errors.QueryFilterParseError, match="flags: 'g'"):
        qlang.ParseFilter("name =~ m#a#g")
    with pytest.raises(errors.QueryFilterParseError,
                       match="Invalid regular expression"):
        qlang.ParseFilter("name =~ /(/")


def test_parse_filter_with_explicit_parser():
    parser = qlang.BuildFilterParser()
    assert qlang.ParseFilter("a < 3", parser=parser) == ["<", "a", 3]


# --- globs --------------------------------------------------------------------

@pytest.mark.parametrize("pattern,name,matches", [
    ("*.site", "web.site", True),
    ("*.site", "web.site.example.com", True),
    ("*.site", "websites", False),
    ("node?", "node1.example.com", True),
    ("node?", "node12.example.com", False),
    ("node*", "node-1", True),
    ("web*", "mail.web1", False),
    ("a+b", "a+b", True),
    ("a+b", "aab", False),
])
def test_dns_name_glob_pattern(pattern, name, matches):
    regex = re.compile(qlang.DnsNameGlobPattern(pattern))
    assert bool(regex.match(name)) == matches


# --- MakeFilter ---------------------------------------------------------------

@pytest.mark.parametrize("args", [None, []])
def test_make_filter_without_args(args):
    assert qlang.MakeFilter(args, False) is None


def test_make_filter_plain_names():
    assert qlang.MakeFilter(["web1", "web2"], False) == [
        "|", ["==", "name", "web1"], ["==", "name", "web2"]]
    assert qlang.MakeFilter(["a", "b"], False, namefield="id") == [
        "|", ["==", "id", "a"], ["==", "id", "b"]]


@pytest.mark.parametrize("name", ["node1", "n-o-d-e", "n_o_d_e",
                                  "node1.example.com", "node1.example.com."])
def test_make_filter_single_name_is_a_name(name):
    assert qlang.MakeFilter([name], False) == ["|", ["==", "name", name]]


def test_make_filter_globs():
    assert qlang.MakeFilter(["*.a", "b", "?.c"], False) == [
        "|", ["=~", "name", qlang.DnsNameGlobPattern("*.a")],
        ["==", "name", "b"], ["=~", "name", qlang.DnsNameGlobPattern("?.c")]]


@pytest.mark.parametrize("arg,expected", [
    ("foo=='bar'", ["==", "foo", "bar"]),
    ("field=*'*.site'", ["=~", "field", qlang.DnsNameGlobPattern("*.site")]),
    ("foo/bar", ["?", "foo/bar"]),
    ("master or offline", ["|", ["?", "master"], ["?", "offline"]]),
])
def test_make_filter_detects_filters(arg, expected):
    assert qlang.MakeFilter([arg], False) == expected


def test_make_filter_several_args_are_names_even_with_filter_chars():
    assert qlang.MakeFilter(["a b", "c"], False) == [
        "|", ["==", "name", "a b"], ["==", "name", "c"]]


def test_make_filter_bad_filter_text():
    for arg in ["foo==bar", "foo+=1"]:
        with pytest.raises(errors.QueryFilterParseError):
            qlang.MakeFilter([arg], False)


def test_make_filter_forced():
    assert qlang.MakeFilter(["web1"], True) == ["?", "web1"]
    with pytest.raises(errors.QueryFilterParseError):
        qlang.MakeFilter(["*.site"], True)


@pytest.mark.parametrize("args", [None, [], ["1", "2"], ["a", "b", "c"]])
def test_make_filter_forced_needs_exactly_one_arg(args):
    with pytest.raises(errors.OpPrereqError) as info:
        qlang.MakeFilter(args, True)
    assert info.value.args == ("Exactly one argument must be given as a filter",
                               errors.ECODE_INVAL)


def test_make_filter_numeric_names():
    assert qlang.MakeFilter(["12", "7"], False, namefield="id",
                            isnumeric=True) == [
        "|", ["==", "id", 12], ["==", "id", 7]]
    with pytest.raises(errors.OpPrereqError, match="Invalid job ID passed") as info:
        qlang.MakeFilter(["12", "x1"], False, namefield="id", isnumeric=True)
    assert info.value.args[1] == errors.ECODE_INVAL
    assert "'x1'" in info.value.args[0]


def test_make_filter_numeric_filter_text_still_parses():
    assert qlang.MakeFilter(["id > 5"], False, namefield="id", isnumeric=True) == [
        ">", "id", 5]
