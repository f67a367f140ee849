"""Storage: the engine, the tables and every SQL statement."""
