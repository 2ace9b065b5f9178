"""Logic of the programs in tools/ (the scripts there only call Main())."""
