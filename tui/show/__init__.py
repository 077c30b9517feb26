"""`rtui show`: a recording as a readable timeline in the terminal."""
