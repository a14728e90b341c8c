"""One module per version scheme; :mod:`advisories.versions` picks the scheme for an ecosystem."""
