"""The daemons' main modules (noded, masterd, rapi); scripts call their Main()."""
