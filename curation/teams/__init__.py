"""Teams and sharing within them: the over-sharing guard's rules and the sharing service."""
