"""Reading input: opening files (gzip too), the prolog's checks, and the parse that hands over each installation."""
