"""Tag logical units: LUTagsGet, LUTagsSet, LUTagsDel, LUTagsSearch.

Mirrors Ganeti's lib/cmdlib/tags.py. The tag kinds are "cluster", "node",
"nodegroup", "instance" and "network"; the object is named by op.name
(ignored for the cluster). Tags of one object are locked through the
object's lock (shared for reading); cluster tags need no lock beyond the
BGL.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from ganeti import errors, locking, objects
from ganeti.cmdlib.base import NoHooksLU
from ganeti.cmdlib.common import (
    ExpandInstanceUuidAndName,
    ExpandNodeUuidAndName,
    ShareAll,
)
from ganeti.utils.text import NiceSort

# Tag kinds (Ganeti's constants.TAG_*).
TAG_CLUSTER = "cluster"
TAG_NODE = "node"
TAG_NODEGROUP = "nodegroup"
TAG_INSTANCE = "instance"
TAG_NETWORK = "network"
VALID_TAG_TYPES = frozenset([TAG_CLUSTER, TAG_NODE, TAG_NODEGROUP, TAG_INSTANCE,
                             TAG_NETWORK])


class TagsLU(NoHooksLU):
    """Common part of the LUs working on one object's tags."""

    def ExpandNames(self) -> None:
        """Resolve the object and lock it.

        Raises:
          errors.OpPrereqError: unknown kind or object.
        """
        self.needed_locks = {}
        self.target_uuid: str | None = None
        kind = self.op.kind
        name = getattr(self.op, "name", None)
        if kind != TAG_CLUSTER and not name:
            raise errors.OpPrereqError(f"Missing name of the {kind} whose tags"
                                       " to use", errors.ECODE_INVAL)
        lock_level = lock_name = None
        if kind == TAG_NODE:
            self.target_uuid, self.op.name = ExpandNodeUuidAndName(
                self.cfg, None, name)
            lock_level, lock_name = locking.LEVEL_NODE, self.target_uuid
        elif kind == TAG_INSTANCE:
            self.target_uuid, self.op.name = ExpandInstanceUuidAndName(
                self.cfg, None, name)
            lock_level, lock_name = locking.LEVEL_INSTANCE, self.op.name
        elif kind == TAG_NODEGROUP:
            self.target_uuid = self.cfg.LookupNodeGroup(name)
            lock_level, lock_name = locking.LEVEL_NODEGROUP, self.target_uuid
        elif kind == TAG_NETWORK:
            self.target_uuid = self.cfg.LookupNetwork(name)
            lock_level, lock_name = locking.LEVEL_NETWORK, self.target_uuid
        elif kind != TAG_CLUSTER:
            raise errors.OpPrereqError(f"Wrong tag type requested ({kind})",
                                       errors.ECODE_INVAL)
        if lock_level is not None and getattr(self.op, "use_locking", True):
            self.needed_locks[lock_level] = [lock_name]

    def CheckPrereq(self) -> None:
        """Look the object up (it may have gone while we waited for locks).

        Raises:
          errors.OpPrereqError: the object no longer exists.
        """
        lookup = {
            TAG_CLUSTER: lambda _uuid: self.cfg.GetClusterInfo(),
            TAG_NODE: self.cfg.GetNodeInfo,
            TAG_INSTANCE: self.cfg.GetInstanceInfo,
            TAG_NODEGROUP: self.cfg.GetNodeGroup,
            TAG_NETWORK: self.cfg.GetNetwork,
        }
        self.target = lookup[self.op.kind](self.target_uuid)
        if self.target is None:
            raise errors.OpPrereqError(
                f"The {self.op.kind} '{self.op.name}' no longer exists",
                errors.ECODE_NOENT)


class LUTagsGet(TagsLU):
    """Return an object's tags."""

    REQ_BGL = False

    def ExpandNames(self) -> None:
        super().ExpandNames()
        # Reading only.
        self.share_locks = ShareAll()

    def Exec(self, feedback_fn: Callable[..., None]) -> list[str]:
        return sorted(self.target.GetTags())


class LUTagsSearch(NoHooksLU):
    """Find tags matching a regular expression, on every object."""

    REQ_BGL = False

    def ExpandNames(self) -> None:
        self.needed_locks = {}

    def CheckPrereq(self) -> None:
        """Raises OpPrereqError for an invalid pattern."""
        try:
            self.re = re.compile(self.op.pattern)
        except re.error as err:
            raise errors.OpPrereqError(
                f"Invalid search pattern '{self.op.pattern}': {err}",
                errors.ECODE_INVAL) from err

    def Exec(self, feedback_fn: Callable[..., None]) -> list[tuple[str, str]]:
        """Return [(path, tag), ...] with paths as Ganeti names them."""
        cfg = self.cfg
        targets: list[tuple[str, Any]] = [("/cluster", cfg.GetClusterInfo())]
        for prefix, container in [
                ("/instances", cfg.GetAllInstancesInfo()),
                ("/nodes", cfg.GetAllNodesInfo()),
                ("/nodegroup", cfg.GetAllNodeGroupsInfo())]:
            items = NiceSort(container.values(), key=lambda obj: obj.name)
            targets.extend((f"{prefix}/{obj.name}", obj) for obj in items)
        return [(path, tag) for path, target in targets
                for tag in sorted(target.GetTags()) if self.re.search(tag)]


class LUTagsSet(TagsLU):
    """Add tags to an object."""

    REQ_BGL = False

    def CheckPrereq(self) -> None:
        """Raises errors.TagError for an invalid tag."""
        super().CheckPrereq()
        for tag in self.op.tags:
            objects.TaggableObject.ValidateTag(tag)

    def Exec(self, feedback_fn: Callable[..., None]) -> None:
        """Raises OpExecError when a tag cannot be added (too many tags)."""
        try:
            for tag in self.op.tags:
                self.target.AddTag(tag)
        except errors.TagError as err:
            raise errors.OpExecError(f"Error while setting tag: {err}") from err
        self.cfg.Update(self.target, feedback_fn)


class LUTagsDel(TagsLU):
    """Remove tags from an object."""

    REQ_BGL = False

    def CheckPrereq(self) -> None:
        """Raises OpPrereqError (ECODE_NOENT) if a tag is not set."""
        super().CheckPrereq()
        for tag in self.op.tags:
            objects.TaggableObject.ValidateTag(tag)
        missing = set(self.op.tags) - self.target.GetTags()
        if missing:
            names = ", ".join(f"'{tag}'" for tag in sorted(missing))
            raise errors.OpPrereqError(f"Tag(s) {names} not found",
                                       errors.ECODE_NOENT)

    def Exec(self, feedback_fn: Callable[..., None]) -> None:
        for tag in self.op.tags:
            self.target.RemoveTag(tag)
        self.cfg.Update(self.target, feedback_fn)
