"""OGC API – Features: the collection registry, request parameters and the SQL that builds pages."""
