"""Publishing a person's digests where they already read: a private Atom / JSON Feed."""
