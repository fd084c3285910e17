"""mcfcheck's test suite."""
