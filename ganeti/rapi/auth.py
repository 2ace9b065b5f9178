"""Users file and HTTP basic authentication of the RAPI daemon.

The users file (pathutils.RAPI_USERS_FILE) has one user per line, fields
separated by blanks (spec/rapi.md section 2; Ganeti's lib/http/auth.py):

    # comment
    jack  abc123                 write
    jill  {cleartext}secret      read
    joe   {HA1}<md5 hex of "joe:Ganeti Remote API:password">  read,write

Blank lines and lines starting with "#" are ignored, as are lines with fewer
than two fields (with a warning). A password without a "{scheme}" prefix is
clear text; the scheme is case-insensitive. Options are comma-separated;
"write" implies "read". A later line for the same user wins.

Access decisions (Ganeti 3.0's RemoteApiHandler): a request is checked when
the resource needs an option for its method, when the daemon runs with
--require-authentication, or when the client sent credentials anyway.
Unknown user, wrong password or unusable credentials give 401 with the
WWW-Authenticate challenge; a valid user without the needed option gets 403.

The daemon re-reads the file when it changes (UsersFileWatcher): inotify
watches the directory, not the file, so that editors that write a new file
and rename it over the old one are noticed too. A missing file means no
users: then only anonymous requests (GET of public resources) work.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import errno
import hashlib
import hmac
import logging
import os
import threading
import warnings
from collections.abc import Callable, Sequence

with warnings.catch_warnings():
    # pyinotify imports asyncore, deprecated since Python 3.10; only its
    # threaded notifier is used here.
    warnings.simplefilter("ignore", DeprecationWarning)
    import pyinotify

from ganeti import http, rapi

logger = logging.getLogger(__name__)

HTTP_AUTHORIZATION = "authorization"
HTTP_WWW_AUTHENTICATE = "WWW-Authenticate"
HTTP_BASIC_AUTH = "Basic"

_CLEARTEXT_SCHEME = "{CLEARTEXT}"
_HA1_SCHEME = "{HA1}"

# Events on the users file's directory after which the file is read again:
# written and closed in place, renamed into place, deleted or renamed away.
_WATCH_MASK = (pyinotify.IN_CLOSE_WRITE | pyinotify.IN_MOVED_TO |
               pyinotify.IN_MOVED_FROM | pyinotify.IN_DELETE |
               pyinotify.IN_ATTRIB)


@dataclasses.dataclass(frozen=True)
class PasswordFileUser:
    """One line of the users file.

    Attributes:
      name: the user name.
      password: the password as written in the file, scheme prefix included.
      options: the options in file order (unknown ones are kept, and grant
        nothing).
    """

    name: str
    password: str
    options: tuple[str, ...] = ()

    def GetPermissions(self) -> frozenset[str]:
        """The access options the user has; "write" implies "read"."""
        perms = set(self.options) & rapi.RAPI_ACCESS_ALL
        if rapi.RAPI_ACCESS_WRITE in perms:
            perms.add(rapi.RAPI_ACCESS_READ)
        return frozenset(perms)

    def HasAccess(self, access: Sequence[str]) -> bool:
        """Whether the user has one of the options in access."""
        return bool(self.GetPermissions().intersection(access))


def ParsePasswordFile(contents: str) -> dict[str, PasswordFileUser]:
    """Parse the contents of a users file.

    Args:
      contents: the file's text.

    Returns:
      user name -> PasswordFileUser. Malformed lines are skipped with a
      warning naming the line number (never the password).
    """
    users: dict[str, PasswordFileUser] = {}
    for number, raw in enumerate(contents.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(None, 2)
        if len(parts) < 2:
            logger.warning("Users file line %d has fewer than two fields,"
                           " ignoring it", number)
            continue
        name, password = parts[0], parts[1]
        options: tuple[str, ...] = ()
        if len(parts) == 3:
            options = tuple(opt.strip() for opt in parts[2].split(",")
                            if opt.strip())
        unknown = set(options) - rapi.RAPI_ACCESS_ALL
        if unknown:
            logger.warning("Users file line %d: unknown option(s) %s for user"
                           " '%s'", number, ", ".join(sorted(unknown)), name)
        users[name] = PasswordFileUser(name=name, password=password,
                                       options=options)
    return users


def VerifyBasicAuthPassword(username: str, password: str, expected: str,
                            realm: str = rapi.AUTH_REALM) -> bool:
    """Check a password from the client against the users file entry.

    Args:
      username: the user name the client sent.
      password: the password the client sent.
      expected: the users file's password, with optional scheme prefix
        ({CLEARTEXT} or {HA1}; none means clear text).
      realm: the authentication realm, part of the {HA1} digest.

    Returns:
      Whether the password matches. An unknown scheme never matches.
    """
    if not expected.startswith("{"):
        expected = _CLEARTEXT_SCHEME + expected
    scheme_end = expected.find("}", 1)
    if scheme_end <= 1:
        logger.warning("Invalid password scheme for user '%s'", username)
        return False
    scheme = expected[:scheme_end + 1].upper()
    value = expected[scheme_end + 1:]
    if scheme == _CLEARTEXT_SCHEME:
        return hmac.compare_digest(password.encode("utf-8"), value.encode("utf-8"))
    if scheme == _HA1_SCHEME:
        ha1 = hashlib.md5(f"{username}:{realm}:{password}".encode())
        return hmac.compare_digest(value.lower().encode("utf-8"),
                                   ha1.hexdigest().encode("ascii"))
    logger.warning("Unknown password scheme '%s' for user '%s'", scheme, username)
    return False


def ParseAuthorizationHeader(value: str) -> tuple[str, str] | None:
    """Extract (user, password) from an Authorization header value.

    Returns:
      The credentials, or None if the scheme is not Basic or they cannot be
      decoded (the client then gets 401).

    Raises:
      http.HttpBadRequest: "Basic" without credentials (as Ganeti).
    """
    parts = value.strip().split(None, 1)
    if not parts or parts[0].lower() != HTTP_BASIC_AUTH.lower():
        return None
    if len(parts) < 2:
        raise http.HttpBadRequest("Basic authentication requires credentials")
    try:
        decoded = base64.b64decode(parts[1].strip().encode("ascii"),
                                   validate=True).decode("utf-8")
    except (binascii.Error, UnicodeError, ValueError):
        logger.info("Undecodable Basic authentication credentials")
        return None
    user, sep, password = decoded.partition(":")
    if not sep:
        return None
    return user, password


def FormatAuthChallenge(realm: str = rapi.AUTH_REALM) -> str:
    """The WWW-Authenticate value of a 401 answer."""
    quoted = realm.replace("\\", "\\\\").replace('"', '\\"')
    return f'{HTTP_BASIC_AUTH} realm="{quoted}"'


def CheckAccess(get_user: Callable[[str], PasswordFileUser | None],
                authorization: str | None, access: Sequence[str],
                require_auth: bool, what: str) -> str | None:
    """Decide whether a request may proceed (spec/rapi.md section 2).

    Args:
      get_user: user name -> PasswordFileUser or None.
      authorization: the request's Authorization header, or None.
      access: the options of which the user needs one (empty: public).
      require_auth: the daemon's --require-authentication.
      what: "METHOD path", for messages.

    Returns:
      The authenticated user's name, or None for an anonymous request.

    Raises:
      http.HttpUnauthorized: credentials needed but missing or wrong.
      http.HttpForbidden: a valid user lacks every option in access.
      http.HttpBadRequest: malformed Basic credentials.
    """
    if not (require_auth or access or authorization):
        return None
    creds = ParseAuthorizationHeader(authorization) if authorization else None
    user = get_user(creds[0]) if creds else None
    if (creds is None or user is None or
            not VerifyBasicAuthPassword(creds[0], creds[1], user.password)):
        if creds is not None:
            logger.info("Authentication failed for user '%s' (%s)", creds[0], what)
        raise http.HttpUnauthorized(
            headers={HTTP_WWW_AUTHENTICATE: FormatAuthChallenge()})
    if access and not user.HasAccess(access):
        needed = " or ".join(f"'{opt}'" for opt in access)
        logger.warning("User '%s' lacks permission %s for %s", user.name, needed,
                       what)
        raise http.HttpForbidden(
            f"User '{user.name}' needs the {needed} option for {what}")
    return user.name


class RapiUsers:
    """The users of the users file, replaced as a whole on each load.

    Readers never lock: Load swaps in a new dict, which is atomic.
    """

    def __init__(self, filename: str) -> None:
        self.filename = filename
        self._users: dict[str, PasswordFileUser] = {}
        self._poll = False
        self._signature: tuple[int, int, int] | None = None
        self._lock = threading.Lock()

    def Get(self, username: str) -> PasswordFileUser | None:
        """Return the user of that name, or None."""
        if self._poll:
            self._ReloadIfChanged()
        return self._users.get(username)

    def Count(self) -> int:
        """Number of users currently known."""
        return len(self._users)

    def EnablePolling(self) -> None:
        """Check the file's status on every Get (when inotify is unusable)."""
        self._poll = True

    def _Stat(self) -> tuple[int, int, int] | None:
        try:
            st = os.stat(self.filename)
        except OSError:
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def _ReloadIfChanged(self) -> None:
        if self._Stat() != self._signature:
            self.Load()

    def Load(self) -> bool:
        """(Re-)read the users file.

        Returns:
          Whether the file was read; if not (missing, unreadable), there are
          no users until it is back.
        """
        with self._lock:
            self._signature = self._Stat()
            try:
                with open(self.filename, encoding="utf-8", errors="replace") as fh:
                    contents = fh.read()
            except OSError as err:
                self._users = {}
                if err.errno == errno.ENOENT:
                    logger.warning("No users file at %s", self.filename)
                else:
                    logger.warning("Cannot read users file %s: %s", self.filename,
                                   err.strerror or err)
                return False
            self._users = ParsePasswordFile(contents)
        logger.info("Read %d user(s) from %s", len(self._users), self.filename)
        return True


class _DirEventHandler(pyinotify.ProcessEvent):
    """Calls a function when an event concerns one name in the directory."""

    def my_init(self, name: str = "", callback: Callable[[], object] | None = None
                ) -> None:
        self._name = name
        self._callback = callback

    def process_default(self, event: pyinotify.Event) -> None:
        if event.name == self._name and self._callback is not None:
            try:
                self._callback()
            except Exception:  # noqa: BLE001  (keeps the notifier thread alive)
                logger.exception("Error while reloading %s", self._name)


class UsersFileWatcher:
    """Reload RapiUsers whenever its file changes, using inotify.

    Falls back to RapiUsers polling (a stat per authentication) when the
    directory cannot be watched, e.g. because it does not exist yet.
    """

    def __init__(self, users: RapiUsers) -> None:
        self._users = users
        self._notifier: pyinotify.ThreadedNotifier | None = None

    def Start(self) -> bool:
        """Start watching (in a daemon thread).

        Returns:
          Whether inotify is used; False means polling was enabled instead.
        """
        dirname, name = os.path.split(self._users.filename)
        manager = pyinotify.WatchManager()
        handler = _DirEventHandler(name=name, callback=self._users.Load)
        try:
            result = manager.add_watch(dirname, _WATCH_MASK, quiet=False)
        except (pyinotify.WatchManagerError, OSError) as err:
            logger.warning("Cannot watch %s (%s); checking %s on every request",
                           dirname, err, name)
            self._users.EnablePolling()
            return False
        if result.get(dirname, -1) < 0:
            self._users.EnablePolling()
            return False
        notifier = pyinotify.ThreadedNotifier(manager, handler)
        notifier.daemon = True
        notifier.name = "rapi-users-watcher"
        notifier.start()
        self._notifier = notifier
        return True

    def Stop(self) -> None:
        """Stop the watcher thread (idempotent)."""
        notifier, self._notifier = self._notifier, None
        if notifier is not None:
            try:
                notifier.stop()
            except (OSError, pyinotify.NotifierError) as err:
                logger.debug("Error stopping the users file watcher: %s", err)
