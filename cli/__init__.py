"""The `wangge` command line: one entry point for the database, data, the split and the server."""
