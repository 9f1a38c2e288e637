"""The recorded read of the fake vendors (see recording.py): golden files of every stream's records and state."""
