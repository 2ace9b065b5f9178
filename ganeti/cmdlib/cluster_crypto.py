"""LUClusterRenewCrypto: record renewed node certificates, renew SSH keys.

Mirrors Ganeti 3.0's LUClusterRenewCrypto. As in Ganeti, most of
`gnt-cluster renew-crypto` happens in the client while the daemons are
stopped (ganeti/client/gnt_cluster_ssh.py): new certificates and secrets are
made and copied to the nodes over SSH. This LU runs afterwards, with the
daemons up again:

- node_certificates: the client certificate digest of every online master
  candidate is read (RPC node_crypto_tokens "get", three attempts each) and
  becomes the cluster's candidate_certs, hence ssconf
  master_candidates_certs, which every noded checks callers against. Unlike
  Ganeti, a candidate that cannot be asked keeps its previous digest instead
  of being dropped from the list; the failures are reported.
- renew_ssh_keys: the master has every node make a new SSH key pair (RPC
  node_ssh_keys_renew), then the key type and size are recorded; refused
  politely when the cluster does not manage the SSH setup.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from ganeti import errors, locking, pathutils
from ganeti.cmdlib.base import NoHooksLU
from ganeti.cmdlib.common import ShareAll
from ganeti.utils import x509

logger = logging.getLogger(__name__)

SSHK_RSA = "rsa"
SSHK_DSA = "dsa"
SSHK_ECDSA = "ecdsa"
# Ganeti's constants.SSHK_DEFAULT_KEY_BITS.
SSHK_DEFAULT_KEY_BITS = {SSHK_RSA: 2048, SSHK_DSA: 1024, SSHK_ECDSA: 384}
_ECDSA_BITS = (256, 384, 521)
_MIN_RSA_BITS = 768


def DetermineKeyBits(key_type: str, key_bits: int | None, old_key_type: str | None,
                     old_key_bits: int | None) -> int:
    """The size of new SSH keys: given, kept from the old type, or default.

    Raises:
      errors.OpPrereqError: the size does not suit the key type.
    """
    if key_bits is None:
        if old_key_type is not None and old_key_type == key_type \
                and old_key_bits is not None:
            key_bits = old_key_bits
        else:
            key_bits = SSHK_DEFAULT_KEY_BITS[key_type]
    problem = None
    if key_type == SSHK_DSA and key_bits != 1024:
        problem = "DSA keys must be 1024 bits"
    elif key_type == SSHK_ECDSA and key_bits not in _ECDSA_BITS:
        problem = "ECDSA keys must be 256, 384 or 521 bits"
    elif key_type == SSHK_RSA and key_bits < _MIN_RSA_BITS:
        problem = f"RSA keys must be at least {_MIN_RSA_BITS} bits"
    if problem:
        raise errors.OpPrereqError(f"{problem}, got {key_bits}",
                                   errors.ECODE_INVAL)
    return key_bits


class LUClusterRenewCrypto(NoHooksLU):
    """Renew the cluster's crypto tokens (see the module doc)."""

    REQ_BGL = False
    MAX_NUM_RETRIES = 3

    def ExpandNames(self) -> None:
        self.needed_locks = {locking.LEVEL_NODE: locking.ALL_SET}
        self.share_locks = ShareAll()
        self.share_locks[locking.LEVEL_NODE] = 0

    def CheckPrereq(self) -> None:
        """Raises OpPrereqError for an SSH key size unfit for its type."""
        cluster = self.cfg.GetClusterInfo()
        self.ssh_key_type = self.op.ssh_key_type or cluster.ssh_key_type \
            or SSHK_RSA
        self.ssh_key_bits = DetermineKeyBits(self.ssh_key_type, self.op.ssh_key_bits,
                                             cluster.ssh_key_type,
                                             cluster.ssh_key_bits)

    def _FetchDigest(self, node: Any) -> tuple[str | None, str | None]:
        """(digest, None) or (None, last error) after MAX_NUM_RETRIES tries."""
        from ganeti.cmdlib.node_roles import GetNodeCertDigest

        error = None
        for attempt in range(1, self.MAX_NUM_RETRIES + 1):
            try:
                return GetNodeCertDigest(self, node), None
            except errors.OpExecError as err:
                error = str(err)
                logger.warning("Attempt %d to fetch the certificate digest of %s"
                               " failed: %s", attempt, node.name, err)
        return None, error

    def _RenewNodeSslCertificates(self, feedback_fn: Callable[..., None]) -> None:
        """Record the current client certificate digests of the candidates.

        Raises:
          errors.OpExecError: the master's own certificate is unreadable.
        """
        master_uuid = self.cfg.GetMasterNode()
        cluster = self.cfg.GetClusterInfo()
        try:
            digests = {master_uuid: x509.GetCertificateDigest(
                cert_filename=pathutils.NODED_CLIENT_CERT_FILE)}
        except errors.X509CertError as err:
            raise errors.OpExecError(f"Cannot read the master's client certificate:"
                                     f" {err}") from err
        failures = []
        for node in self.cfg.GetAllNodesInfo().values():
            if node.uuid == master_uuid or not node.master_candidate:
                continue
            if node.offline:
                self.LogInfo("Skipping offline node %s", node.name)
                continue
            digest, error = self._FetchDigest(node)
            if digest is None:
                failures.append(f"Node {node.name}: {error}")
                digest = (cluster.candidate_certs or {}).get(node.uuid)
            if digest is not None:
                digests[node.uuid] = digest
        if failures:
            feedback_fn("Some nodes' SSL client certificates could not be fetched;"
                        " make sure those nodes are reachable and rerun the"
                        " operation. Their previous digests are kept:\n"
                        + "\n".join(failures))
        cluster.candidate_certs = digests
        self.cfg.Update(cluster, feedback_fn)

    def _RenewSshKeys(self, feedback_fn: Callable[..., None]) -> None:
        """Have the master renew every node's SSH keys, then record the type.

        Raises:
          errors.OpExecError: the renewal failed.
        """
        master_uuid = self.cfg.GetMasterNode()
        cluster = self.cfg.GetClusterInfo()
        nodes = [node for node in self.cfg.GetAllNodesInfo().values()
                 if not node.offline]
        candidates = [node.uuid for node in nodes if node.master_candidate]
        potential = [node.name for node in self.cfg.GetAllNodesInfo().values()
                     if node.master_capable]
        result = self.rpc.call_node_ssh_keys_renew(
            [master_uuid], [node.uuid for node in nodes], [node.name for node in nodes],
            candidates, potential, cluster.ssh_key_type, self.ssh_key_type,
            self.ssh_key_bits)
        result[master_uuid].Raise("Could not renew the SSH keys of all nodes")
        cluster.ssh_key_type = self.ssh_key_type
        cluster.ssh_key_bits = self.ssh_key_bits
        self.cfg.Update(cluster, feedback_fn)

    def Exec(self, feedback_fn: Callable[..., None]) -> None:
        if self.op.node_certificates:
            feedback_fn("Renewing Node SSL certificates")
            self._RenewNodeSslCertificates(feedback_fn)
        if self.op.renew_ssh_keys:
            if self.cfg.GetClusterInfo().modify_ssh_setup:
                feedback_fn("Renewing SSH keys")
                self._RenewSshKeys(feedback_fn)
            else:
                feedback_fn("Cannot renew SSH keys if the cluster is configured to"
                            " not modify the SSH setup.")
