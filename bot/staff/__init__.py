"""The staff console under /staff: accounts and roles (`accounts`), their storage (`store`) and
the server-rendered pages (`web`)."""
