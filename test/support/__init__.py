"""Test kit shipped with the code (STYLE.md T4): fakes and real-daemon helpers.

Import as `support.<module>` with the test/ directory on sys.path (the
stdlib owns the name `test`):
  fake_transport  scripted node replies for RpcRunner unit tests
  vnodes          a virtual cluster of real ganeti-noded processes
"""
