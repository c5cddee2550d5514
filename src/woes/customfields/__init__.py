"""Custom fields (SPEC §4): typed field definitions, and the validation of the values records carry."""
