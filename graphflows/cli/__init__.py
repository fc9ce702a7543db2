"""The command line: a thin layer over the library. The only place library errors become messages."""
