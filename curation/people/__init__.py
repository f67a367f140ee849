"""People, their interests, mutes, feedback and API keys."""
