"""The gnt-* programs: one module per program (gnt_job, gnt_cluster, ...).

Each module has a ``commands`` table for cli.GenericMain and a ``Main()``
returning the exit code; the scripts in scripts/ only call it.
"""
