"""What curators do: gems with a note and an audience."""
