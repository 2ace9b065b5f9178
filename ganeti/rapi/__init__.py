"""Ganeti's remote API (RAPI): REST over HTTPS on the master node.

The package mirrors Ganeti's lib/rapi: connector (URL map), baserlib (the
resource base classes), rlib2 (the version 2 resources, split by area into
rlib2_*.py), auth (users file and HTTP basic authentication) and client
(the Python client library). The daemon itself is ganeti.server.rapi.

The values below are Ganeti's constants RAPI_ACCESS_* and RAPI_VERSION
(lib/rapi/__init__.py and src/Ganeti/Constants.hs).
"""

from __future__ import annotations

# Options a user of the users file can have (spec/rapi.md section 2).
RAPI_ACCESS_WRITE = "write"
RAPI_ACCESS_READ = "read"
RAPI_ACCESS_ALL = frozenset([RAPI_ACCESS_WRITE, RAPI_ACCESS_READ])

# Answer of GET /version.
RAPI_VERSION = 2

# Realm of HTTP basic authentication; also part of {HA1} password hashes.
AUTH_REALM = "Ganeti Remote API"
