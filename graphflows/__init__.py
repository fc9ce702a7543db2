"""graphflows."""
