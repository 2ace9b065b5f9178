"""The query language: filter operators, the text filter parser, CLI helpers.

A filter is a list whose first item is an operator (spec/query2.md section 4):
logic operators (OP_OR, OP_AND) take any number of sub-filters, OP_NOT one
sub-filter, OP_TRUE one field name, and the binary operators a field name and
a value. ganeti.query compiles such a list into a predicate.

The text syntax users type (`gnt-* list -F ...`, section 5) is parsed here with
pyparsing into that list form, on the client side. The grammar mirrors Ganeti's
lib/qlang.py BuildFilterParser, including its quirks:

* quoted values keep their backslashes (`"a\\"b"` gives `a\\"b`), because only
  the surrounding quotes are removed;
* regular expressions between delimiters lose the backslash of every escape
  (`/a\\.b/` gives `a.b`), as pyparsing's QuotedString does for Ganeti;
* "a and b and c" gives one flat ["&", a, b, c].
"""

from __future__ import annotations

import functools
import logging
import re
import string
from collections.abc import Callable
from typing import TYPE_CHECKING, Any


from ganeti import errors

if TYPE_CHECKING:
    import pyparsing as pyp

logger = logging.getLogger(__name__)

# Logic operators: any number of sub-filters.
OP_OR = "|"
OP_AND = "&"

# Unary operators: one sub-filter (OP_NOT) or one field name (OP_TRUE).
OP_NOT = "!"
OP_TRUE = "?"

# Binary operators: a field name and a value.
OP_EQUAL = "=="
OP_EQUAL_LEGACY = "="
OP_NOT_EQUAL = "!="
OP_LT = "<"
OP_LE = "<="
OP_GT = ">"
OP_GE = ">="
OP_REGEXP = "=~"
OP_CONTAINS = "=[]"

# A single command argument containing one of these is parsed as a filter
# rather than taken as a name. Ganeti's QLANG_FILTER_DETECTION_CHARS: the
# operator characters of the grammar, "/" (regexp delimiter), the backslash
# and whitespace (Ganeti >= 2.6, lib/qlang.py).
FILTER_DETECTION_CHARS = frozenset("()=/!~'\"\\<>" + string.whitespace)

# A name containing one of these is a DNS-name glob (e.g. "*.example.com").
GLOB_DETECTION_CHARS = frozenset("*?")

_KNOWN_REGEXP_DELIM = "/#^|"
_KNOWN_REGEXP_FLAGS = frozenset("si")

# Text operators of simple comparisons and the filter operator each yields.
_BINARY_OPS = {
    "==": OP_EQUAL,
    "=": OP_EQUAL,  # legacy spelling, always sent as "=="
    "!=": OP_NOT_EQUAL,
    "<": OP_LT,
    "<=": OP_LE,
    ">": OP_GT,
    ">=": OP_GE,
}


def MakeSimpleFilter(namefield: str, values: list[Any] | None) -> list | None:
    """Build a filter matching items whose namefield equals one of values.

    Args:
      namefield: the field holding the item's name (e.g. "name", "id").
      values: the names; None or empty means "no restriction".

    Returns:
      ["|", ["==", namefield, v], ...], or None when values is empty.
    """
    if not values:
        return None
    return [OP_OR] + [[OP_EQUAL, namefield, value] for value in values]


def DnsNameGlobPattern(pattern: str) -> str:
    """Convert a DNS-name glob into an anchored regular expression.

    "*" matches any run of characters within one name component and "?" one
    such character (neither crosses a "."); everything else is literal. The
    pattern matches from the leftmost component and may be followed by more
    components, as Ganeti's utils.DnsNameGlobPattern: "node?" matches
    "node1.example.com".

    Args:
      pattern: the glob, e.g. "*.site".

    Returns:
      the regular expression text, e.g. r"^[^.]*\\.site(\\..*)?$".
    """
    parts = []
    for piece in re.split(r"([*?])", pattern):
        if piece == "*":
            parts.append("[^.]*")
        elif piece == "?":
            parts.append("[^.]")
        else:
            parts.append(re.escape(piece))
    return "^" + "".join(parts) + r"(\..*)?$"


def _ConvertLogicOp(op: str) -> Callable[[pyp.ParseResults], Any]:
    """Return a parse action building a logic operator from its operands."""

    def _Action(toks: pyp.ParseResults) -> Any:
        operands = toks[0]
        if len(operands) == 1:
            return operands[0]
        return [[op] + operands.as_list()]

    return _Action


def _ConvertRegexpValue(_text: str, loc: int, toks: pyp.ParseResults) -> list:
    """Turn (regexp, flags) into one regexp string with inline flags.

    Raises:
      pyparsing.ParseFatalException: unknown flags or an invalid expression.
    """
    import pyparsing as pyp  # only when a filter is parsed: slow import

    regexp, flags = toks[0]
    unknown = frozenset(flags) - _KNOWN_REGEXP_FLAGS
    if unknown:
        names = "".join(sorted(unknown))
        raise pyp.ParseFatalException(
            _text, loc, f"Unknown regular expression flags: '{names}'")
    prefix = f"(?{''.join(sorted(flags))})" if flags else ""
    result = prefix + regexp
    try:
        re.compile(result)
    except re.error as err:
        raise pyp.ParseFatalException(
            _text, loc, f"Invalid regular expression ({err})"
        ) from err
    return [result]


def _BuildConditions() -> pyp.ParserElement:
    """Build the grammar of one condition (the leaves of a filter)."""
    import pyparsing as pyp  # only when a filter is parsed: slow import

    field_name = pyp.Word(pyp.alphas, pyp.alphanums + "_/.")

    number = pyp.Combine(pyp.Optional(pyp.Word("-+", exact=1)) + pyp.Word(pyp.nums))
    number.set_parse_action(lambda toks: int(toks[0]))
    quoted = pyp.quoted_string.copy().set_parse_action(pyp.remove_quotes)
    rval = number | quoted

    bool_cond = field_name.copy()
    bool_cond.set_parse_action(lambda toks: [[OP_TRUE, toks[0]]])

    binary_cond = field_name + pyp.one_of(list(_BINARY_OPS)) + rval
    binary_cond.set_parse_action(
        lambda toks: [[_BINARY_OPS[toks[1]], toks[0], toks[2]]])

    in_cond = rval + pyp.Suppress("in") + field_name
    in_cond.set_parse_action(lambda toks: [[OP_CONTAINS, toks[1], toks[0]]])
    not_in_cond = rval + pyp.Suppress("not") + pyp.Suppress("in") + field_name
    not_in_cond.set_parse_action(
        lambda toks: [[OP_NOT, [OP_CONTAINS, toks[1], toks[0]]]])

    # e.g. m/foobar/i or |foobar|
    regexp_val = pyp.Group(
        pyp.Optional("m").suppress()
        + pyp.MatchFirst([pyp.QuotedString(delim, esc_char="\\")
                          for delim in _KNOWN_REGEXP_DELIM])
        + pyp.Optional(pyp.Word(pyp.alphas), default=""))
    regexp_val.set_parse_action(_ConvertRegexpValue)
    regexp_cond = field_name + pyp.Suppress("=~") + regexp_val
    regexp_cond.set_parse_action(lambda toks: [[OP_REGEXP, toks[0], toks[1]]])
    not_regexp_cond = field_name + pyp.Suppress("!~") + regexp_val
    not_regexp_cond.set_parse_action(
        lambda toks: [[OP_NOT, [OP_REGEXP, toks[0], toks[1]]]])

    # e.g. name =* "*.site"
    glob_cond = field_name + pyp.Suppress("=*") + quoted
    glob_cond.set_parse_action(
        lambda toks: [[OP_REGEXP, toks[0], DnsNameGlobPattern(toks[1])]])
    not_glob_cond = field_name + pyp.Suppress("!*") + quoted
    not_glob_cond.set_parse_action(
        lambda toks: [[OP_NOT, [OP_REGEXP, toks[0], DnsNameGlobPattern(toks[1])]]])

    # "^" picks the longest match, so "notname" is a field, not "not name".
    return (binary_cond ^ bool_cond ^ in_cond ^ not_in_cond ^ regexp_cond
            ^ not_regexp_cond ^ glob_cond ^ not_glob_cond)


def BuildFilterParser() -> pyp.ParserElement:
    """Build the parser for text filters (spec/query2.md section 5).

    Returns:
      a pyparsing element whose first result is the filter in list form.
    """
    import pyparsing as pyp  # only when a filter is parsed: slow import

    filter_expr = pyp.infix_notation(_BuildConditions(), [
        (pyp.Keyword("not").suppress(), 1, pyp.OpAssoc.RIGHT,
         lambda toks: [[OP_NOT, toks[0][0]]]),
        (pyp.Keyword("and").suppress(), 2, pyp.OpAssoc.LEFT,
         _ConvertLogicOp(OP_AND)),
        (pyp.Keyword("or").suppress(), 2, pyp.OpAssoc.LEFT,
         _ConvertLogicOp(OP_OR)),
    ])
    parser = pyp.StringStart() + filter_expr + pyp.StringEnd()
    parser.parse_with_tabs()
    return parser


@functools.lru_cache(maxsize=1)
def _DefaultParser() -> pyp.ParserElement:
    # Building the grammar is the slow part; the built parser is reused.
    return BuildFilterParser()


def ParseFilter(text: str, parser: pyp.ParserElement | None = None) -> list:
    """Parse a text filter into its list form.

    Args:
      text: the filter, e.g. 'name =~ /^web/ and not offline'.
      parser: a parser from BuildFilterParser (default: a shared one).

    Returns:
      the filter, e.g. ["&", ["=~", "name", "^web"], ["!", ["?", "offline"]]].

    Raises:
      errors.QueryFilterParseError: the text is not a valid filter. The args
        are the message and three detail lines: the message, the offending
        line and a caret under the position of the error.
    """
    import pyparsing as pyp  # only when a filter is parsed: slow import

    logger.debug("Parsing as query filter: %s", text)
    if parser is None:
        parser = _DefaultParser()
    try:
        return parser.parse_string(text)[0]
    except pyp.ParseBaseException as err:
        msg = f"Failed to parse query filter '{text}': {err}"
        details = [msg, err.line, " " * (err.column - 1) + "^"]
        raise errors.QueryFilterParseError(msg, details) from err


def _CheckFilter(text: str) -> bool:
    """Whether a command argument looks like a filter rather than a name."""
    return bool(frozenset(text) & FILTER_DETECTION_CHARS)


def _CheckGlobbing(text: str) -> bool:
    """Whether a name is a glob pattern."""
    return bool(frozenset(text) & GLOB_DETECTION_CHARS)


def _MakeFilterPart(namefield: str, text: str, isnumeric: bool) -> list:
    """Build the filter for one name argument.

    Raises:
      errors.OpPrereqError: isnumeric is set and text is not an integer.
    """
    if isnumeric:
        try:
            number = int(text)
        except ValueError as err:
            raise errors.OpPrereqError(
                f"Invalid job ID passed: '{text}' is not a number",
                errors.ECODE_INVAL) from err
        return [OP_EQUAL, namefield, number]
    if _CheckGlobbing(text):
        return [OP_REGEXP, namefield, DnsNameGlobPattern(text)]
    return [OP_EQUAL, namefield, text]


def MakeFilter(args: list[str] | None, force_filter: bool,
               namefield: str | None = None, isnumeric: bool = False) -> list | None:
    """Build a filter from the arguments of a list command.

    One argument that looks like a filter (see FILTER_DETECTION_CHARS), or any
    argument with force_filter (-F), is parsed as a filter. Otherwise the
    arguments are names: globs ("web*") become regexp matches, the others
    equality tests, all OR-ed together.

    Args:
      args: the command's arguments.
      force_filter: whether the user asked for a filter (-F/--filter).
      namefield: the field names are matched against (default "name").
      isnumeric: whether names are numbers (job IDs).

    Returns:
      the filter, or None when there are no arguments.

    Raises:
      errors.OpPrereqError: force_filter with other than exactly one
        argument, or a non-numeric name with isnumeric.
      errors.QueryFilterParseError: the filter text is invalid.
    """
    if namefield is None:
        namefield = "name"
    if force_filter or (args and len(args) == 1 and _CheckFilter(args[0])):
        if not args or len(args) != 1:
            raise errors.OpPrereqError(
                "Exactly one argument must be given as a filter",
                errors.ECODE_INVAL)
        return ParseFilter(args[0])
    if args:
        return [OP_OR] + [_MakeFilterPart(namefield, arg, isnumeric)
                          for arg in args]
    return None
