"""Running checks over many files and over the parts of large ones, in worker processes."""
