"""Block devices on a node: the drivers behind the blockdev_* RPC procedures.

Mirrors Ganeti's lib/storage/: base.py holds the BlockDev contract every
driver implements, filestorage.py the file and sharedfile driver (sparse
files below the cluster's storage directories), and bdev.py the one map
from disk type to driver (DEV_MAP) with the FindDevice/Assemble/Create
helpers ganeti/backend/blockdev.py calls. Every driver passes the
conformance battery in test/support/storage_contract.py.
"""
